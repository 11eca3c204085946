"""Where an alert goes and how it gets there: Slack (channel posts, DMs) or the terminal."""

from __future__ import annotations

import logging
import re
import sqlite3
import textwrap
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError

from bot.delivery.errors import BLOCKING_FIXES, Blocked, PostedUnrecorded, Undeliverable, classify
from bot.slack.render import fallback_text, to_blocks, to_text
from handlers.reply import Note, Reply, plain_text
from storage.database import Database
from storage.db import StorageUnavailable, transaction
from storage.outbox import attempts, threads
from storage.team import people

log = logging.getLogger("whisperer.delivery")


def is_dm(alert: dict[str, Any]) -> bool:
    """The DM contract: a row with a Slack user id, or with a payload person_id, is a direct message."""
    return bool(alert.get("user_id")) or "person_id" in (alert.get("payload") or {})


def target_of(alert: dict[str, Any], default_channel: str | None) -> str | None:
    """Where a row goes: the user or person for DMs, else its channel or the alerts channel."""
    if alert.get("user_id"):
        return str(alert["user_id"])
    payload = alert.get("payload") or {}
    if "person_id" in payload:
        return f"person:{payload['person_id']}"
    return alert.get("channel") or default_channel


def remember_post(db: Database, ts: str | None, alert_id: int, channel: str, thread_ts: str | None) -> None:
    """Note where a row was posted; on a full disk, PostedUnrecorded (the post stands, the note comes later)."""
    try:
        threads.record_post(db, alert_id, channel, thread_ts)
    except StorageUnavailable as exc:
        raise PostedUnrecorded(ts, lambda later: threads.record_post(later, alert_id, channel, thread_ts), exc) from exc


METADATA_EVENT = "whisperer_alert"  # every post carries {"key": the outbox row's key} under this event type
LOOKUP_PAGES = 5  # pages of history (200 messages each) read when looking for a post
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,}")


def post_metadata(alert: dict[str, Any]) -> dict[str, Any] | None:
    key = alert.get("key")
    return {"event_type": METADATA_EVENT, "event_payload": {"key": str(key)}} if key else None


class Sink(Protocol):
    def send(self, db: Database, alert: dict[str, Any], message: Reply, target: str | None) -> str | None:
        """Deliver one message; return Slack's ts (or None); raise DeliveryProblem (or a Slack error).

        A row with `thread_ts` and `thread_channel` set goes in that thread (see bot/delivery/threads.py)."""

    def find_posted(
        self, db: Database, alert: dict[str, Any], target: str | None, since: datetime
    ) -> tuple[str, str] | None:
        """(channel ID, ts) of this row's post if it is already there (matched by its metadata key, posted
        since `since`), else None; raise like `send` when it cannot tell."""


class UpdatingSink(Sink, Protocol):
    terminal: bool  # True when messages are printed, not posted: its ts values are ours, never Slack's

    def update(self, db: Database, alert: dict[str, Any], message: Reply) -> bool:
        """Replace a sent row's message in place (chat.update); False (logged) if that is no longer possible."""


# chat.update errors that mean "this message cannot be updated any more": said once, never retried.
GONE = {"message_not_found", "channel_not_found", "cant_update_message", "is_archived", "edit_window_closed"}


