"""Thresholds in force: a configured number, or the one last read from the page it follows, and where it came from."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, tzinfo

from handlers.settings import Kpi
from handlers.watch.changes import when
from storage.database import Database
from storage.db import parse_stamp
from storage.watching import changes as store
from storage.watching import facts as kept
from storage.watching import sources as state
from watchers.facts.follow import Follow, read_followed


@dataclass(frozen=True)
class InForce:
    value: float
    follow: Follow | None = None
    read_at: str | None = None  # None: the configured number (the page not read yet, or nothing followed)
    raw: str = ""
    before: float | None = None  # the value read before this one: the history in one number

    def provenance(self, tz: tzinfo, configured: float) -> str:
        """ "read from cross-cloud-policy on 2026-11-26 12:00 ('at least 25% year on year')" """
        if self.follow is None:
            return ""
        if self.read_at is None:
            return f"configured {configured:g}, until {self.follow.source} has been read"
        was = f"; was {self.before:g} before" if self.before is not None and self.before != self.value else ""
        return f"read from {self.follow.source} on {when(self.read_at, tz)} ('{self.raw}'{was})"


def in_force(db: Database, follow: Follow | None, configured: float, now: datetime) -> InForce:
    if follow is None:
        return InForce(configured)
    history = kept.threshold_history(db, follow.source, follow.pattern, limit=2, now=now)
    if not history:
        return _from_snapshot(db, follow, configured, now)
    row = history[0]
    before = float(history[1]["value"]) if len(history) > 1 else None
    return InForce(float(row["value"]), follow, str(row["read_at"]), str(row["raw"]), before)


def _from_snapshot(db: Database, follow: Follow, configured: float, now: datetime) -> InForce:
    """Followed since the page last changed: its stored snapshot says the number (nothing is written here)."""
    source = state.get_source(db, follow.source)
    checked = str(source.get("last_checked") or "") if source else ""
    if source is None or not checked or parse_stamp(checked) > now:
        return InForce(configured, follow)
    found = read_followed(follow, store.get_snapshot(db, source.get("last_hash")) or "")
    if found is None:
        return InForce(configured, follow)
    return InForce(found[0], follow, checked, found[1])


def kpi_in_force(db: Database, kpi: Kpi, now: datetime) -> tuple[Kpi, InForce]:
    """The KPI with its followed bound (min, else max) replaced by the value read from the page."""
    configured = kpi.min if kpi.min is not None else (kpi.max or 0.0)
    found = in_force(db, kpi.follow, configured, now)
    if kpi.follow is None or found.read_at is None:
        return kpi, found
    return (replace(kpi, min=found.value) if kpi.min is not None else replace(kpi, max=found.value)), found
