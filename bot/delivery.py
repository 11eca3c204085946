"""The delivery loop: outbox rows → a sink (Slack or the terminal), paced per target, each exactly once.

A row is marked sent only after Slack accepted it, so a crash before that re-sends it on the next run,
and a unique key per row means nothing is queued twice. bot/delivery_errors.py sorts errors into four kinds
(rate limited, transient, blocked target, undeliverable); bot/sinks.py does the sending.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlite_utils import Database

from bot.delivery_errors import Blocked, DeliveryProblem, RateLimited, Transient, classify
from bot.sinks import Sink, is_dm, target_of
from handlers.alerts import compose_alert
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
    if alert["kind"] == "alert-summary" and not is_dm(alert):
        return _fan_out_summary(db, alert, now)
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


def _fan_out_summary(db: Database, alert: dict[str, Any], now: datetime) -> int:
    """Flood control holds for DMs too: a subscriber gets the channel's summary, not one DM per change past it."""
    payload = alert["payload"]
    subscribers = people.subscribers(db, str(payload.get("topic")))
    if not subscribers:
        return 0
    added = 0
    with transaction(db):
        for user in subscribers:
            added += outbox.enqueue_alert(
                db,
                f"dm:{alert['key']}:{user}",
                "alert-summary",
                {**payload, "subscription": payload.get("topic")},
                now,
                source_id=alert.get("source_id"),
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
