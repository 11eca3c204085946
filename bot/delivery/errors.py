"""Delivery errors: what a Slack or network failure means for an alert (retry, back off, hold, drop), with the fix."""

from __future__ import annotations

from collections.abc import Callable
from http.client import HTTPException
from typing import Any
from urllib.error import URLError

from slack_sdk.errors import SlackApiError, SlackRequestError

TRANSIENT_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited", "team_added_to_org"}
)
_REINSTALL = "reinstall the app from manifest.yml (Slack app settings → Install App) and update SLACK_BOT_TOKEN"
# Errors that say "this target will refuse every alert until someone fixes something", with that fix.
BLOCKING_FIXES = {
    "not_in_channel": "invite the bot there: type `/invite @Huawei Whisperer` in {target}",
    "channel_not_found": (
        "check the channel in whisperer.toml ([bot] alerts_channel or the source's channel); "
        "prefer the channel ID (C0…), and invite the bot if the channel is private"
    ),
    "is_archived": "unarchive {target}, or point alerts at another channel in whisperer.toml",
    "restricted_action": "a workspace admin must allow apps to post in {target}",
    "missing_scope": _REINSTALL,
    "invalid_auth": "SLACK_BOT_TOKEN is not valid; copy the Bot User OAuth Token (xoxb-…) again",
    "not_authed": "SLACK_BOT_TOKEN is empty; set it in .env",
    "token_revoked": _REINSTALL,
    "account_inactive": _REINSTALL,
    "no_alerts_channel": "set [bot] alerts_channel in whisperer.toml (a channel ID like C0123ABC, or #name)",
}


class DeliveryProblem(Exception):
    """Why a row was not delivered; the subclass says what to do about it."""

    def __init__(self, error: str, fix: str = "") -> None:
        super().__init__(error)
        self.error, self.fix = error, fix


class RateLimited(DeliveryProblem):
    def __init__(self, error: str, retry_after: float) -> None:
        super().__init__(error)
        self.retry_after = retry_after


class Transient(DeliveryProblem):
    """5xx, network errors, Slack's internal errors: try the same row again later."""


class Blocked(DeliveryProblem):
    """The target refuses everything until someone acts: hold its rows, probe rarely."""


class Undeliverable(DeliveryProblem):
    """This one row can never be delivered (no such person, message rejected): mark it failed."""


class PostedUnrecorded(Exception):
    """Slack accepted the post, but a write about it (where it went) failed: never post it again; the delivery
    loop writes `finish(db)` together with "sent" once the database takes writes."""

    def __init__(self, ts: str | None, finish: Callable[[Any], None], cause: Exception) -> None:
        super().__init__(f"posted, but not recorded: {cause}")
        self.ts, self.finish, self.cause = ts, finish, cause


def _retry_after(exc: SlackApiError) -> float:
    headers = {str(k).lower(): v for k, v in (exc.response.headers or {}).items()}
    value = headers.get("retry-after", "1")
    if isinstance(value, list):
        value = value[0] if value else "1"
    try:
        return max(1.0, float(value))
    except ValueError:
        return 1.0


def classify(exc: Exception, target: str) -> DeliveryProblem:
    """Map a Slack or network error onto what delivery should do next."""
    if isinstance(exc, DeliveryProblem):
        return exc
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        if status == 429:
            return RateLimited("rate limited by Slack (429)", _retry_after(exc))
        if status >= 500:
            return Transient(f"Slack answered HTTP {status}")
        code = str(exc.response.get("error", "") or f"HTTP {status}")
        if code in TRANSIENT_ERRORS:
            return Transient(f"Slack answered {code}")
        if code in BLOCKING_FIXES:
            return Blocked(code, BLOCKING_FIXES[code].format(target=target))
        return Undeliverable(f"Slack refused the message: {code}")
    if isinstance(exc, (URLError, OSError, HTTPException, TimeoutError)):
        return Transient(f"network error talking to Slack: {exc}")
    if isinstance(exc, SlackRequestError):
        return Undeliverable(f"the request could not be sent: {exc}")
    raise exc
