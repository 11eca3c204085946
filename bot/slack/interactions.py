"""Clicks, forms and shortcuts: Slack's interactive payloads, turned into the commands they stand for.

A button's value is its /whisperer command, so a click runs the same handler, with the same permission checks,
as the typed line (as the person who clicked). What only Slack can do lives here: opening and paging modals,
reading forms back, and redrawing the clicked message in place (chat.update) when what it shows has changed.
Payloads reach us signed (HTTP; Bolt verifies) or over the Socket Mode websocket; a retried payload is dropped
(bot/slack/once.py), and each action is idempotent, so a double click does one thing. A click and a shortcut are
acknowledged at once and handled on the answer pool after the ack is written; a form's submission is answered
in its ack (Slack shows field errors and the result only from there), and only its redraw waits for later.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.process.connections import Connections
from bot.process.runtime import make_context
from bot.slack.ackfirst import after_ack
from bot.slack.answers import AnswerPool
from bot.slack.once import first_time
from bot.slack.render import fallback_text, split_action_id, to_blocks
from bot.slack.views import DIFF_VIEW, FORM_PREFIX, FORMS, command_error, diff_view, form_view, read_form, result_view
from handlers.alerting.compose import compose_alert
from handlers.overview.home import home
from handlers.registry import dispatch
from handlers.reply import Reply, error, storage_reply
from handlers.team.cert_followups import find_cert
from storage.db import StorageUnavailable
from storage.outbox import alerts as outbox

log = logging.getLogger("whisperer.slack")

ACTION_IDS = re.compile(r"^[a-z][a-z-]*\|")  # "intent|value", as bot/slack/render.py writes them
ADD_DEADLINE = "add_deadline"  # the global shortcut's callback_id (manifest.yml)
REFRESH = "refresh-message"
DEAD_MESSAGES = 10_000  # how many unreachable messages to remember (so each is logged once)


class Interactions:
    """The listeners for block_actions, view_submission and the global shortcut."""

    def __init__(
        self,
        connections: Connections,
        clock: Callable[[], datetime],
        on_effects: Callable[[tuple[str, ...]], None],
        pool: AnswerPool,
    ) -> None:
        self.connections = connections
        self.clock = clock
        self.on_effects = on_effects
        self.pool = pool
        self._dead: set[tuple[str, str]] = set()  # (channel, ts) that chat.update can no longer reach
        self._lock = threading.Lock()
        self.client: WebClient | None = None

    def register(self, app: App) -> None:
        self.client = app.client  # for redraws after a typed command, which has no listener client
        app.action(ACTION_IDS)(self.action)
        app.view(re.compile("^" + re.escape(FORM_PREFIX)))(self.submit)
        app.shortcut(ADD_DEADLINE)(self.shortcut)

    # ── running commands ──
    def run(self, command: str, user: str) -> Reply:
        """A command as `user` typed it; an unexpected failure is logged and answered, never raised."""
        try:
            ctx = make_context(self.connections.runtime(), self.clock(), user_id=user)
            reply = dispatch(ctx, command)
        except StorageUnavailable as exc:
            log.error("the click for '%s': %s", command, exc)
            return storage_reply(exc.problem, exc.fix)
        except Exception:
            log.exception("the click for '%s' failed", command)
            return error("Something went wrong with that click.", "The details are in the bot's log; tell an admin.")
        if reply.effects:
            self.on_effects(reply.effects)
        return reply

    def later(self, context: BoltContext, work: Callable[[], None]) -> None:
        """Run `work` on the answer pool once the ack is written, unless the request was handled before."""

        def once() -> None:
            if first_time(self.connections, context, self.clock):
                work()

        after_ack(lambda: self.pool.push(once))

    # ── block_actions ──
    def action(
        self,
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        respond: Respond,
        context: BoltContext,
    ) -> None:
        ack()
        self.later(context, lambda: self.clicked(body, action, client, respond))

    def clicked(self, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond) -> None:
        """What a button does (on the answer pool): run its command, redraw what it changed, say what happened."""
        intent, value = split_action_id(str(action.get("action_id", "")))
        user = str(body["user"]["id"])
        container = body.get("container") or {}
        if intent == "diff":
            self.open_diff(client, body, user, value, 1, respond)
            return
        if intent == "diff-page" and container.get("type") == "view":
            change, _, page = value.partition(":")
            self.open_diff(client, body, user, change, int(page or 1) if page.isdigit() else 1, respond)
            return
        if intent == "cert-renewed":
            self.open_renewal(client, body, user, value, respond)
            return
        if intent == "cert-booked":
            command = f"cert booked {value} {action.get('selected_date') or ''}".strip()
        else:
            command = str(action.get("value") or "")
        reply = self.run(command, user)
        clicked: tuple[str, str] | None = None
        if REFRESH in reply.effects and container.get("type") == "message" and not container.get("is_ephemeral"):
            original = (body.get("message") or {}).get("blocks")
            clicked = (str(container["channel_id"]), str(container["message_ts"]))
            self.redraw(client, *clicked, reply, original)
        self.redraw_others(client, reply, skip=clicked)
        if REFRESH in reply.effects and (body.get("view") or {}).get("type") == "home":
            self.publish_home(client, user)
        self.answer(client, body, user, reply, respond)  # after the redraw: the message already shows it

    def answer(self, client: WebClient, body: Mapping[str, Any], user: str, reply: Reply, respond: Respond) -> None:
        """Tell the person who clicked what happened: ephemeral where they clicked, else in the app's DM."""
        text, blocks = fallback_text(reply), to_blocks(reply)
        try:
            with self.pool.waiting():
                if body.get("response_url"):
                    respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
                else:  # a click in a modal or on the Home tab has nowhere else to answer
                    client.chat_postMessage(channel=user, text=text, blocks=blocks)
        except SlackApiError as exc:
            log.warning("could not answer %s's click: Slack says %s", user, exc.response.get("error"))

    def open_diff(
        self, client: WebClient, body: Mapping[str, Any], user: str, change: str, page: int, respond: Respond
    ) -> None:
        """The whole diff in a modal, a page at a time: views.open from a message, views.update inside the modal."""
        reply = self.run(f"diff {change} {page}", user)
        if reply.error or not change.isdigit():
            self.answer(client, body, user, reply, respond)
            return
        view = diff_view(reply, int(change))
        current = body.get("view") or {}
        try:
            with self.pool.waiting():
                if current.get("callback_id") == DIFF_VIEW:
                    client.views_update(view_id=current["id"], hash=current.get("hash"), view=view)
                else:
                    client.views_open(trigger_id=body["trigger_id"], view=view)
        except SlackApiError as exc:
            # hash_conflict (a faster click turned the page already) or an expired trigger: nothing to redo.
            log.info("could not show the diff of change #%s: Slack says %s", change, exc.response.get("error"))

    def open_renewal(
        self, client: WebClient, body: Mapping[str, Any], user: str, cert_id: str, respond: Respond
    ) -> None:
        """ "I've renewed": check now that the certification exists and is the clicker's (or they are an admin)."""
        ctx = make_context(self.connections.runtime(), self.clock(), user_id=user)
        found = find_cert(ctx, [cert_id], "renewed")
        if isinstance(found, Reply):
            self.answer(client, body, user, found, respond)
            return
        container = body.get("container") or {}
        meta = {"cert": int(found["id"]), "number": found["number"] or ""}
        if container.get("type") == "message":
            meta |= {"channel": container.get("channel_id"), "ts": container.get("message_ts")}
        self.open_form(client, "cert-renewed", str(body["trigger_id"]), user, meta)

    # ── forms ──
    def open_form(self, client: WebClient, form: str, trigger_id: str, user: str, meta: Mapping[str, Any]) -> bool:
        """views.open of a form; False if Slack refused (the caller then answers in text)."""
        view = form_view(form, user, meta)
        try:
            with self.pool.waiting():
                client.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as exc:
            log.warning("could not open the %s form: Slack says %s", form, exc.response.get("error"))
            return False
        return True

    def submit(
        self, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        """A form sent: field errors go back onto the fields, else the command runs and the modal shows its answer.

        Slack reads both only from the ack, so this one runs its handler before acknowledging (Slack allows 3 s).
        """
        form = str(view.get("callback_id", "")).removeprefix(FORM_PREFIX)
        if form not in FORMS or not first_time(self.connections, context, self.clock):
            ack()
            return
        user = str(body["user"]["id"])
        metadata = str(view.get("private_metadata") or "")
        today = self.clock().astimezone(self.connections.runtime().config.bot.tz).date()
        command, errors = read_form(form, view.get("state", {}).get("values", {}), metadata, today)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        reply = self.run(command, user)
        if reply.error:
            ack(response_action="errors", errors=command_error(form, reply))
            return
        ack(response_action="update", view=result_view(FORMS[form].title, reply))
        meta = read_meta(metadata)
        if REFRESH in reply.effects and meta.get("channel") and meta.get("ts"):
            channel, ts = str(meta["channel"]), str(meta["ts"])
            after_ack(lambda: self.pool.push(lambda: self.redraw(client, channel, ts, reply, None)))

    def shortcut(self, ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        """The global shortcut "Add a deadline": the same form as `/whisperer deadline add`."""
        ack()
        trigger, user = str(body["trigger_id"]), str(body["user"]["id"])

        def open_it() -> None:
            self.open_form(client, "deadline-add", trigger, user, {})

        self.later(context, open_it)

    # ── redrawing messages and the Home tab ──
    def redraw_others(self, client: WebClient | None, reply: Reply, skip: tuple[str, str] | None = None) -> None:
        """The alerts about a change someone took, or a source someone muted ("redraw-change:12",
        "redraw-source:id" effects), wherever they were posted: a typed command updates them as a click does."""
        client = client or self.client
        if client is None:
            return
        db = self.connections.runtime().db
        for effect in reply.effects:
            kind, _, value = effect.partition(":")
            if kind == "redraw-change" and value.isdigit():
                rows = outbox.posted_alerts(db, change_id=int(value))
            elif kind == "redraw-source" and value:
                rows = outbox.posted_alerts(db, source_id=value)
            else:
                continue
            for row in rows:
                where = (str(row["posted_channel"]), str(row["ts"]))
                if where != skip:
                    self.redraw(client, *where, reply, None)

    def publish_home(self, client: WebClient, user: str) -> None:
        """A click on the Home tab changed what it shows: publish it again."""
        ctx = make_context(self.connections.runtime(), self.clock(), user_id=user)
        view = {"type": "home", "blocks": to_blocks(home(ctx), "home")}
        try:
            with self.pool.waiting():
                client.views_publish(user_id=user, view=view)
        except SlackApiError as exc:
            log.info("could not refresh the Home tab of %s: Slack says %s", user, exc.response.get("error"))

    def redraw(
        self, client: WebClient, channel: str, ts: str, reply: Reply, original: list[dict[str, Any]] | None
    ) -> None:
        """chat.update the message in place: a change alert is composed again (owner, mute); any other message
        keeps its text and trades its buttons for what was done. A message Slack cannot update is logged once."""
        with self._lock:
            if (channel, ts) in self._dead:
                return
        runtime = self.connections.runtime()
        alert = outbox.sent_alert_by_ts(runtime.db, ts, channel)
        blocks: list[dict[str, Any]] | None = None
        text = ""
        if alert is not None and alert.get("change_id"):
            message = compose_alert(runtime.db, alert, runtime.config.bot.tz, self.clock())
            if message is not None:
                blocks, text = to_blocks(message), fallback_text(message)
        if blocks is None:
            base = original
            if base is None and alert is not None:
                message = compose_alert(runtime.db, alert, runtime.config.bot.tz)
                base = to_blocks(message) if message is not None else None
            if base is None:
                return
            done = {"type": "context", "elements": [{"type": "mrkdwn", "text": f"✓ {fallback_text(reply)}"}]}
            blocks = [b for b in base if b.get("type") != "actions"] + [done]
            text = "Done: " + fallback_text(reply)
        try:
            with self.pool.waiting():
                client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except SlackApiError as exc:
            with self._lock:
                if len(self._dead) >= DEAD_MESSAGES:
                    self._dead.clear()
                self._dead.add((channel, ts))
            log.warning(
                "could not update message %s in %s (Slack says %s); it keeps its old text, and I won't try again",
                ts,
                channel,
                exc.response.get("error"),
            )


def read_meta(metadata: str) -> dict[str, Any]:
    try:
        found = json.loads(metadata) if metadata else {}
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def register_interactions(
    app: App,
    connections: Connections,
    clock: Callable[[], datetime],
    on_effects: Callable[[tuple[str, ...]], None],
    pool: AnswerPool,
) -> Interactions:
    """Add the interactive listeners to a Bolt app (bot/slack/app.py build_app calls this once); their work runs
    on `pool`, the answer pool of the slash commands."""
    interactions = Interactions(connections, clock, on_effects, pool)
    interactions.register(app)
    return interactions
