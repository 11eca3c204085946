"""The one scheduler (APScheduler 3.x, BackgroundScheduler): poll jobs, alert delivery, housekeeping, extras.

Every poll job has its source's `every`, a little jitter, `coalesce` and a misfire grace of one interval: a
laptop waking after a night asleep polls each source once, not once per missed slot. Jobs follow the
sources: `sync_jobs` adds, removes and reschedules them, and runs on start-up, on reload (SIGHUP), after
`/whisperer source …` and once a minute (so a `whisperer ask "source add …"` elsewhere is picked up too).

Features add their own timed work through `ExtraJob` (see `daily`, `register_job`), e.g. the daily
reminder sweep: `register_job(daily("reminders", sweep, at=time(9, 0)))`, where `sweep(runtime, now)`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from time import monotonic
from typing import TYPE_CHECKING, Any

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.config.loading import Config, ConfigError, load_config
from bot.delivery.outbox import Delivery
from bot.delivery.sinks import Sink
from bot.delivery.summaries import Summariser
from bot.delivery.threads import ThreadedSink
from bot.ops.health import HEARTBEAT_EVERY, Heartbeat
from bot.ops.logs import log_context
from bot.process.connections import Connections
from bot.process.lock import RunLock, RunLockError
from bot.process.runtime import Runtime, active_sources, poll, sync_config_sources
from storage.db import FileIdentity, StorageUnavailable, lost_database, parse_stamp, stamp, transaction
from storage.outbox import alerts as outbox
from storage.outbox import delivery as blocks
from storage.outbox.requests import forget_requests_before
from storage.watching import sources as state
from watchers.sources import SourceSpec

if TYPE_CHECKING:
    from bot.ops.metrics import Metrics  # prometheus_client loads only when `run` builds the metrics

log = logging.getLogger("whisperer.scheduler")

DELIVERY_EVERY = 1.0  # seconds; with one post per channel per run this paces posts to ~1/s per channel
DELIVERY_WORKERS = 4  # Slack calls in flight at once, each to a different target
HOUSEKEEPING_EVERY = 60
SUMMARY_EVERY = 2.0  # seconds between looks for new diffs to summarise ([summary] only)
REQUEST_MEMORY = timedelta(days=1)  # Slack retries within minutes; a day of request keys is plenty


def real_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ExtraJob:
    """A job a feature adds to the one scheduler: `run(runtime, now)` whenever `trigger(config)` fires."""

    id: str
    run: Callable[[Runtime, datetime], object]
    trigger: Callable[[Config], Any]  # an APScheduler trigger, rebuilt from the config on every reload
    misfire_grace: int = 6 * 3600  # a sweep missed while the laptop slept still runs, once, on waking


def daily(job_id: str, run: Callable[[Runtime, datetime], object], at: time) -> ExtraJob:
    """A job once a day at `at`, in the team's timezone ([bot] timezone)."""
    return ExtraJob(job_id, run, lambda config: CronTrigger(hour=at.hour, minute=at.minute, timezone=config.bot.tz))


EXTRA_JOBS: list[ExtraJob] = []


def register_job(job: ExtraJob) -> ExtraJob:
    """Add a job to every `whisperer run` (call at import time of the feature's module)."""
    EXTRA_JOBS[:] = [j for j in EXTRA_JOBS if j.id != job.id] + [job]
    return job


def jitter_for(every: int) -> int | None:
    """Spread polls of many sources: up to a tenth of the interval, at most five minutes."""
    return min(every // 10, 300) or None


@dataclass
class JobChanges:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    rescheduled: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.rescheduled)


