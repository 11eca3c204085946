"""The delivery loop: outbox rows → a sink (Slack or the terminal), paced per target, each exactly once or held.

A row is marked sent only after Slack accepted it, so a crash before that re-sends it on the next run, and a
unique key per row means nothing is queued twice. Targets are independent: each has at most one send in flight
(on a bounded pool when `workers` > 0), its own pace and its own 429 hold, counted from when Slack answered.
If an outcome cannot be written down (disk full, read-only, lost database) delivery stops, keeps the outcome
in memory and writes it first when writes work again, so nothing Slack accepted is posted twice.
bot/delivery/errors.py says what a failure means; bot/delivery/sinks.py does the sending.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from bot.delivery.errors import (
    Blocked,
    DeliveryProblem,
    PostedUnrecorded,
    RateLimited,
    Transient,
    Undeliverable,
    classify,
)
from bot.delivery.sinks import Sink, is_dm, target_of
from handlers.alerting.compose import compose_alert
from handlers.reply import Reply
from storage.database import Database
from storage.db import StorageUnavailable, parse_stamp, stamp, transaction
from storage.outbox import alerts as outbox
from storage.outbox import attempts, ownership
from storage.outbox import delivery as blocks
from storage.team import people
from storage.watching import changes as store
from storage.watching import levels

log = logging.getLogger("whisperer.delivery")

PACE = timedelta(seconds=1)  # about one post a second per channel, as Slack asks
PROBE_EVERY = timedelta(minutes=15)  # how often a blocked target is tried again, with one alert
MAX_BACKOFF = timedelta(minutes=30)
NO_CHANNEL = "(no alerts channel)"
HOLD_MARGIN = timedelta(milliseconds=50)
PER_TARGET = 3  # due rows read per target and run: enough to skip a failed one, few enough to share
LOOKBACK_MARGIN = timedelta(minutes=2)  # clocks differ: look a little before the unanswered attempt began


@dataclass
class Pacer:
    """At most one post per target per `interval`; a 429 holds its own target until Retry-After has passed."""

    interval: timedelta = PACE
    _last: dict[str, datetime] = field(default_factory=dict)
    _hold: dict[str, datetime] = field(default_factory=dict)

    def ready(self, target: str, now: datetime) -> bool:
        if self.held(target, now):
            return False
        last = self._last.get(target)
        # Scheduler ticks drift by milliseconds; a tenth of the interval's grace keeps the pace at ~1/s, not 1/2s.
        return last is None or now - last >= self.interval * 0.9

    def posted(self, target: str, now: datetime) -> None:
        self._last[target] = now

    def hold(self, target: str, until: datetime) -> None:
        self._hold[target] = max(until, self._hold.get(target, until))

    def held(self, target: str, now: datetime) -> bool:
        until = self._hold.get(target)
        return until is not None and now < until

    def hold_until(self, target: str) -> datetime | None:
        return self._hold.get(target)


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    blocked: int = 0
    deferred: int = 0
    in_flight: int = 0
    held_by_storage: bool = False


@dataclass
class Outcome:
    """What Slack said about one row, and when it said it; written to the outbox by `Delivery._record`."""

    alert: dict[str, Any]
    key: str
    answered: datetime
    ts: str | None = None
    problem: DeliveryProblem | None = None
    finish: Callable[[Database], None] | None = None  # a note about the post the sink could not write
    unsure: bool = False  # no clear answer (a timeout, or the look in the channel failed): look before posting
    recorded: str | None = None  # written already, by the worker the moment Slack answered: how it counted
    found: bool = False  # not posted again: the post of an unanswered attempt was found in the channel


def rate_limited_until(answered: datetime, retry_after: float) -> datetime:
    """When a 429'd target may be tried again: Retry-After from Slack's answer, plus a hair (`now` is read just
    before a run begins), rounded up to the second the outbox can store."""
    until = answered + timedelta(seconds=retry_after) + HOLD_MARGIN
    return until if until.microsecond == 0 else until.replace(microsecond=0) + timedelta(seconds=1)


def backoff(attempts: int) -> timedelta:
    """10 s, 20 s, 40 s … up to 30 minutes between attempts at the same row."""
    return min(timedelta(seconds=10 * 2 ** min(attempts, 16)), MAX_BACKOFF)


def fan_out(db: Database, alert: dict[str, Any], now: datetime) -> int:
    """Queue a DM per subscriber of the topic of a channel alert about an urgent change (the page diff, or the
    tier or policy alert that replaced it); keyed by change and user, so repeating it adds nothing."""
    payload = alert["payload"]
    change_id = alert.get("change_id") or payload.get("change_id")
    if alert["kind"] == "alert-summary" and not is_dm(alert):
        return _fan_out_summary(db, alert, now)
    if is_dm(alert) or not change_id:
        return 0
    change = store.get_change(db, int(change_id))
    if change is None or change.get("level") not in (None, "urgent"):
        return 0  # normal changes go to the channel only; a change from before levels existed DMs as it used to
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
    if alert.get("source_id") and not levels.urgent_in_poll(db, str(alert["source_id"]), str(alert["created_at"])):
        return 0  # as for each change: subscribers hear of urgent ones only
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


class Delivery:
    """The loop's memory between runs: pace and holds per target, sends in flight, outcomes not yet written.

    With `workers` = 0 each send happens in `run` (terminal mode, tests); otherwise on a pool of that many
    threads, and `run` returns at once, recording what finished since the last run.
    """

    def __init__(
        self,
        sink: Sink,
        *,
        pacer: Pacer | None = None,
        workers: int = 0,
        worker_db: Callable[[], Database] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sink = sink
        self.monotonic = monotonic  # times Slack's answers from `now` (tests pass their own clock)
        self.pacer = pacer or Pacer()
        self.worker_db = worker_db
        self.fault: StorageUnavailable | None = None
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="deliver") if workers > 0 else None
        self._in_flight: dict[str, Future[Outcome]] = {}
        self._unrecorded: list[Outcome] = []  # Slack answered; the database does not know yet
        self._lock = threading.Lock()

    # ── the run ──
    def run(
        self, db: Database, now: datetime, *, tz: tzinfo, default_channel: str | None, limit: int = 500
    ) -> DeliveryReport:
        """Record what finished, then start the due rows whose target is free; returns what happened."""
        started = self.monotonic()  # `now` is this moment: answers are timed from here, never from later
        report = DeliveryReport()
        with self._lock:
            self._collect()
            try:
                self._record_all(db, report)
                if self.fault is not None:
                    with transaction(db):
                        outbox.probe_writes(db)  # nothing to record, but would a write land?
                self._start_due(db, now, started, tz, default_channel, limit, report)
                self._recovered(db)  # after the attempts were written down too: a no-op write can land on a full disk
            except StorageUnavailable as exc:
                self._stopped(exc)
            report.in_flight = len(self._in_flight)
            report.held_by_storage = self.fault is not None
        return report

    def hold_for_storage(self, exc: StorageUnavailable, *, said: bool = False) -> None:
        """Stop sending because the database is unusable (e.g. the file was deleted); said once (here unless
        the caller `said` it already)."""
        with self._lock:
            if said:
                self.fault = self.fault or exc
            self._stopped(exc)

    def close(self, db: Database | None = None, grace: float | None = None) -> None:
        """Wait for sends in flight (each is bounded by the client's timeout, and all by `grace` seconds when
        given), then write their outcomes. A send still unanswered after `grace` is handed back: its row stays
        pending and the next start settles it."""
        if self._pool is not None:
            if grace is not None:
                with self._lock:
                    pending = list(self._in_flight.values())
                _, unanswered = futures_wait(pending, timeout=grace)
                if unanswered:
                    log.warning("stopping: %d alert send(s) still unanswered are handed back", len(unanswered))
            self._pool.shutdown(wait=grace is None, cancel_futures=True)
        if db is not None:
            with self._lock:
                self._collect()
                try:
                    self._record_all(db, DeliveryReport())
                except StorageUnavailable as exc:
                    self._stopped(exc)
        if self._unrecorded:
            log.error(
                "stopping with %d alert(s) Slack accepted but the database could not record; "
                "they may be posted again on the next start",
                len(self._unrecorded),
            )

    # ── storage faults: stop once, resume once ──
    def _stopped(self, exc: StorageUnavailable) -> None:
        if self.fault is None:
            log.error("alert delivery paused: %s. Fix: %s. Nothing is re-posted meanwhile.", exc.problem, exc.fix)
        self.fault = exc

    def _recovered(self, db: Database) -> None:
        if self.fault is not None:
            log.info("the database takes writes again; alert delivery resumes")
            self.fault = None

    # ── sending ──
    def _start_due(
        self,
        db: Database,
        now: datetime,
        started: float,
        tz: tzinfo,
        default_channel: str | None,
        limit: int,
        report: DeliveryReport,
    ) -> None:
        held = {row["target"]: parse_stamp(row["probe_at"]) for row in blocks.blocked_targets(db)}
        postponed: dict[str, list[int]] = {}
        mutes = ownership.active_mutes(db, now)  # sources an admin muted: their alerts wait, recorded, until then
        muted: dict[datetime, list[int]] = {}
        for alert in outbox.due_heads(db, now, PER_TARGET, limit):
            if alert.get("source_id") in mutes:
                muted.setdefault(mutes[alert["source_id"]], []).append(alert["id"])
                report.deferred += 1
                continue
            fan_out(db, alert, now)
            target = target_of(alert, default_channel)
            key = target or NO_CHANNEL
            if key in held and held[key] > now:
                postponed.setdefault(key, []).append(alert["id"])  # out of the due set, so it starves no one
                report.deferred += 1
                continue
            if key in self._in_flight or not self.pacer.ready(key, now):
                report.deferred += 1
                continue
            message = compose_alert(db, alert, tz)
            if message is None:
                outbox.mark_failed(db, alert["id"], now, "nothing left to say (what it refers to was removed)")
                report.failed += 1
                continue
            previous = alert.get("attempt_started_at")  # an attempt whose answer never got written down
            attempts.begin_attempt(db, alert["id"], now)  # counted before the post goes out
            alert = {**alert, "attempt_started_at": previous or stamp(now), "previous_attempt": previous}
            if self._pool is None:
                outcome = self._send(db, alert, key, message, target, now, started)
                if outcome.problem is None:  # a failed row does not use up its target's turn in this run
                    self.pacer.posted(key, now)
                self._unrecorded.append(outcome)
                self._record_all(db, report)
                if key in held and self.fault is None:
                    held.pop(key, None)
                if self.fault is not None:
                    return
                blocked = blocks.blocked_targets(db)
                held.update({row["target"]: parse_stamp(row["probe_at"]) for row in blocked})
            else:
                self.pacer.posted(key, now)
                self._in_flight[key] = self._pool.submit(
                    self._send_on_worker, db, alert, key, message, target, now, started
                )
        if postponed or muted:
            with transaction(db):
                for key, alert_ids in postponed.items():
                    blocks.postpone_alerts(db, alert_ids, held.get(key, now))
                for until, alert_ids in muted.items():
                    blocks.postpone_alerts(db, alert_ids, until)

    def _send_on_worker(
        self,
        db: Database,
        alert: dict[str, Any],
        key: str,
        message: Reply,
        target: str | None,
        now: datetime,
        started: float,
    ) -> Outcome:
        """`_send` on a pool thread, with that thread's own database connection (DMs look people up); what
        Slack said is written down at once, so a bot killed a moment later does not post it again."""
        worker_db = self.worker_db() if self.worker_db else db
        outcome = self._send(worker_db, alert, key, message, target, now, started)
        with suppress(StorageUnavailable):  # if so, kept in memory: the delivery run writes it first once it can
            outcome.recorded = self._record(worker_db, outcome)
        return outcome

    def _send(
        self,
        db: Database,
        alert: dict[str, Any],
        key: str,
        message: Reply,
        target: str | None,
        now: datetime,
        started: float,
    ) -> Outcome:
        """One Slack call; the answer's time is `now` plus the time spent, so Retry-After counts from it."""
        finish: Callable[[Database], None] | None = None
        found = unsure = False
        try:
            unsure = True  # a failed look leaves the row to be looked for again
            ts = self._find(db, alert, key, target)
            unsure, found = False, ts is not None
            if ts is None:
                ts = self.sink.send(db, alert, message, target)
            problem: DeliveryProblem | None = None
        except PostedUnrecorded as posted:  # Slack has it: a success, whatever the disk says
            ts, problem, finish = posted.ts, None, posted.finish
        except StorageUnavailable:  # before anything was posted (a DM's recipient could not be noted)
            raise
        except Exception as exc:
            try:
                problem = classify(exc, key)
            except Exception:
                log.exception("alert #%s to %s: unexpected error while sending", alert["id"], key)
                problem = Transient(f"unexpected error while sending: {exc!r}")
            ts = None
        answered = now + timedelta(seconds=self.monotonic() - started)
        if isinstance(problem, RateLimited):
            self.pacer.hold(key, rate_limited_until(answered, problem.retry_after))
        unsure = unsure or isinstance(problem, Transient)  # a timeout or a 5xx may hide a post that landed
        return Outcome(alert, key, answered, ts, problem, finish, found=found, unsure=unsure)

    def _find(self, db: Database, alert: dict[str, Any], key: str, target: str | None) -> str | None:
        """The ts of this row's post if an earlier attempt, whose answer was never written down (the bot was
        killed mid-post), reached Slack after all; None when there was no such attempt or nothing is there."""
        previous = alert.get("previous_attempt")
        if not previous:
            return None
        since = parse_stamp(str(previous)) - LOOKBACK_MARGIN
        found = self.sink.find_posted(db, alert, target, since)
        if found is None:
            log.info("alert #%s to %s: an earlier attempt left no post; posting it now", alert["id"], key)
            return None
        log.warning(
            "alert #%s to %s was posted by an attempt whose answer was not recorded (ts %s); marked sent, "
            "not posted again",
            alert["id"],
            key,
            found[1],
        )
        return found[1]

    def _collect(self) -> None:
        """Move finished sends to the outcomes to record (a sink's own storage fault stops delivery)."""
        for key, future in list(self._in_flight.items()):
            if not future.done():
                continue
            del self._in_flight[key]
            try:
                self._unrecorded.append(future.result())
            except StorageUnavailable as exc:  # e.g. remembering a DM's Slack id; the post was not made
                self._stopped(exc)
            except Exception:  # pragma: no cover - _send classifies everything else
                log.exception("alert to %s: the send failed unexpectedly", key)

    # ── recording ──
    def _record_all(self, db: Database, report: DeliveryReport) -> None:
        """Write each outcome, oldest first; one that cannot be written stays for the next run."""
        while self._unrecorded:
            outcome = self._unrecorded[0]
            counted = outcome.recorded or self._record(db, outcome)
            setattr(report, counted, getattr(report, counted) + 1)
            self._unrecorded.pop(0)
            if outcome.recorded is None:
                self._recovered(db)

    def _record(self, db: Database, outcome: Outcome) -> str:
        """Write one outcome; returns the DeliveryReport field it counts under."""
        alert, key, now, problem = outcome.alert, outcome.key, outcome.answered, outcome.problem
        alert_id = alert["id"]
        if problem is None:
            with transaction(db):
                outbox.mark_sent(db, alert_id, now, outcome.ts)
                if outcome.finish is not None:
                    outcome.finish(db)
                recovered = blocks.clear_block(db, key)
            if recovered:
                log.info("alerts to %s are delivered again", key)
            return "sent"
        elif isinstance(problem, RateLimited):
            # due again exactly when the hold ends, so the limited row still goes before the ones queued after it
            until = rate_limited_until(now, problem.retry_after)
            outbox.mark_retry(db, alert_id, until, timedelta(0), problem.error, answered=not outcome.unsure)
            log.warning(
                "Slack rate-limited posts to %s; holding them for %gs as Retry-After asks", key, problem.retry_after
            )
            return "retried"
        elif isinstance(problem, Transient):
            delay = backoff(int(alert["attempts"]))
            outbox.mark_retry(db, alert_id, now, delay, problem.error, answered=not outcome.unsure)
            log.warning("alert #%s to %s: %s; retrying in %ds", alert_id, key, problem.error, delay.total_seconds())
            return "retried"
        elif isinstance(problem, Blocked):
            probe_at = now + PROBE_EVERY
            with transaction(db):
                outbox.mark_retry(db, alert_id, now, PROBE_EVERY, problem.error, answered=not outcome.unsure)
                first = blocks.block_target(db, key, problem.error, problem.fix, now, probe_at)
            if first:  # one clear line, not one per alert per run
                log.error(
                    "alerts to %s are held: Slack says %s. Fix: %s. (Trying one again every %d minutes.)",
                    key,
                    problem.error,
                    problem.fix,
                    PROBE_EVERY.seconds // 60,
                )
            return "blocked"
        else:
            assert isinstance(problem, Undeliverable | DeliveryProblem)
            outbox.mark_failed(db, alert_id, now, problem.error)
            fix = f" ({problem.fix})" if problem.fix else ""
            log.error("alert #%s to %s dropped: %s%s", alert_id, key, problem.error, fix)
            return "failed"


def deliver_alerts(
    db: Database,
    sink: Sink,
    now: datetime,
    *,
    tz: tzinfo,
    default_channel: str | None,
    pacer: Pacer | None = None,
    limit: int = 500,
    monotonic: Callable[[], float] = time.monotonic,
) -> DeliveryReport:
    """One synchronous delivery run (terminal mode, tests): every due row whose target is free, sent and
    recorded before it returns. Call it again to continue."""
    delivery = Delivery(sink, pacer=pacer, monotonic=monotonic)
    return delivery.run(db, now, tz=tz, default_channel=default_channel, limit=limit)
