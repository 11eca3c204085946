"""Slack: settings from the environment, the Web API client, and the Bolt app with its listeners.

The app is sync Bolt: storage is SQLite (sync) and the scheduler is APScheduler's BackgroundScheduler,
so threads are the natural unit of concurrency here; an asyncio app would only wrap the same blocking calls.
Nothing here connects at import time; `build_app` calls auth.test once, when the process starts.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from slack_bolt import Ack, App, BoltContext
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.http_retry import RetryHandler, default_retry_handlers
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from waitress import wasyncore
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server

from bot.config.loading import ConfigError
from bot.process.connections import Connections
from bot.process.runtime import make_context
from bot.slack.ackfirst import AckFirst, AckFirstSocketModeHandler, after_ack, favour_acks
from bot.slack.answers import AnswerPool, post_response
from bot.slack.gate import MAX_BODY, RequestGate
from bot.slack.interactions import Interactions, register_interactions
from bot.slack.once import Once, first_time
from bot.slack.render import fallback_text, to_blocks
from handlers.overview.home import home
from handlers.registry import dispatch, load_commands, split_share
from handlers.reply import Reply, error, storage_reply
from storage.db import StorageUnavailable

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication

log = logging.getLogger("whisperer.slack")

DEFAULT_API_URL = "https://slack.com/api/"
COMMAND = "/whisperer"
EVENTS_PATH = "/slack/events"
BUSY = "I'm answering a lot of questions at once right now; try again in a few seconds."
HTTP_THREADS = 16  # waitress workers: each verifies a request and writes its ack (the work runs elsewhere)


@dataclass(frozen=True)
class SlackSettings:
    """The Slack part of the environment. Token values never appear in repr() or logs."""

    bot_token: str | None = field(default=None, repr=False)
    signing_secret: str | None = field(default=None, repr=False)
    app_token: str | None = field(default=None, repr=False)
    api_url: str = DEFAULT_API_URL

    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.bot_token, self.signing_secret, self.app_token) if s)

    def mode(self, http: bool) -> str:
        """'http', 'socket' or 'terminal', from the tokens present and --http; ConfigError if half set up."""
        if http:
            if not self.bot_token:
                raise ConfigError(
                    "SLACK_BOT_TOKEN", "is not set, and HTTP mode needs it", "set it in .env (see .env.example)"
                )
            if not self.signing_secret:
                raise ConfigError(
                    "SLACK_SIGNING_SECRET",
                    "is not set; HTTP mode verifies every request with it",
                    "copy Basic Information → App Credentials → Signing Secret into .env",
                )
            return "http"
        if self.app_token:
            if not self.bot_token:
                raise ConfigError(
                    "SLACK_BOT_TOKEN",
                    "is not set, but SLACK_APP_TOKEN is",
                    "Socket Mode needs both; copy OAuth & Permissions → Bot User OAuth Token into .env",
                )
            return "socket"
        if self.bot_token:
            raise ConfigError(
                "SLACK_APP_TOKEN",
                "is not set, so Socket Mode is off, and --http was not given",
                "set SLACK_APP_TOKEN (xapp-…, Basic Information → App-Level Tokens, scope connections:write), "
                "or run `whisperer run --http`",
            )
        return "terminal"


def slack_settings(env: Mapping[str, str]) -> SlackSettings:
    """Read SLACK_* from the environment, checking the shape of each value (never printing it)."""
    bot_token = env.get("SLACK_BOT_TOKEN", "").strip() or None
    app_token = env.get("SLACK_APP_TOKEN", "").strip() or None
    # A token of the wrong shape is worth a warning, not a refusal: proxies and test doubles use their own.
    # auth.test (at start and in `whisperer doctor`) is what decides; the value itself is never logged.
    if bot_token and not bot_token.startswith("xoxb-"):
        log.warning(
            "SLACK_BOT_TOKEN does not start with xoxb-: if Slack refuses it, copy OAuth & Permissions → "
            "Bot User OAuth Token (user xoxp- and app xapp- tokens do not work here)"
        )
    if app_token and not app_token.startswith("xapp-"):
        log.warning(
            "SLACK_APP_TOKEN does not start with xapp-: Socket Mode needs an app-level token "
            "(Basic Information → App-Level Tokens, scope connections:write)"
        )
    api_url = env.get("SLACK_API_URL", "").strip() or DEFAULT_API_URL
    parts = urlsplit(api_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError("SLACK_API_URL", f"{api_url!r} is not an http(s) URL", f"unset it to use {DEFAULT_API_URL}")
    return SlackSettings(bot_token, env.get("SLACK_SIGNING_SECRET", "").strip() or None, app_token, api_url)


_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#[A-Z0-9]+\|([^>]*)>")


def plain_command_text(text: str) -> str:
    """Slash-command text as the person typed it: Slack's link and channel markup undone, &amp; &lt; &gt;
    decoded (the renderer escapes again on the way out, once). User mentions stay <@U…>: they carry the ID."""
    text = _LINK.sub(lambda m: m.group(1), text)
    text = _CHANNEL.sub(lambda m: f"#{m.group(1)}", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def make_web_client(
    token: str | None, api_url: str = DEFAULT_API_URL, *, rate_limit_retries: int = 1, timeout: int = 30
) -> WebClient:
    """The one Web API client: SLACK_API_URL as base URL, and 429s retried after Retry-After.

    slack_sdk's default client retries only connection errors; a 429 would otherwise surface at once.
    """
    handlers: list[RetryHandler] = list(default_retry_handlers())
    if rate_limit_retries > 0:
        handlers.append(RateLimitErrorRetryHandler(max_retry_count=rate_limit_retries))
    # slack_sdk joins base_url and the method name as strings: ".../api" would call ".../apiauth.test".
    base_url = api_url if api_url.endswith("/") else api_url + "/"
    return WebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=handlers)


def response_for(reply: Reply, share: bool) -> dict[str, Any]:
    """A response_url message: ephemeral unless shared (errors always stay private)."""
    public = (share or not reply.ephemeral) and not reply.error
    return {
        "response_type": "in_channel" if public else "ephemeral",
        "text": fallback_text(reply),
        "blocks": to_blocks(reply),
    }


def home_view(reply: Reply) -> dict[str, Any]:
    """The App Home view for views.publish, cut to Slack's 100-block Home limit."""
    return {"type": "home", "blocks": to_blocks(reply, "home")}


