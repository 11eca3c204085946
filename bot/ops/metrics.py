"""Prometheus metrics (prometheus_client, a registry of our own): counters the process keeps, and gauges read from
the database when scraped. Every name starts `whisperer_`, values are in base units (seconds, bytes), and no
label is unbounded: outcomes are fixed words, and `source` is one of the configured sources.

prometheus_client is imported here only, and this module only by `run` and `poll --metrics-file`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    disable_created_metrics,
    generate_latest,
    write_to_textfile,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot import __version__
from storage.database import Database
from storage.db import StorageUnavailable
from storage.ops.health import last_successes, outbox_depth

log = logging.getLogger("whisperer.metrics")

# What one source check can end as (watchers/poll.py Outcome.status); the series exist from the start at 0.
POLL_OUTCOMES = ("changed", "unchanged", "not_modified", "new", "error", "logged_out", "held", "stale", "skipped")
# What the delivery loop reports per alert (bot/delivery/outbox.py DeliveryReport).
ALERT_OUTCOMES = ("sent", "retried", "failed", "blocked")
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """One process's metrics. `db` gives a connection for the gauges read at scrape time (None: cron mode)."""

    def __init__(self, database: Path, db: Callable[[], Database] | None = None) -> None:
        self.database = database
        self.db = db
        disable_created_metrics()  # type: ignore[no-untyped-call]  # no `_created` series: they double the output and no dashboard uses them
        self.registry = CollectorRegistry(auto_describe=True)
        self.poll_runs = Counter(
            "whisperer_poll_runs",
            "Source checks, by outcome (one per source per poll)",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in POLL_OUTCOMES:
            self.poll_runs.labels(outcome)
        self.poll_duration = Histogram(
            "whisperer_poll_duration_seconds",
            "Time one poll took, from the first fetch to the last write",
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.last_poll = Gauge(
            "whisperer_last_poll_timestamp_seconds", "When the last poll finished (Unix time)", registry=self.registry
        )
        self.alerts = Counter(
            "whisperer_alerts_sent", "Alert deliveries, by outcome", ["outcome"], registry=self.registry
        )
        for outcome in ALERT_OUTCOMES:
            self.alerts.labels(outcome)
        self.missed = Counter(
            "whisperer_scheduler_missed_jobs",
            "Scheduled runs skipped because they were too late (misfire grace passed)",
            registry=self.registry,
        )
        build = Info("whisperer_build", "The running release", registry=self.registry)
        build.info({"version": __version__, "python": platform.python_version()})
        self._successes: dict[str, float] = {}  # in-process memory, for sources failing since a success we saw
        self._lock = threading.Lock()
        self.registry.register(_DatabaseGauges(self))

    # ── what the process reports ──
    def polled(self, outcomes: Sequence[Any], seconds: float, now: datetime) -> None:
        """Count one poll's outcomes (objects with `.status` and `.source_id`) and its duration."""
        self.poll_duration.observe(seconds)
        self.last_poll.set(now.timestamp() + seconds)
        for outcome in outcomes:
            status = outcome.status if outcome.status in POLL_OUTCOMES else "unchanged"
            self.poll_runs.labels(status).inc()
            if status not in ("error", "logged_out", "stale"):
                with self._lock:
                    self._successes[outcome.source_id] = now.timestamp()

    def delivered(self, report: Any) -> None:
        for outcome in ALERT_OUTCOMES:
            count = int(getattr(report, outcome, 0) or 0)
            if count:
                self.alerts.labels(outcome).inc(count)

    def missed_job(self) -> None:
        self.missed.inc()

    # ── output ──
    def text(self) -> bytes:
        return generate_latest(self.registry)

    def write_textfile(self, path: Path) -> None:
        """The node_exporter textfile collector's format, written atomically (a temp file, then a rename)."""
        write_to_textfile(str(path), self.registry)

    def successes(self, from_db: dict[str, datetime | None]) -> Iterator[tuple[str, float]]:
        with self._lock:
            memory = dict(self._successes)
        for source_id, when in from_db.items():
            value = when.timestamp() if when is not None else memory.get(source_id)
            if value is not None:
                yield source_id, value


class _DatabaseGauges(Collector):
    """Gauges read from the database at scrape time: outbox depth, size on disk, each source's last success."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def describe(self) -> Iterable[Metric]:
        return []  # the families vary with the database; describing none keeps registration cheap

    def collect(self) -> Iterable[Metric]:
        size = GaugeMetricFamily("whisperer_database_size_bytes", "The database file with its WAL, on disk")
        size.add_metric([], float(_size(self.metrics.database)))
        yield size
        if self.metrics.db is None:
            return
        try:
            db = self.metrics.db()
            depth = outbox_depth(db)
            successes = last_successes(db)
        except StorageUnavailable as exc:
            log.debug("metrics without the database gauges: %s", exc)
            return
        outbox = GaugeMetricFamily("whisperer_outbox_depth", "Alerts waiting to be posted")
        outbox.add_metric([], float(depth))
        yield outbox
        last = GaugeMetricFamily(
            "whisperer_source_last_success_timestamp_seconds",
            "When each watched source was last checked successfully (Unix time)",
            labels=["source"],
        )
        for source_id, value in self.metrics.successes(successes):
            last.add_metric([source_id], value)
        yield last


def _size(database: Path) -> int:
    total = 0
    for suffix in ("", "-wal"):
        with contextlib.suppress(OSError):
            total += os.stat(f"{database}{suffix}").st_size
    return total
