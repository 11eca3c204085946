"""Retention: old snapshot bodies and old finished alerts go; changes and their diffs stay.

A snapshot body older than the cut-off is pruned unless a source still points at it (its newest, or a
result held for a second look) or a change needs it for its diff (one whose diff was not stored whole).
A pruned snapshot keeps its row (hash, size, date), so every change still names its before and after.
Space comes back a few pages at a time (incremental vacuum) when the file allows it; a full VACUUM runs
only when asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.database import Database
from storage.db import stamp, transaction

# Snapshots a source or a change still needs, whatever their age: each source's newest and a result held for a
# second look; and both snapshots of a change stored without its diff (none today: diffs are stored whole).
_NEEDED = """
    SELECT last_hash FROM sources WHERE last_hash IS NOT NULL
    UNION SELECT held_hash FROM sources WHERE held_hash IS NOT NULL
    UNION SELECT old_hash FROM changes WHERE diff = '' AND old_hash IS NOT NULL
    UNION SELECT new_hash FROM changes WHERE diff = '' AND new_hash IS NOT NULL
"""
# Each of these is served by a partial index (migration 18): nothing reads every change or alert.
_PRUNABLE = f"FROM snapshots WHERE pruned_at IS NULL AND created_at < :cutoff AND hash NOT IN ({_NEEDED})"
_FINISHED = (
    "FROM alerts INDEXED BY alerts_finished WHERE status IN ('sent', 'failed', 'superseded') AND sent_at < :cutoff"
)


@dataclass(frozen=True)
class PruneReport:
    snapshots: int = 0  # bodies pruned (or that would be)
    snapshot_bytes: int = 0
    alerts: int = 0
    alert_bytes: int = 0
    dry_run: bool = True

    @property
    def freed_bytes(self) -> int:
        return self.snapshot_bytes + self.alert_bytes


def prune(
    db: Database, now: datetime, *, snapshots_days: int | None, alerts_days: int | None, dry_run: bool = False
) -> PruneReport:
    """Prune what retention allows (None = keep forever); with `dry_run`, only count it."""
    # Pruned rows are deleted and put back, bodiless, within one transaction. SQLite would check each deleted
    # and re-inserted row against every change (changes has no index on its snapshot hashes), so the check is
    # off for this transaction: `_prune_bodies` puts every row back.
    checks = bool(db.execute("PRAGMA foreign_keys").fetchone()[0]) and not dry_run
    if checks:
        db.execute("PRAGMA foreign_keys = OFF")  # a no-op inside a transaction; prune is not called in one
    try:
        return _prune(db, now, snapshots_days, alerts_days, dry_run)
    finally:
        if checks:
            db.execute("PRAGMA foreign_keys = ON")


def _prune(
    db: Database, now: datetime, snapshots_days: int | None, alerts_days: int | None, dry_run: bool
) -> PruneReport:
    snap_cut = {"cutoff": stamp(now - timedelta(days=snapshots_days))} if snapshots_days else None
    alert_cut = {"cutoff": stamp(now - timedelta(days=alerts_days))} if alerts_days else None
    with transaction(db):
        snapshots = snapshot_bytes = alerts = alert_bytes = 0
        if snap_cut is not None:
            snapshots, snapshot_bytes = db.execute(
                f"SELECT COUNT(*), COALESCE(SUM(size), 0) {_PRUNABLE}", snap_cut
            ).fetchone()
        if alert_cut is not None:
            alerts, alert_bytes = db.execute(
                f"SELECT COUNT(*), COALESCE(SUM(LENGTH(payload) + LENGTH(key) + 64), 0) {_FINISHED}", alert_cut
            ).fetchone()
        if not dry_run:
            if snap_cut is not None and snapshots:
                _prune_bodies(db, snap_cut["cutoff"], stamp(now))
            if alert_cut is not None:
                db.execute(f"DELETE {_FINISHED}", alert_cut)
    return PruneReport(int(snapshots), int(snapshot_bytes), int(alerts), int(alert_bytes), dry_run)


def _prune_bodies(db: Database, cutoff: str, now: str) -> None:
    """Delete the prunable rows and put them back without their bodies. Emptying a body in place would leave
    each old row alone on an almost empty page (a page holds one page-sized body); deleted rows free their
    pages, and the small rows put back share pages. Every row comes back, so each change still names its
    before and after (foreign-key checks are off for this transaction, see `prune`)."""
    params = {"cutoff": cutoff, "now": now}
    db.execute("DROP TABLE IF EXISTS temp.pruned_snapshots")
    db.execute(f"CREATE TEMP TABLE pruned_snapshots AS SELECT hash, size, created_at {_PRUNABLE}", params)
    db.execute("DELETE FROM snapshots WHERE hash IN (SELECT hash FROM temp.pruned_snapshots)")
    db.execute(
        """INSERT INTO snapshots (hash, text, size, created_at, pruned_at)
           SELECT hash, '', size, created_at, :now FROM temp.pruned_snapshots""",
        params,
    )
    db.execute("DROP TABLE temp.pruned_snapshots")


@dataclass(frozen=True)
class Space:
    file_bytes: int
    free_bytes: int  # pages on the free list: reused by new writes, or given back by a vacuum
    auto_vacuum: str  # none | full | incremental


def space(db: Database) -> Space:
    page = int(db.execute("PRAGMA page_size").fetchone()[0])
    pages = int(db.execute("PRAGMA page_count").fetchone()[0])
    free = int(db.execute("PRAGMA freelist_count").fetchone()[0])
    mode = {0: "none", 1: "full", 2: "incremental"}.get(int(db.execute("PRAGMA auto_vacuum").fetchone()[0]), "?")
    return Space(page * pages, page * free, mode)


def give_back(db: Database, *, full: bool = False) -> Space:
    """Return free pages to the file system: incrementally when the file allows it; a full VACUUM (which
    rewrites the whole file, and switches an older file to incremental vacuum) only with `full`."""
    if full:
        db.execute("PRAGMA auto_vacuum = INCREMENTAL")  # takes effect with the VACUUM below
        db.execute("VACUUM")
    elif space(db).auto_vacuum == "incremental":
        # Python's execute() takes one step of this pragma (one page); executescript runs it to the end.
        db.conn.executescript("PRAGMA incremental_vacuum")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return space(db)
