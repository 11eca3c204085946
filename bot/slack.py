"""Slack: settings from the environment, the Web API client, and the Bolt app with its listeners.

The app is sync Bolt: storage is SQLite (sync) and the scheduler is APScheduler's BackgroundScheduler,
so threads are the natural unit of concurrency here; an asyncio app would only wrap the same blocking calls.
Nothing here connects at import time; `build_app` calls auth.test once, when the process starts.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from slack_bolt import Ack, App, BoltRequest, BoltResponse, Respond
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.http_retry import RetryHandler, default_retry_handlers
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from waitress import wasyncore
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server

from bot.config import ConfigError
from bot.connections import Connections
from bot.render import fallback_text, to_blocks
from bot.runtime import make_context
from handlers.home import home
from handlers.registry import dispatch
from handlers.reply import Reply, error
from storage.db import StorageUnavailable
from storage.requests import remember_request

log = logging.getLogger("whisperer.slack")

DEFAULT_API_URL = "https://slack.com/api/"
COMMAND = "/whisperer"
EVENTS_PATH = "/slack/events"
SHARE_WORD = "share"
DUPLICATE_HEADER = "x-whisperer-duplicate"  # set on the answer to a retried request that was not acted on
HOME_BLOCKS = 100


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


def split_share(text: str) -> tuple[str, bool]:
    """`changes policy share` → ("changes policy", True): a trailing `share` posts the answer for everyone."""
    words = text.split()
    if words and words[-1].lower() == SHARE_WORD:
        return text.rstrip()[: -len(words[-1])].rstrip(), True
    return text, False


def response_for(reply: Reply, share: bool) -> dict[str, Any]:
    """A response_url message: ephemeral unless shared (errors always stay private)."""
    public = (share or not reply.ephemeral) and not reply.error
    return {
        "response_type": "in_channel" if public else "ephemeral",
        "text": fallback_text(reply),
        "blocks": to_blocks(reply),
    }


def request_key(body: Mapping[str, Any]) -> str | None:
    """What identifies one user action across Slack's retries: the event id, or the command's trigger id."""
    if body.get("event_id"):
        return f"event:{body['event_id']}"
    if body.get("trigger_id"):
        return f"trigger:{body['trigger_id']}"
    return None


def real_now() -> datetime:
    return datetime.now(UTC)


class Listeners:
    """What the Bolt app does with a request; each method runs on a Bolt worker thread."""

    def __init__(
        self,
        connections: Connections,
        clock: Callable[[], datetime],
        on_effects: Callable[[tuple[str, ...]], None],
    ) -> None:
        self.connections = connections
        self.clock = clock
        self.on_effects = on_effects

    def once(self, body: dict[str, Any], request: BoltRequest, next_: Callable[[], BoltResponse]) -> BoltResponse:
        """Middleware: a request seen before (a Slack retry, X-Slack-Retry-Num) is acknowledged and dropped."""
        key = request_key(body)
        try:
            fresh = key is None or remember_request(self.connections.db(), key, self.clock())
        except StorageUnavailable as exc:
            # Reading commands still answer on a full disk; a repeat may then be answered twice, never acted on
            # twice (any write it needs fails the same way).
            log.warning("could not remember Slack request %s (%s); answering it anyway", key, exc.problem)
            fresh = True
        if not fresh:
            retry = (request.headers.get("x-slack-retry-num") or ["?"])[0]
            log.info("ignored a repeated Slack request %s (retry %s); it was handled the first time", key, retry)
            return BoltResponse(status=200, body="", headers={DUPLICATE_HEADER: "1"})
        return next_()

    def command(self, ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        """`/whisperer …`: acknowledge at once, then answer through response_url."""
        ack()
        text, share = split_share(plain_command_text(str(command.get("text") or "")))
        try:
            ctx = make_context(self.connections.runtime(), self.clock(), user_id=command.get("user_id"))
            reply = dispatch(ctx, text)
        except StorageUnavailable as exc:
            log.error("/whisperer %s: %s", text, exc)
            reply = storage_reply(exc)
        except Exception:
            log.exception("/whisperer %s failed", text)
            reply = error(
                "Something went wrong while answering that.", "The details are in the bot's log; tell an admin."
            )
        respond(**response_for(reply, share))
        if reply.effects:
            self.on_effects(reply.effects)

    def home_opened(self, event: dict[str, Any], client: WebClient) -> None:
        """`app_home_opened` → views.publish of the latest changes and source health."""
        if event.get("tab", "home") != "home":
            return
        user = str(event["user"])
        ctx = make_context(self.connections.runtime(), self.clock(), user_id=user)
        client.views_publish(user_id=user, view={"type": "home", "blocks": to_blocks(home(ctx))[:HOME_BLOCKS]})


def storage_reply(exc: StorageUnavailable) -> Reply:
    """What a person in Slack sees when the answer needed a write the database could not take."""
    return error(
        f"I can't write to my database right now: {exc.problem}. Nothing was changed.",
        f"Reading commands still work. An admin can fix it: {exc.fix}.",
    )


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
) -> App:
    """The Bolt app for a runtime's connections and a Web API client (see `make_web_client`).

    With `token_verification` the token is checked with auth.test now, so a bad token fails at start-up with
    Slack's own error code (SlackApiError). Request signature verification is always on (HTTP mode); Socket
    Mode requests carry no signature.
    """
    if token_verification:
        client.auth_test()
    bolt_logger = logging.getLogger("whisperer.bolt")
    if not any(isinstance(f, _ClientTokenNote) for f in bolt_logger.filters):
        bolt_logger.addFilter(_ClientTokenNote())
    app = App(
        name="whisperer",
        client=client,
        signing_secret=signing_secret,
        token_verification_enabled=False,  # done above; Bolt caches its own auth.test on the first request
        process_before_response=False,
        listener_executor=ThreadPoolExecutor(max_workers=threads, thread_name_prefix="slack"),
        logger=bolt_logger,
    )
    listeners = Listeners(connections, clock, on_effects)
    app.use(listeners.once)
    app.command(COMMAND)(listeners.command)
    app.event("app_home_opened")(listeners.home_opened)
    return app


HttpServer = BaseWSGIServer | MultiSocketServer


def make_http_server(app: App, host: str = "127.0.0.1", port: int = 3000) -> HttpServer:
    """POST /slack/events through Bolt's WSGI adapter, served by waitress (a production WSGI server)."""
    return create_server(SlackRequestHandler(app, path=EVENTS_PATH), host=host, port=port, threads=8, ident="whisperer")


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