class SlackSink:
    """Posts to channels with chat.postMessage; DMs via users.lookupByEmail → conversations.open."""

    terminal = False

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def send(self, db: Database, alert: dict[str, Any], message: Reply, target: str | None) -> str | None:
        if target is None:
            raise Blocked("no_alerts_channel", BLOCKING_FIXES["no_alerts_channel"])
        try:
            if is_dm(alert):
                user = alert.get("user_id") or self.resolve_person(db, int(alert["payload"]["person_id"]))
                opened = self.client.conversations_open(users=user)
                channel = str(opened["channel"]["id"])
            else:
                channel = alert.get("thread_channel") or target
            response = self.client.chat_postMessage(
                channel=channel,
                text=fallback_text(message),
                blocks=to_blocks(message),
                unfurl_links=False,
                unfurl_media=False,
                thread_ts=alert.get("thread_ts") if not is_dm(alert) else None,
                metadata=post_metadata(alert),
            )
        except Exception as exc:
            raise classify(exc, target) from exc
        ts = str(response.get("ts") or "") or None
        if alert.get("id") is not None:  # the channel ID, which chat.update needs (rows may name the channel)
            remember_post(db, ts, int(alert["id"]), str(response.get("channel") or channel), alert.get("thread_ts"))
        return ts

    def find_posted(
        self, db: Database, alert: dict[str, Any], target: str | None, since: datetime
    ) -> tuple[str, str] | None:
        """Look for the row's post in the conversation it went to (the thread it went in, if any), matched by
        the key in its metadata: conversations.history / .replies with include_all_metadata."""
        if target is None or not alert.get("key"):
            return None
        try:
            channel = self._conversation(db, alert, target)
            if channel is None:
                return None
            oldest = f"{since.timestamp():.6f}"
            cursor: str | None = None
            for _page in range(LOOKUP_PAGES):
                common: dict[str, Any] = {"channel": channel, "oldest": oldest, "limit": 200, "cursor": cursor}
                if alert.get("thread_ts") and not is_dm(alert):
                    found = self.client.conversations_replies(
                        ts=alert["thread_ts"], include_all_metadata=True, **common
                    )
                else:
                    found = self.client.conversations_history(include_all_metadata=True, **common)
                for item in found.get("messages") or []:
                    metadata = item.get("metadata") or {}
                    payload = metadata.get("event_payload") or {}
                    if metadata.get("event_type") == METADATA_EVENT and payload.get("key") == alert["key"]:
                        ts = str(item["ts"])
                        if alert.get("id") is not None:
                            thread = alert.get("thread_ts") if not is_dm(alert) else None
                            remember_post(db, ts, int(alert["id"]), channel, thread)
                        return channel, ts
                cursor = (found.get("response_metadata") or {}).get("next_cursor") or None
                if cursor is None:
                    break
        except Exception as exc:
            raise classify(exc, target) from exc
        return None

    def _conversation(self, db: Database, alert: dict[str, Any], target: str) -> str | None:
        """The conversation ID a row's post went to: a DM's is opened again, a #name is the ID Slack answered
        for an earlier post there, or found in conversations.list."""
        if is_dm(alert):
            user = alert.get("user_id") or self.resolve_person(db, int(alert["payload"]["person_id"]))
            return str(self.client.conversations_open(users=user)["channel"]["id"])
        channel = str(alert.get("thread_channel") or target)
        if _CHANNEL_ID.fullmatch(channel):
            return channel
        known = attempts.known_channel_id(db, alert.get("channel"))
        if known is not None:
            return known
        name = channel.removeprefix("#")
        for page in self.client.conversations_list(types="public_channel,private_channel", limit=1000):
            for item in page.get("channels") or []:
                if item.get("name") == name:
                    return str(item["id"])
        return None

    def update(self, db: Database, alert: dict[str, Any], message: Reply) -> bool:
        """chat.update of a sent row's message; a message that is gone (deleted, archived) is logged, not retried."""
        channel, ts = alert.get("posted_channel"), alert.get("ts")
        if not channel or not ts or channel == threads.TERMINAL:
            return False
        try:
            self.client.chat_update(channel=channel, ts=ts, text=fallback_text(message), blocks=to_blocks(message))
        except SlackApiError as exc:
            code = str(exc.response.get("error", "") or exc.response.status_code)
            level = logging.INFO if code in GONE else logging.WARNING
            log.log(
                level,
                "could not update alert #%s in %s (Slack says %s); leaving it as it is",
                alert["id"],
                channel,
                code,
            )
            return False
        except (OSError, SlackRequestError) as exc:
            log.warning("could not update alert #%s in %s (%s); leaving it as it is", alert["id"], channel, exc)
            return False
        return True

    def resolve_person(self, db: Database, person_id: int) -> str:
        """A person's Slack user id, looked up by email once and then remembered in `people`."""
        person = people.get_person(db, person_id)
        if person is None:
            raise Undeliverable(f"person #{person_id} no longer exists")
        if person["slack_id"]:
            return str(person["slack_id"])
        email = person["email"]
        if not email:
            raise Undeliverable(f"{person['name']} has neither a Slack user ID nor an email to look one up with")
        try:
            found = self.client.users_lookupByEmail(email=email)
        except SlackApiError as exc:
            if exc.response.get("error") == "users_not_found":
                raise Undeliverable(
                    f"no Slack user has the email {email} ({person['name']})",
                    "correct the email, or record their Slack user ID",
                ) from exc
            raise
        user = found["user"]
        slack_id = str(user["id"])
        try:
            with transaction(db):
                people.set_slack_id(db, person_id, slack_id, tz=user.get("tz"))
        except sqlite3.IntegrityError:  # another person row already holds this Slack id
            log.warning("%s (person #%s) resolves to Slack user %s, who is recorded twice", email, person_id, slack_id)
        return slack_id


class TerminalSink:
    """Terminal mode: each alert printed, with where it would have gone."""

    terminal = True

    def __init__(self, out: Callable[[str], None] = print) -> None:
        self.out = out

    def send(self, db: Database, alert: dict[str, Any], message: Reply, target: str | None) -> str | None:
        where = target or "terminal"
        if alert.get("user_id"):
            where = f"DM {alert['user_id']}"
        elif target and target.startswith("person:"):
            person = people.get_person(db, int(target.split(":", 1)[1]))
            if person and person["slack_id"]:
                where = f"DM {person['slack_id']}"
            elif person:
                where = f"DM {person['name']}" + (f" (by email {person['email']})" if person["email"] else "")
            else:
                where = f"DM {target}"
        if alert.get("thread_ts") and not is_dm(alert):
            where += f", in the thread of alert #{str(alert['thread_ts']).rpartition('.')[2]}"
        self.out(f"\n[alert → {where}]")
        self.out(textwrap.indent(to_text(message), "  "))
        if alert.get("id") is None:
            return None
        # Our own ts, so terminal alerts can head threads too (never given to Slack: see storage/outbox/threads.py).
        ts = f"{threads.TERMINAL}.{alert['id']}"
        remember_post(db, ts, int(alert["id"]), threads.TERMINAL, alert.get("thread_ts"))
        return ts

    def find_posted(
        self, db: Database, alert: dict[str, Any], target: str | None, since: datetime
    ) -> tuple[str, str] | None:
        """The terminal keeps no history to look in: an alert printed when the bot died is printed again."""
        return None

    def update(self, db: Database, alert: dict[str, Any], message: Reply) -> bool:
        """The terminal cannot edit what it printed: it says what the message now says, in one line."""
        notes = [b for b in message.blocks if isinstance(b, Note)]
        event = [plain_text(b.parts) for b in notes if plain_text(b.parts).startswith("📌")]  # one event's head
        said = "; ".join([*event[:1], plain_text(notes[-1].parts) if notes else "see above"])
        self.out(f"  [alert #{alert['id']} updated: {said}]")
        return True
