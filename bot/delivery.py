"""Alert delivery: outbox rows → Slack channel posts and DMs (or the terminal), each exactly once.

A row is marked sent only after Slack accepted it, so a crash before that re-sends it on the next run,
and a unique key per row means nothing is queued twice. Errors are sorted into four kinds:
rate limits (honour Retry-After), transient (back off), blocked targets (bot not in the channel: log once,
show admins, probe rarely) and undeliverable rows (mark failed).
"""

from __future__ import annotations

import logging
import sqlite3
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from http.client import HTTPException
from typing import Any, Protocol
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from sqlite_utils import Database

from bot.render import fallback_text, to_blocks, to_text
from handlers.alerts import compose_alert
from handlers.reply import Reply
from storage import alerts as outbox
from storage import changes as store
from storage import delivery as blocks
from storage import people
from storage.db import parse_stamp, transaction

log = logging.getLogger("whisperer.delivery")

PACE = timedelta(seconds=1)  # about one post a second per channel, as Slack asks
PROBE_EVERY = timedelta(minutes=15)  # how often a blocked target is tried again, with one alert
MAX_BACKOFF = timedelta(minutes=30)
NO_CHANNEL = "(no alerts channel)"

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


class Sink(Protocol):
    def send(self, db: Database, alert: dict[str, Any], message: Reply, target: str | None) -> str | None:
        """Deliver one message; return Slack's ts (or None); raise DeliveryProblem (or a Slack error)."""


class SlackSink:
    """Posts to channels with chat.postMessage; DMs via users.lookupByEmail → conversations.open."""

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
                channel = target
            response = self.client.chat_postMessage(
                channel=channel,
                text=fallback_text(message),
                blocks=to_blocks(message),
                unfurl_links=False,
                unfurl_media=False,
            )
        except Exception as exc:
            raise classify(exc, target) from exc
        return str(response.get("ts") or "") or None

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
        self.out(f"\n[alert → {where}]")
        self.out(textwrap.indent(to_text(message), "  "))
        return None


@dataclass
class Pacer:
    """At most one post per target per `interval`; a 429 holds everything until its Retry-After."""

    interval: timedelta = PACE
    hold_until: datetime | None = None
    _last: dict[str, datetime] = field(default_factory=dict)

    def ready(self, target: str, now: datetime) -> bool:
        last = self._last.get(target)
        return last is None or now - last >= self.interval

    def posted(self, target: str, now: datetime) -> None:
        self._last[target] = now

    def held(self, now: datetime) -> bool:
        return self.hold_until is not None and now < self.hold_until


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    blocked: int = 0
    deferred: int = 0


def backoff(attempts: int) -> timedelta:
    """10 s, 20 s, 40 s … up to 30 minutes between attempts at the same row."""
    return min(timedelta(seconds=10 * 2 ** min(attempts, 16)), MAX_BACKOFF)


def fan_out(db: Database, alert: dict[str, Any], now: datetime) -> int:
    """Queue a DM per subscriber of the topic of a channel alert about a change (the page diff, or the tier or
    policy alert that replaced it); keyed by change and user, so repeating it adds nothing."""
    payload = alert["payload"]
    change_id = alert.get("change_id") or payload.get("change_id")
    if is_dm(alert) or not change_id:
        return 0
    change = store.get_change(db, int(change_id))
    if change is None:
        return 0
    subscribers = people.subscribers(db, change["topic"])
    if not subscribers:
        return 0  # the usual case: no write lock taken
    added = 0
    with transaction(db):
        for user in subscribers:
            added += outbox.enqueue_alert(
                db,
                f"dm:{change['id']}:{user}",
                "change",
                {
                    "change_id": change["id"],
                    "source_id": change["source_id"],
                    "summary": change["summary"],
                    "subscription": change["topic"],
                },
                now,
                source_id=change["source_id"],
                change_id=change["id"],
                user_id=user,
            )
    return added


def deliver_alerts(
    db: Database,
    sink: Sink,
    now: datetime,
    *,
    tz: tzinfo,
    default_channel: str | None,
    pacer: Pacer | None = None,
    limit: int = 200,
) -> DeliveryReport:
    """Deliver the due outbox rows once each; returns what happened. Call it again to continue."""
    pacer = pacer or Pacer()
    report = DeliveryReport()
    if pacer.held(now):
        return report
    held = {row["target"]: parse_stamp(row["probe_at"]) for row in blocks.blocked_targets(db)}
    postponed: dict[str, list[int]] = {}
    for alert in outbox.due_alerts(db, now, limit):
        fan_out(db, alert, now)
        target = target_of(alert, default_channel)
        key = target or NO_CHANNEL
        if key in held and held[key] > now:
            postponed.setdefault(key, []).append(alert["id"])  # out of the due set, so it starves no one
            report.deferred += 1
            continue
        if not pacer.ready(key, now):
            report.deferred += 1
            continue
        message = compose_alert(db, alert, tz)
        if message is None:
            outbox.mark_failed(db, alert["id"], now, "nothing left to say (what it refers to was removed)")
            report.failed += 1
            continue
        try:
            ts = sink.send(db, alert, message, target)
        except Exception as exc:
            problem = classify(exc, key)
            if _record_problem(db, alert, key, problem, now, pacer, held, report):
                break
            continue
        pacer.posted(key, now)
        with transaction(db):
            outbox.mark_sent(db, alert["id"], now, ts)
            recovered = blocks.clear_block(db, key)
        held.pop(key, None)
        if recovered:
            log.info("alerts to %s are delivered again", key)
        report.sent += 1
    with transaction(db):
        for key, alert_ids in postponed.items():
            blocks.postpone_alerts(db, alert_ids, held.get(key, now))
    return report


def _record_problem(
    db: Database,
    alert: dict[str, Any],
    key: str,
    problem: DeliveryProblem,
    now: datetime,
    pacer: Pacer,
    held: dict[str, datetime],
    report: DeliveryReport,
) -> bool:
    """Write down what went wrong with one row; True if the whole run should stop (rate limited)."""
    alert_id = alert["id"]
    if isinstance(problem, RateLimited):
        delay = timedelta(seconds=problem.retry_after)
        outbox.mark_retry(db, alert_id, now, delay, problem.error)
        pacer.hold_until = now + delay
        log.warning("Slack rate-limited delivery; pausing all posts for %ds as Retry-After asks", delay.seconds)
        report.retried += 1
        return True
    if isinstance(problem, Transient):
        delay = backoff(int(alert["attempts"]))
        outbox.mark_retry(db, alert_id, now, delay, problem.error)
        log.warning("alert #%s to %s: %s; retrying in %ds", alert_id, key, problem.error, delay.total_seconds())
        report.retried += 1
        return False
    if isinstance(problem, Blocked):
        probe_at = now + PROBE_EVERY
        with transaction(db):
            outbox.mark_retry(db, alert_id, now, PROBE_EVERY, problem.error)
            first = blocks.block_target(db, key, problem.error, problem.fix, now, probe_at)
        held[key] = probe_at
        if first:  # one clear line, not one per alert per run
            log.error(
                "alerts to %s are held: Slack says %s. Fix: %s. (Trying one again every %d minutes.)",
                key,
                problem.error,
                problem.fix,
                PROBE_EVERY.seconds // 60,
            )
        report.blocked += 1
        return False
    outbox.mark_failed(db, alert_id, now, problem.error)
    log.error("alert #%s to %s dropped: %s%s", alert_id, key, problem.error, f" ({problem.fix})" if problem.fix else "")
    report.failed += 1
    return False