class Scheduler:
    """Owns the BackgroundScheduler; every job gets its own thread's database via `connections`."""

    def __init__(
        self,
        connections: Connections,
        sink: Sink,
        *,
        clock: Callable[[], datetime] = real_now,
        extra_jobs: Sequence[ExtraJob] = (),
        delivery_every: float = DELIVERY_EVERY,
        workers: int = 4,
        delivery_workers: int = DELIVERY_WORKERS,
        database: FileIdentity | None = None,
        heartbeat: Heartbeat | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.connections = connections
        self.heartbeat = heartbeat  # beaten every HEARTBEAT_EVERY s on its own thread: /livez and the watchdog
        self.metrics = metrics
        self.sink = sink
        self.clock = clock
        self.extra_jobs = tuple(extra_jobs)
        self.delivery_every = delivery_every
        self.delivery = Delivery(sink, workers=delivery_workers, worker_db=connections.db)
        self.database = database  # the file opened at start; jobs stop if it is deleted or replaced
        self.lost: StorageUnavailable | None = None
        self.summariser: Summariser | None = None  # [summary], started with the scheduler
        self._fault: str | None = None  # the storage problem last logged by a job, so it is said once
        self._every: dict[str, int] = {}
        self._sync_lock = threading.Lock()
        self._fault_lock = threading.Lock()
        self._scheduler = BackgroundScheduler(
            timezone=connections.base.config.bot.tz,
            # the heartbeat has a thread of its own: busy poll workers must not make the process look dead
            executors={"default": ThreadPoolExecutor(max_workers=workers), "heartbeat": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1},
        )

    # ── lifecycle ──
    def start(self) -> None:
        # Delivery returns at once (Slack calls run on its own pool), so its runs do not overlap; a tick it
        # misses anyway (a long database lock) is skipped, and APScheduler's warning about that is muted below.
        self._scheduler.add_job(
            self.deliver_job, IntervalTrigger(seconds=self.delivery_every), id="deliver", misfire_grace_time=1
        )
        self._scheduler.add_job(
            self.housekeeping_job, IntervalTrigger(seconds=HOUSEKEEPING_EVERY), id="housekeeping", misfire_grace_time=60
        )
        if self.heartbeat is not None:
            self.heartbeat.beat()
            self._scheduler.add_job(
                self.heartbeat.beat,
                IntervalTrigger(seconds=HEARTBEAT_EVERY),
                id="heartbeat",
                executor="heartbeat",
                misfire_grace_time=int(HEARTBEAT_EVERY),
            )
        if self.metrics is not None:
            self._scheduler.add_listener(self._missed, EVENT_JOB_MISSED)
        _mute_skipped_ticks()
        config = self.connections.base.config
        if config.summary is not None:  # its own job: a slow endpoint never holds up delivery
            self.summariser = Summariser(config.summary, config.fetch.network)
            self._scheduler.add_job(
                self.summary_job, IntervalTrigger(seconds=SUMMARY_EVERY), id="summaries", misfire_grace_time=10
            )
        self._add_extra_jobs(self.connections.base.config)
        self.sync_jobs()
        self._scheduler.start()
        log.info("scheduler started: %d sources, %d extra jobs", len(self._every), len(self.extra_jobs))

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def _missed(self, event: JobExecutionEvent) -> None:
        if self.metrics is not None:
            self.metrics.missed_job()

    def shutdown(self, wait: bool = True, grace: float | None = None) -> None:
        """Stop the jobs; with `wait` False, polls in flight are abandoned (nothing of theirs is half-written:
        a poll records each source in one transaction) so a SIGTERM is not held up by a slow fetch."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)
        if self.summariser is not None:
            self.summariser.close()
        # sends in flight end within the client's timeout; what Slack said is written down before we go
        db: Any = None
        if self.lost is None:
            try:
                db = self.connections.db()
            except StorageUnavailable:
                db = None
        self.delivery.close(db, grace)

    def job_ids(self) -> list[str]:
        return sorted(job.id for job in self._scheduler.get_jobs())

    def job(self, job_id: str) -> Any:
        return self._scheduler.get_job(job_id)

    # ── what runs ──
    def _database_ok(self) -> bool:
        """False (said once) while the database file opened at start is gone or replaced: jobs then do nothing,
        rather than write into a deleted file or let SQLite start a new, empty history."""
        if self.database is None:
            return True
        lost = lost_database(self.database.path, self.database)
        with self._fault_lock:
            if lost is not None and self.lost is None:
                log.error("%s: %s. Polls and alert delivery are stopped. Fix: %s", lost.path, lost.problem, lost.fix)
                self.delivery.hold_for_storage(lost, said=True)
            elif lost is None and self.lost is not None:
                log.info("the database file %s is back; polls and alert delivery resume", self.database.path)
            self.lost = lost
        return lost is None

    def _guarded(self, job: Callable[[], object]) -> None:
        """Run a job unless the database is lost; a storage fault is one log line, not a traceback per tick."""
        if not self._database_ok():
            return
        try:
            job()
        except StorageUnavailable as exc:
            with self._fault_lock:
                if self._fault != exc.problem:
                    log.error("the database cannot record new work: %s. Fix: %s", exc, exc.fix)
                self._fault = exc.problem
            return
        if self._fault is not None:
            with self._fault_lock:
                if self._fault is not None:
                    log.info("the database takes writes again")
                self._fault = None

    def poll_job(self, source_id: str) -> None:
        with log_context(source=source_id, job=f"poll:{source_id}"):
            self._guarded(lambda: self._poll(source_id))

    def _poll(self, source_id: str) -> None:
        runtime = self.connections.runtime()
        now = self.clock()
        started = monotonic()
        outcomes = poll(runtime, now, [source_id], origin="schedule")
        if self.metrics is not None:
            self.metrics.polled(outcomes, monotonic() - started, now)
        for outcome in outcomes:
            if outcome.status == "changed":
                log.info("%s changed: %s", source_id, "; ".join(outcome.summaries))
            elif outcome.status == "error":
                log.warning("%s failed (%d in a row): %s", source_id, outcome.failures, outcome.error)
            elif outcome.status == "logged_out":
                log.warning("%s: session expired (%s)", source_id, outcome.error)

    def deliver_job(self) -> None:
        if not self._database_ok():
            return
        try:
            runtime = self.connections.runtime()
        except StorageUnavailable as exc:
            self.delivery.hold_for_storage(exc)
            return
        # Delivery says its own storage faults, once, and resumes by itself.
        report = self.delivery.run(
            runtime.db, self.clock(), tz=runtime.config.bot.tz, default_channel=runtime.config.bot.alerts_channel
        )
        if self.metrics is not None:
            self.metrics.delivered(report)

    def summary_job(self) -> None:
        self._guarded(self._summarise)

    def _summarise(self) -> None:
        if self.summariser is None:
            return
        updater = self.sink if isinstance(self.sink, ThreadedSink) else None
        self.summariser.run(self.connections.db(), self.clock(), updater)

    def housekeeping_job(self) -> None:
        self._guarded(self._housekeeping)

    def _housekeeping(self) -> None:
        self.sync_jobs()
        db = self.connections.db()
        with transaction(db):
            forget_requests_before(db, self.clock() - REQUEST_MEMORY)

    # ── keeping jobs in step with the sources ──
    def sync_jobs(self) -> JobChanges:
        """Make the poll jobs match the active sources (config + Slack − paused); idempotent."""
        with self._sync_lock:
            runtime = self.connections.runtime()
            wanted = {spec.id: spec for spec in active_sources(runtime)}
            changes = JobChanges()
            for source_id in sorted(set(self._every) - set(wanted)):
                self._scheduler.remove_job(f"poll:{source_id}")
                del self._every[source_id]
                changes.removed.append(source_id)
            now = self.clock()
            for source_id, spec in sorted(wanted.items()):
                if self._every.get(source_id) == spec.every:
                    continue
                first = self._first_run(runtime, spec, now)
                trigger = IntervalTrigger(seconds=spec.every, start_date=first, jitter=jitter_for(spec.every))
                job_id = f"poll:{source_id}"
                if source_id in self._every:
                    self._scheduler.reschedule_job(job_id, trigger=trigger)
                    self._scheduler.modify_job(job_id, misfire_grace_time=spec.every)
                    changes.rescheduled.append(source_id)
                else:
                    self._scheduler.add_job(
                        self.poll_job, trigger, args=[source_id], id=job_id, misfire_grace_time=spec.every
                    )
                    changes.added.append(source_id)
                self._every[source_id] = spec.every
            if changes:
                log.info(
                    "poll jobs: +%d −%d ~%d (%d sources scheduled)",
                    len(changes.added),
                    len(changes.removed),
                    len(changes.rescheduled),
                    len(self._every),
                )
            return changes

    def _first_run(self, runtime: Runtime, spec: SourceSpec, now: datetime) -> datetime:
        """When a source was last checked decides its next check, so a restart does not poll everything."""
        row = state.get_source(runtime.db, spec.id)
        soon = now + timedelta(seconds=1)
        if row is None or not row["last_checked"]:
            return soon
        return max(soon, parse_stamp(row["last_checked"]) + timedelta(seconds=spec.every))

    def _add_extra_jobs(self, config: Config) -> None:
        for extra in self.extra_jobs:
            self._scheduler.add_job(
                self._run_extra,
                extra.trigger(config),
                args=[extra],
                id=extra.id,
                misfire_grace_time=extra.misfire_grace,
                replace_existing=True,
            )

    def _run_extra(self, extra: ExtraJob) -> None:
        with log_context(job=extra.id):
            self._guarded(lambda: extra.run(self.connections.runtime(), self.clock()))

    def reload(self) -> bool:
        """Re-read whisperer.toml (SIGHUP) and follow it; a broken file is logged and the old one kept."""
        base = self.connections.base
        now = self.clock()
        if base.config.path is not None:
            try:
                config = load_config(base.config.path)
            except ConfigError as exc:
                log.error("reload skipped, keeping the running configuration: %s", exc)
                return False
            if not self._reload_keeps_a_source(config, now):
                return False
            base.config = config
        runtime = self.connections.runtime()
        sync_config_sources(runtime, now)
        with transaction(runtime.db):
            blocks.clear_blocks(runtime.db, now)
        if self._scheduler.running:
            for extra in self.extra_jobs:
                self._scheduler.reschedule_job(extra.id, trigger=extra.trigger(base.config))
        changes = self.sync_jobs()
        log.info("configuration reloaded: %d sources scheduled (%s)", len(self._every), _describe(changes))
        if changes.removed:
            where = base.config.path or "the configuration"
            log.warning("the reload stopped watching %s (no longer in %s)", ", ".join(changes.removed), where)
        return True

    def _reload_keeps_a_source(self, config: Config, now: datetime) -> bool:
        """Refuse a reload that would leave nothing to watch (an emptied or truncated file, most likely):
        keep the running configuration, log why and tell the alerts channel once."""
        runtime = self.connections.runtime()
        running = [spec.id for spec in active_sources(runtime)]
        if not running or active_sources(replace(runtime, config=config)):
            return True
        where = config.path or "the configuration file"
        log.error(
            "reload refused: %s has no [[sources]] left, which would stop watching all %d (%s); "
            "keeping the running configuration. Fix: restore the [[sources]] entries, then reload again "
            "(to really stop watching everything, stop the bot)",
            where,
            len(running),
            ", ".join(running),
        )
        text = (
            f"Configuration reload refused: {where} lists no sources, which would stop watching all "
            f"{len(running)} ({', '.join(running)}). Still running with the previous configuration. "
            "An admin can restore the [[sources]] entries and reload again."
        )
        try:
            with transaction(runtime.db):
                outbox.enqueue_alert(runtime.db, f"reload-refused:{stamp(now)}", "notice", {"text": text}, now)
        except StorageUnavailable as exc:
            log.error("could not queue the notice about the refused reload: %s", exc)
        return False


def _describe(changes: JobChanges) -> str:
    named = (("added", changes.added), ("removed", changes.removed), ("rescheduled", changes.rescheduled))
    return "; ".join(f"{word} {', '.join(ids)}" for word, ids in named if ids) or "no changes"


class _SkippedTicks(logging.Filter):
    """Drop APScheduler's "maximum number of running instances reached" for the delivery tick: it returns at
    once by design, so a skip only means a database lock held it up, and the next tick does the work."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = str(record.msg)
        return not ("maximum number of running instances reached" in text and "deliver" in record.getMessage())


def _mute_skipped_ticks() -> None:
    logger = logging.getLogger("apscheduler.scheduler")
    if not any(isinstance(f, _SkippedTicks) for f in logger.filters):
        logger.addFilter(_SkippedTicks())


__all__ = ["RunLock", "RunLockError", "Scheduler"]