def real_now() -> datetime:
    return datetime.now(UTC)


class Listeners:
    """What the Bolt app does with a request. Each method runs on the thread that answers Slack: it acknowledges
    and returns, and the work (the answer to response_url, views.publish) starts on the answer pool once the
    acknowledgement is written (see bot/slack/ackfirst.py). Nothing before the ack reads the database: a
    retry is recognised in memory (bot/slack/once.py), and checked against the stored keys by the work."""

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
        self.interactions: Interactions | None = None  # set by build_app; opens the forms

    def first_time(self, context: BoltContext) -> bool:
        return first_time(self.connections, context, self.clock)

    def command(self, ack: Ack, command: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        """`/whisperer …`: acknowledge, then answer through response_url from the answer pool.

        When the pool is full the acknowledgement says "busy, try again" rather than leaving Slack to time out.
        Without a response_url (Slack always sends one; a hand-made request may not) the answer can only go in
        the acknowledgement itself, so that one is answered before it is acknowledged. A command that has a
        form (`cert add` alone) opens it instead of answering.
        """
        url = str(command.get("response_url") or "")
        if not url:
            text, share = split_share(plain_command_text(str(command.get("text") or "")))
            if not self.first_time(context):
                ack()
                return
            reply = self.answer(text, command.get("user_id"))
            ack(**response_for(reply, share))
            self._effects(reply)
            return
        if not self.pool.reserve():
            log.warning("answer pool full: told %s to try /whisperer again", command.get("user_id") or "someone")
            ack(text=BUSY)
            return
        ack()

        def respond() -> None:
            if not self.first_time(context):
                return
            text, share = split_share(plain_command_text(str(command.get("text") or "")))
            reply = self.answer(text, command.get("user_id"))
            if self.open_form(client, reply, command):
                return
            message = response_for(reply, share)
            with self.pool.waiting():
                post_response(url, message)
            self._effects(reply)

        after_ack(lambda: self.pool.run(respond))

    def answer(self, text: str, user: str | None) -> Reply:
        """The reply to `/whisperer text` for `user`; a failure becomes a polite error, never silence."""
        try:
            ctx = make_context(self.connections.runtime(), self.clock(), user_id=user)
            return dispatch(ctx, text)
        except StorageUnavailable as exc:
            log.error("/whisperer %s: %s", text, exc)
            return storage_reply(exc.problem, exc.fix)
        except Exception:
            log.exception("/whisperer %s failed", text)
            return error(
                "Something went wrong while answering that.", "The details are in the bot's log; tell an admin."
            )

    def open_form(self, client: WebClient, reply: Reply, command: Mapping[str, Any]) -> bool:
        """The modal a reply asks for (views.open with the command's trigger); False if none was opened."""
        trigger, user = str(command.get("trigger_id") or ""), str(command.get("user_id") or "")
        if not (reply.form and trigger and self.interactions):
            return False
        return self.interactions.open_form(client, reply.form, trigger, user, dict(reply.form_meta))

    def _effects(self, reply: Reply) -> None:
        if reply.effects:
            self.on_effects(reply.effects)
            if self.interactions is not None:  # a typed `ack` or `mute` redraws the alerts, as a click does
                self.interactions.redraw_others(None, reply)

    def home_opened(self, event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        """`app_home_opened` → views.publish of the latest changes and source health (from the answer pool)."""
        if event.get("tab", "home") != "home":
            return
        user = str(event["user"])

        def publish() -> None:
            if not self.first_time(context):
                return
            ctx = make_context(self.connections.runtime(), self.clock(), user_id=user)
            view = home_view(home(ctx))
            with self.pool.waiting():
                client.views_publish(user_id=user, view=view)

        if not self.pool.reserve():
            log.warning("answer pool full: the Home tab of %s was not refreshed this time", user)
            return
        after_ack(lambda: self.pool.run(publish))


class _ClientTokenNote(logging.Filter):
    """Bolt re-reads SLACK_BOT_TOKEN and then notes it is unused next to our client: true, and only confusing."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("As you gave `client` as well")


def build_app(
    connections: Connections,
    client: WebClient,
    signing_secret: str,
    *,
    clock: Callable[[], datetime] = real_now,
    on_effects: Callable[[tuple[str, ...]], None] = lambda effects: None,
    token_verification: bool = True,
    threads: int = 8,
    pool: AnswerPool | None = None,
) -> App:
    """The Bolt app for a runtime's connections and a Web API client (see `make_web_client`).

    With `token_verification` the token is checked with auth.test now, so a bad token fails at start-up with
    Slack's own error code (SlackApiError). Request signature verification is always on (HTTP mode); Socket
    Mode requests carry no signature. Listeners run on the thread that answers Slack
    (`process_before_response`): each acknowledges at once and hands its work to `pool` (the caller owns it
    and shuts it down before closing `connections`), which starts it after the ack is written.
    """
    if token_verification:
        client.auth_test()
    load_commands()  # now, so the first slash command pays no imports
    bolt_logger = logging.getLogger("whisperer.bolt")
    if not any(isinstance(f, _ClientTokenNote) for f in bolt_logger.filters):
        bolt_logger.addFilter(_ClientTokenNote())
    app = App(
        name="whisperer",
        client=client,
        signing_secret=signing_secret,
        # Bolt keeps its own auth.test result for every request: fetched now, not by the first request's ack.
        token_verification_enabled=token_verification,
        # The listener runs on the request's own thread and its ack() is the answer: no hand-over to
        # another thread and no polling for the ack (Bolt's default checks every 10 ms).
        process_before_response=True,
        listener_executor=ThreadPoolExecutor(max_workers=threads, thread_name_prefix="slack"),
        logger=bolt_logger,
    )
    listeners = Listeners(connections, clock, on_effects, pool or AnswerPool())
    app.use(Once().middleware)
    app.command(COMMAND)(listeners.command)
    app.event("app_home_opened")(listeners.home_opened)
    listeners.interactions = register_interactions(app, connections, clock, on_effects, listeners.pool)
    return app


# slack_sdk's built-in Socket Mode client pings every `ping_interval` and drops a connection whose last pong is
# more than four intervals old, then reconnects. Bolt's default of 10 s left a dead TCP connection unnoticed
# for 40-50 s; at 1.5 s it is noticed 6-7.5 s after the last pong, and the pings are a few bytes each.
PING_INTERVAL = 1.5
SOCKET_WORKERS = 10  # envelopes handled at once; each only waits for its ack (slow work is on the answer pool)


def make_socket_handler(app: App, app_token: str) -> SocketModeHandler:
    """Socket Mode for `app` over slack_sdk's built-in client, tuned to notice a dead connection in < 10 s."""
    favour_acks()
    return AckFirstSocketModeHandler(app, app_token=app_token, ping_interval=PING_INTERVAL, concurrency=SOCKET_WORKERS)


HttpServer = BaseWSGIServer | MultiSocketServer


class _OncePerMinute(logging.Filter):
    """waitress warns "Task queue depth is N" for every queued request: keep one line a minute, with a count."""

    def __init__(self, interval: float = 60.0) -> None:
        super().__init__()
        self.interval = interval
        self.last = -interval
        self.hidden = 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        if now - self.last < self.interval:
            self.hidden += 1
            return False
        if self.hidden:
            record.msg = f"{record.msg} ({self.hidden} more such warnings in the last minute; all answered)"
        self.last, self.hidden = now, 0
        return True


def quiet_queue_warnings() -> None:
    queue_logger = logging.getLogger("waitress.queue")
    if not any(isinstance(f, _OncePerMinute) for f in queue_logger.filters):
        queue_logger.addFilter(_OncePerMinute())


def make_http_server(
    app: App,
    signing_secret: str,
    host: str = "127.0.0.1",
    port: int = 3000,
    outer: Callable[[WSGIApplication], WSGIApplication] | None = None,
) -> HttpServer:
    """POST /slack/events through our request gate and Bolt's WSGI adapter, served by waitress; `outer` wraps
    it (the health and metrics paths).

    waitress refuses bodies over MAX_BODY itself (413) before reading them; the gate does the rest.
    """
    quiet_queue_warnings()
    favour_acks()
    wsgi_app: WSGIApplication = RequestGate(
        AckFirst(SlackRequestHandler(app, path=EVENTS_PATH)), signing_secret, EVENTS_PATH
    )
    if outer is not None:
        wsgi_app = outer(wsgi_app)
    return create_server(
        wsgi_app,
        host=host,
        port=port,
        threads=HTTP_THREADS,
        ident="whisperer",
        max_request_body_size=MAX_BODY,
    )


def server_address(server: HttpServer) -> tuple[str, int]:
    """Where the server listens (the real port when asked for port 0)."""
    if isinstance(server, BaseWSGIServer):
        address = server.getsockname()
        return str(address[0]), int(address[1])
    host, port = server.effective_listen[0][:2]
    return str(host), int(port)


def stop_http_server(server: HttpServer) -> None:
    """Stop a server whose run() loop is in another thread (tests, benchmarks).

    The loop ends when its socket map is empty; closing the sockets from inside the loop (through its
    trigger) ends it at once instead of at the next one-second poll timeout.
    """
    server.task_dispatcher.shutdown()
    socket_map = getattr(server, "_map", None)
    trigger: Any = getattr(server, "trigger", None)
    if socket_map is not None and trigger is not None:
        try:
            trigger.pull_trigger(lambda: wasyncore.close_all(socket_map))
            return
        except OSError:  # the loop already ended and closed its trigger: nothing left to wake
            pass
    server.close()
