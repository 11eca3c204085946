"""Each Slack request acted on once: the key of a request, the in-memory check on the ack path, and the stored
check before acting (which also catches a retry that arrives after a restart)."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from slack_bolt import BoltRequest, BoltResponse

from bot.ops.logs import log_context
from bot.process.connections import Connections
from storage.db import StorageUnavailable
from storage.outbox.requests import remember_request

log = logging.getLogger("whisperer.slack")

# Slack retries a request three times within about five minutes; a process sees far fewer distinct requests
# than this in that time, so a key is still remembered when its last retry comes.
RECENT_KEYS = 20_000
DUPLICATE_HEADER = "x-whisperer-duplicate"  # set on the answer to a retried request that was not acted on
KEY = "request_key"  # where `Once.middleware` leaves a request's key in Bolt's context, for `first_time`


def request_key(body: Mapping[str, Any], raw_body: str = "", timestamp: str = "") -> str:
    """What identifies one user action across Slack's retries: the event id, or the command's trigger id.

    A request with neither (Slack always sends one; a hand-made request may not) is keyed on its signed
    timestamp and body, so replaying the very same request is still refused.
    """
    if body.get("event_id"):
        return f"event:{body['event_id']}"
    if body.get("trigger_id"):
        return f"trigger:{body['trigger_id']}"
    digest = hashlib.sha256(f"{timestamp}:{raw_body}".encode()).hexdigest()
    return f"body:{digest}"


class RecentRequests:
    """The keys this process has acknowledged lately, in memory: the ack path's duplicate check (no database)."""

    def __init__(self, size: int = RECENT_KEYS) -> None:
        self.size = size
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def first(self, key: str) -> bool:
        """Remember `key`; True the first time this process sees it, False for a retry or a replay."""
        with self._lock:
            if key in self._keys:
                return False
            self._keys[key] = None
            if len(self._keys) > self.size:
                self._keys.popitem(last=False)
            return True


class Once:
    """Bolt middleware: a request this process saw before (a Slack retry, X-Slack-Retry-Num) is acknowledged
    and dropped. In memory only, so the ack path never waits for the database; the stored check (`first_time`,
    which also knows the requests from before a restart) is made by the work that acts on the request."""

    def __init__(self, recent: RecentRequests | None = None) -> None:
        self.recent = recent or RecentRequests()

    def middleware(self, body: dict[str, Any], request: BoltRequest, next_: Callable[[], BoltResponse]) -> BoltResponse:
        timestamp = (request.headers.get("x-slack-request-timestamp") or [""])[0]
        raw = request.raw_body or json.dumps(body, sort_keys=True, default=str)  # Socket Mode has no raw body
        key = request_key(body, raw, timestamp)
        # Log lines while this request is handled (a retry included) carry Slack's id for it (JSON logs: "event").
        with log_context(event=slack_event_id(body) or key):
            if not self.recent.first(key):
                retry = (request.headers.get("x-slack-retry-num") or ["?"])[0]
                log.info("ignored a repeated Slack request %s (retry %s); it was handled the first time", key, retry)
                return BoltResponse(status=200, body="", headers={DUPLICATE_HEADER: "1"})
            request.context[KEY] = key
            return next_()


def slack_event_id(body: Mapping[str, Any]) -> str | None:
    """Slack's own id for a request: the event id, else the command's or the click's trigger id."""
    for key in ("event_id", "trigger_id"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def first_time(connections: Connections, context: Mapping[str, Any], now: Callable[[], datetime]) -> bool:
    """The stored check, made by the work that acts on a request (never on the ack path): True unless the
    request was handled before, by this process or one before a restart. A full disk answers True: a reading
    command still answers, and a repeat is at worst answered twice, never acted on twice (any write it needs
    fails the same way). A request the middleware did not see (no key) is new."""
    key = context.get(KEY)
    if key is None:
        return True
    try:
        fresh = remember_request(connections.db(), str(key), now())
    except StorageUnavailable as exc:
        log.warning("could not remember Slack request %s (%s); answering it anyway", key, exc.problem)
        return True
    if not fresh:
        log.info("ignored a repeated Slack request %s; it was handled before", key)
    return fresh
