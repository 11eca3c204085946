"""The one scheduler (APScheduler 3.x, BackgroundScheduler): poll jobs, alert delivery, housekeeping, extras.

Every poll job has its source's `every`, a little jitter, `coalesce` and a misfire grace of one interval: a
laptop waking after a night asleep polls each source once, not once per missed slot. Jobs follow the
sources: `sync_jobs` adds, removes and reschedules them, and runs on start-up, on reload (SIGHUP), after
`/whisperer source …` and once a minute (so a `whisperer ask "source add …"` elsewhere is picked up too).

Features add their own timed work through `ExtraJob` (see `daily`, `register_job`), e.g. the daily
reminder sweep: `register_job(daily("reminders", sweep, at=time(9, 0)))`, where `sweep(runtime, now)`.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, TextIO

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import Config, ConfigError, load_config
from bot.connections import Connections
from bot.delivery import Pacer, deliver_alerts
from bot.runtime import Runtime, active_sources, poll, sync_config_sources
from bot.sinks import Sink
from storage import delivery as blocks
from storage import sources as state
from storage.db import parse_stamp, transaction
from storage.requests import forget_requests_before
from watchers.sources import SourceSpec

log = logging.getLogger("whisperer.scheduler")

DELIVERY_EVERY = 1.0  # seconds; with one post per channel per run this paces posts to ~1/s per channel
HOUSEKEEPING_EVERY = 60
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
    ) -> None:
        self.connections = connections
        self.sink = sink
        self.clock = clock
        self.extra_jobs = tuple(extra_jobs)
        self.delivery_every = delivery_every
        self.pacer = Pacer()
        self._every: dict[str, int] = {}
        self._sync_lock = threading.Lock()
        self._scheduler = BackgroundScheduler(
            timezone=connections.base.config.bot.tz,
            executors={"default": ThreadPoolExecutor(max_workers=workers)},
            job_defaults={"coalesce": True, "max_instances": 1},
        )

    # ── lifecycle ──
    def start(self) -> None:
        self._scheduler.add_job(
            self.deliver_job, IntervalTrigger(seconds=self.delivery_every), id="deliver", misfire_grace_time=30
        )
        self._scheduler.add_job(
            self.housekeeping_job, IntervalTrigger(seconds=HOUSEKEEPING_EVERY), id="housekeeping", misfire_grace_time=60
        )
        self._add_extra_jobs(self.connections.base.config)
        self.sync_jobs()
        self._scheduler.start()
        log.info("scheduler started: %d sources, %d extra jobs", len(self._every), len(self.extra_jobs))

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)

    def job_ids(self) -> list[str]:
        return sorted(job.id for job in self._scheduler.get_jobs())

    def job(self, job_id: str) -> Any:
        return self._scheduler.get_job(job_id)

    # ── what runs ──
    def poll_job(self, source_id: str) -> None:
        runtime = self.connections.runtime()
        for outcome in poll(runtime, self.clock(), [source_id], origin="schedule"):
            if outcome.status == "changed":
                log.info("%s changed: %s", source_id, "; ".join(outcome.summaries))
            elif outcome.status == "error":
                log.warning("%s failed (%d in a row): %s", source_id, outcome.failures, outcome.error)
            elif outcome.status == "logged_out":
                log.warning("%s: session expired (%s)", source_id, outcome.error)

    def deliver_job(self) -> None:
        runtime = self.connections.runtime()
        deliver_alerts(
            runtime.db,
            self.sink,
            self.clock(),
            tz=runtime.config.bot.tz,
            default_channel=runtime.config.bot.alerts_channel,
            pacer=self.pacer,
        )

    def housekeeping_job(self) -> None:
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
        extra.run(self.connections.runtime(), self.clock())

    def reload(self) -> bool:
        """Re-read whisperer.toml (SIGHUP) and follow it; a broken file is logged and the old one kept."""
        base = self.connections.base
        if base.config.path is not None:
            try:
                base.config = load_config(base.config.path)
            except ConfigError as exc:
                log.error("reload skipped, keeping the running configuration: %s", exc)
                return False
        runtime = self.connections.runtime()
        now = self.clock()
        sync_config_sources(runtime, now)
        with transaction(runtime.db):
            blocks.clear_blocks(runtime.db, now)
        if self._scheduler.running:
            for extra in self.extra_jobs:
                self._scheduler.reschedule_job(extra.id, trigger=extra.trigger(base.config))
        changes = self.sync_jobs()
        log.info("configuration reloaded: %d sources scheduled (%s)", len(self._every), _describe(changes))
        return True


def _describe(changes: JobChanges) -> str:
    named = (("added", changes.added), ("removed", changes.removed), ("rescheduled", changes.rescheduled))
    return "; ".join(f"{word} {', '.join(ids)}" for word, ids in named if ids) or "no changes"


class RunLockError(Exception):
    pass


class RunLock:
    """Only one `whisperer run` per database: two would both deliver the same alerts.

    An advisory lock on `<database>.lock`; the kernel releases it when the process dies, even by SIGKILL.
    """

    def __init__(self, database: Path) -> None:
        self.path = Path(f"{database}.lock")
        self._handle: TextIO | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            raise RunLockError(
                f"another `whisperer run` (pid {holder}) is already using {self.path.with_suffix('')}; "
                "stop it first, or point this one at another database with WHISPERER_DB"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None
