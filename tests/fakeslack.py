"""A local fake of the Slack Web API: a real HTTP server on 127.0.0.1, port 0, that records every call.

It implements auth.test, chat.postMessage, chat.update, chat.postEphemeral, conversations.open,
conversations.history and conversations.replies (with the message metadata each post carried, when asked
with include_all_metadata), conversations.list, users.lookupByEmail, views.publish, views.open,
views.update, views.push and a response_url target.
Tests script trouble per method (`fail_next`: 429 with Retry-After, 500, a Slack error such as
not_in_channel, or a hang) or per channel (`refuse`, and `channel_mode`: hang, 429, 500 or a reset
connection, switchable while a test runs). Each call records when it arrived and when it was answered
(time.monotonic), so tests can check Retry-After was honoured. Channel mode "accept-hang" keeps a post (it
shows in the history) but holds the answer back: a bot killed then never hears that Slack has it.
Reach it with `WebClient(base_url=fake.api_url)`; slash commands are signed with `sign`.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

TOKEN = "xoxb-1111-2222-fake-bot-token"
APP_TOKEN = "xapp-1-A111-fake-app-token"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SCOPES = (
    "commands",
    "chat:write",
    "im:write",
    "users:read",
    "users:read.email",
    "channels:read",
    "groups:read",
    "channels:history",
    "groups:history",
    "im:history",
)
T = TypeVar("T")
RESET = -1  # an internal status: drop the connection instead of answering


@dataclass
class Call:
    method: str  # a Web API method, or "response_url"
    path: str
    args: dict[str, Any]
    outcome: str = "ok"  # ok | error:<code> | http:<status> | hung | reset
    at: float = field(default_factory=time.monotonic)  # when the request arrived
    answered: float | None = None  # when the answer was about to go out (None while hung)


@dataclass
class Trouble:
    """One scripted answer: an HTTP status (with headers), a Slack error code, or a hang until released."""

    status: int = 200
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False


def rate_limited(retry_after: int = 0) -> Trouble:
    return Trouble(429, "ratelimited", {"Retry-After": str(retry_after)})


def server_error(status: int = 500) -> Trouble:
    return Trouble(status)


def slack_error(code: str) -> Trouble:
    return Trouble(200, code)


def hang() -> Trouble:
    return Trouble(hang=True)


class FakeSlack:
    def __init__(self, token: str = TOKEN, scopes: tuple[str, ...] = SCOPES) -> None:
        self.token = token
        self.scopes = scopes
        self.users_by_email: dict[str, str] = {}
        self.calls: list[Call] = []
        self._script: dict[str, deque[Trouble]] = {}
        self._refusals: dict[str, str] = {}
        self._modes: dict[str, tuple[str, int]] = {}  # channel → (mode, Retry-After), see channel_mode
        self._cond = threading.Condition()
        self._release = threading.Event()
        self._hang_responses = threading.Event()
        self._ts = itertools.count(1)
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}  # (channel ID, ts) → what it shows now
        self.posted_at: dict[tuple[str, str], float] = {}  # (channel ID, ts) → time.time() it was posted
        self.channels: dict[str, str] = {}  # name → ID for conversations.list (channel_id() names the rest)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._handle()

            def do_POST(self) -> None:
                self._handle()

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, headers, body = fake._answer(self.path, dict(self.headers.items()), raw)
                if status == RESET:  # close with an RST and no answer: the client sees "connection reset"
                    self.close_connection = True
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                    return
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.send_response(status)
                    for name, value in {"Content-Length": str(len(body)), **headers}.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    # ── addresses ──
    @property
    def base(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self, name: str) -> str:
        return f"{self.base}/response/{name}"

    # ── scripting ──
    def fail_next(self, method: str, *troubles: Trouble) -> None:
        """The next calls to `method` get these answers, in order; later calls succeed again."""
        with self._cond:
            self._script.setdefault(method, deque()).extend(troubles)

    def refuse(self, channel: str, error: str | None) -> None:
        """Every post to `channel` fails with `error` (e.g. not_in_channel) until called with None."""
        with self._cond:
            if error is None:
                self._refusals.pop(channel, None)
            else:
                self._refusals[channel] = error

    def hang_responses(self, on: bool = True) -> None:
        """Every response_url post hangs (until `release`) while on."""
        if on:
            self._hang_responses.set()
        else:
            self._hang_responses.clear()

    def release(self) -> None:
        """Let hung calls go (they answer 500 to whoever is still listening)."""
        self._release.set()
        with self._cond:
            self._cond.notify_all()

    # ── what happened ──
    def calls_to(self, method: str) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method]

    def posts(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages chat.postMessage accepted (what a channel would show)."""
        return [
            c.args
            for c in self.calls_to("chat.postMessage")
            if c.outcome == "ok" and (channel is None or c.args.get("channel") == channel)
        ]

    def responses(self, name: str | None = None) -> list[dict[str, Any]]:
        """Answers the response_url accepted (hung ones are in `calls_to("response_url")`)."""
        return [
            c.args
            for c in self.calls_to("response_url")
            if c.outcome == "ok" and (name is None or c.path.endswith(f"/{name}"))
        ]

    def wait_for(self, predicate: Callable[[], T], timeout: float = 30.0) -> T:
        """Block until predicate() is truthy (re-checked on every call the fake records); bounded."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    methods = [f"{c.method}:{c.outcome}" for c in self.calls]
                    raise AssertionError(f"gave up waiting after {timeout}s; calls so far: {methods}")
                self._cond.wait(min(left, 0.1))  # also re-checks state the fake cannot see

    def _record(self, call: Call) -> None:
        if call.outcome != "hung":
            call.answered = time.monotonic()
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()

    # ── the API ──
    def _answer(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(path)
        args: dict[str, Any] = dict(parse_qsl(parts.query))
        content_type = headers.get("Content-Type", "")
        if raw and "json" in content_type:
            args.update(json.loads(raw))
        elif raw:
            args.update(parse_qsl(raw.decode("utf-8")))
        if parts.path.startswith("/response/"):
            if self._hang_responses.is_set():  # a response_url that never answers (until released)
                self._record(Call("response_url", parts.path, args, "hung"))
                self._release.wait(60)
                return 500, {}, b"released"
            self._record(Call("response_url", parts.path, args))
            return 200, {"Content-Type": "text/plain"}, b"ok"
        method = parts.path.removeprefix("/api/")
        call = Call(method, parts.path, args)
        by_mode = self._channel_answer(call)
        if by_mode is not None:
            return by_mode
        with self._cond:
            queue = self._script.get(method)
            trouble = queue.popleft() if queue else None
        if trouble is not None and trouble.hang:
            call.outcome = "hung"
            self._record(call)
            self._release.wait(60)
            return 500, {}, b"released"
        auth = headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else args.get("token", "")
        if token != self.token:
            return self._error(call, "invalid_auth")
        if trouble is not None:
            if trouble.status != 200:
                call.outcome = f"http:{trouble.status}"
                self._record(call)
                body = json.dumps({"ok": False, "error": trouble.error}) if trouble.error else "upstream trouble"
                return trouble.status, trouble.headers, body.encode()
            return self._error(call, trouble.error or "fatal_error")
        channel = str(args.get("channel", ""))
        if method in ("chat.postMessage", "chat.postEphemeral") and channel in self._refusals:
            return self._error(call, self._refusals[channel])
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return self._error(call, "unknown_method")
        result: dict[str, Any] = handler(args)
        extra: dict[str, str] = result.pop("_headers", {})
        if not result.get("ok"):
            return self._error(call, str(result["error"]))
        self._record(call)
        return 200, {"Content-Type": "application/json", **extra}, json.dumps(result).encode()

    # ── per-channel modes (delivery tests) ──
    def channel_mode(self, channel: str, mode: str | None, retry_after: int = 1) -> None:
        """From now on every chat.postMessage to `channel` gets: "hang" (no answer until the mode changes or
        `release`), "429" (with this Retry-After), "500", "reset" (the connection dropped), or None: normal."""
        if mode not in (None, "hang", "accept-hang", "429", "500", "reset"):
            raise ValueError(f"unknown channel mode {mode!r}")
        with self._cond:
            if mode is None:
                self._modes.pop(channel, None)
            else:
                self._modes[channel] = (mode, retry_after)
            self._cond.notify_all()  # a hung call whose channel left "hang" answers now

    def _channel_mode(self, channel: str) -> str | None:
        with self._cond:
            found = self._modes.get(channel)
        return found[0] if found else None

    def _channel_answer(self, call: Call) -> tuple[int, dict[str, str], bytes] | None:
        """The answer a channel's mode dictates for this call, or None to answer normally."""
        if call.method != "chat.postMessage":
            return None
        channel = str(call.args.get("channel", ""))
        with self._cond:
            found = self._modes.get(channel)
        if found is None:
            return None
        mode, retry_after = found
        if mode == "accept-hang":  # Slack has the post; its answer never leaves (until the mode changes)
            self._chat_postMessage(call.args)
            call.outcome = "accepted-hung"
            self._record(call)
            with self._cond:
                self._cond.wait_for(
                    lambda: self._release.is_set() or self._modes.get(channel, ("",))[0] != "accept-hang", timeout=60
                )
            return 500, {"Content-Type": "application/json"}, b'{"ok": false, "error": "released"}'
        if mode == "hang":
            call.outcome = "hung"
            self._record(call)
            with self._cond:
                self._cond.wait_for(
                    lambda: self._release.is_set() or self._modes.get(channel, ("",))[0] != "hang", timeout=60
                )
            return 500, {"Content-Type": "application/json"}, b'{"ok": false, "error": "released"}'
        if mode == "reset":
            call.outcome = "reset"
            self._record(call)
            return RESET, {}, b""
        status = int(mode)
        call.outcome = f"http:{status}"
        self._record(call)
        if status == 429:
            body = json.dumps({"ok": False, "error": "ratelimited"}).encode()
            return 429, {"Retry-After": str(retry_after), "Content-Type": "application/json"}, body
        return status, {}, b"upstream trouble"

    def _error(self, call: Call, code: str) -> tuple[int, dict[str, str], bytes]:
        call.outcome = f"error:{code}"
        self._record(call)
        return 200, {"Content-Type": "application/json"}, json.dumps({"ok": False, "error": code}).encode()

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://acme.slack.com/",
            "team": "Acme Cloud",
            "user": "whisperer",
            "team_id": "T0ACME",
            "user_id": "U0BOT",
            "bot_id": "B0BOT",
            "_headers": {"x-oauth-scopes": ",".join(self.scopes)},
        }

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        ts = f"1764100000.{next(self._ts):06d}"
        channel = channel_id(str(args["channel"]))  # Slack answers with the ID, even when posted to a #name
        with self._cond:
            self.messages[(channel, ts)] = dict(args)
            self.posted_at[(channel, ts)] = time.time()
        return {"ok": True, "channel": channel, "ts": ts, "message": {"text": args.get("text", "")}}

    def accepted_posts(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Every message the fake keeps (answered or not), in posting order; with `channel`, posted there."""
        with self._cond:
            found = sorted(self.messages.items(), key=lambda item: self.posted_at.get(item[0], 0.0))
        return [args for (where, _ts), args in found if channel is None or channel_id(channel) == where]

    def _history(self, args: dict[str, Any], thread_ts: str | None) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if not channel or channel.startswith("#"):
            return {"ok": False, "error": "channel_not_found"}
        oldest = float(args.get("oldest") or 0)
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        found = []
        with self._cond:
            items = [(key, dict(value)) for key, value in self.messages.items()]
        for (where, ts), posted in items:
            if where != channel or self.posted_at.get((where, ts), 0.0) < oldest:
                continue
            if thread_ts is not None and posted.get("thread_ts") != thread_ts:
                continue
            if thread_ts is None and posted.get("thread_ts"):
                continue  # replies are not in the channel's history, as in Slack
            message: dict[str, Any] = {"type": "message", "ts": ts, "text": posted.get("text", "")}
            metadata = posted.get("metadata")
            if with_metadata and metadata:
                message["metadata"] = json.loads(metadata) if isinstance(metadata, str) else metadata
            found.append(message)
        found.sort(key=lambda m: m["ts"], reverse=True)  # newest first, as Slack answers
        return {"ok": True, "messages": found, "has_more": False, "response_metadata": {"next_cursor": ""}}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._history(args, None)

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._history(args, str(args.get("ts", "")))

    def _conversations_list(self, args: dict[str, Any]) -> dict[str, Any]:
        with self._cond:
            names = dict(self.channels)
            names.update(
                {
                    str(a.get("channel", ""))[1:]: w
                    for (w, _ts), a in self.messages.items()
                    if str(a.get("channel", "")).startswith("#")
                }
            )
        channels = [{"id": cid, "name": name} for name, cid in sorted(names.items())]
        return {"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": f"1764100000.{next(self._ts):06d}"}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "channel": {"id": "D" + str(args["users"]).split(",")[0]}}

    def _users_lookupByEmail(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users_by_email.get(str(args.get("email", "")).lower())
        if user is None:
            return {"ok": False, "error": "users_not_found"}
        return {"ok": True, "user": {"id": user, "tz": "Asia/Jakarta", "profile": {"email": args["email"]}}}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        """Replace a message in place; the fake's copy of a message it posted is updated too."""
        key = (str(args.get("channel")), str(args.get("ts")))
        with self._cond:
            if key in self.messages:
                self.messages[key] = {**self.messages[key], **args}
        return {"ok": True, "channel": key[0], "ts": key[1], "text": args.get("text", "")}

    def updates(self) -> list[dict[str, Any]]:
        """Messages chat.update changed (what the channel now shows instead)."""
        return [c.args for c in self.calls_to("chat.update") if c.outcome == "ok"]

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        view = args["view"] if isinstance(args["view"], dict) else json.loads(args["view"])
        return {"ok": True, "view": {"id": "V0HOME", **view}}

    # ── interactivity: modals and in-place message updates ──
    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        view = args["view"] if isinstance(args["view"], dict) else json.loads(args["view"])
        if not args.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        return {"ok": True, "view": {"id": f"V0MODAL{next(self._ts)}", "hash": "h1", **view}}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view = args["view"] if isinstance(args["view"], dict) else json.loads(args["view"])
        return {"ok": True, "view": {"id": args.get("view_id"), "hash": "h2", **view}}

    def _views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._views_open(args)

    def views(self, method: str = "views.open") -> list[dict[str, Any]]:
        """The views Slack accepted through `method` (views.open, views.update, views.push, views.publish)."""
        found = []
        for call in self.calls_to(method):
            if call.outcome == "ok":
                view = call.args["view"]
                found.append(view if isinstance(view, dict) else json.loads(view))
        return found

    def start(self) -> FakeSlack:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        with self._cond:
            self._cond.notify_all()
        self.httpd.shutdown()
        self.httpd.server_close()


def channel_id(name: str) -> str:
    """The fake's channel IDs: #huawei-partner → C0HUAWEIPARTNER; IDs (C…, D…) stay as they are."""
    return "C0" + "".join(ch for ch in name.upper() if ch.isalnum()) if name.startswith("#") else name


def sign(body: str, timestamp: int | None = None, secret: str = SECRET) -> dict[str, str]:
    """The headers Slack sends: X-Slack-Signature = v0=HMAC-SHA256(secret, "v0:{ts}:{body}")."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def slash_body(text: str, user: str, response_url: str, trigger: str, channel: str = "C0GENERAL") -> str:
    return urlencode(
        {
            "token": "legacy-verification-token",
            "team_id": "T0ACME",
            "team_domain": "acme",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/whisperer",
            "text": text,
            "api_app_id": "A0WHISPER",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger,
        }
    )


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    yield fake
    fake.stop()
