"""Where alerts cannot go: a channel the bot is not in, a deleted channel, a missing scope.

A blocked target is recorded once, shown to admins (`/whisperer sources`, `whisperer doctor`) and probed
now and then with a single alert, instead of every alert failing on every delivery run.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from storage.database import Database
from storage.db import stamp
from storage.watching.sources import Row, _rows


def block_target(db: Database, target: str, error: str, fix: str, now: datetime, probe_at: datetime) -> bool:
    """Record that `target` refuses alerts; True if it was not blocked before (the moment to log it)."""
    cursor = db.execute(
        """INSERT INTO delivery_blocks (target, error, fix, since, probe_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT(target) DO NOTHING""",
        [target, error, fix, stamp(now), stamp(probe_at)],
    )
    if cursor.rowcount > 0:
        return True
    db.execute(
        """UPDATE delivery_blocks SET error = ?, fix = ?, probe_at = ?, attempts = attempts + 1
           WHERE target = ?""",
        [error, fix, stamp(probe_at), target],
    )
    return False


def clear_block(db: Database, target: str) -> bool:
    """The target accepted an alert again; True if it had been blocked."""
    return db.execute("DELETE FROM delivery_blocks WHERE target = ?", [target]).rowcount > 0


def clear_blocks(db: Database, now: datetime) -> int:
    """Forget every block and make held alerts due now: a fresh start or a reload tries each target again."""
    db.execute(
        "UPDATE alerts SET next_attempt_at = ? WHERE status = 'pending' AND next_attempt_at > ?", [stamp(now)] * 2
    )
    return int(db.execute("DELETE FROM delivery_blocks").rowcount)


def postpone_alerts(db: Database, alert_ids: Iterable[int], until: datetime) -> None:
    """Hold pending alerts (for a blocked target) until `until`, without counting an attempt."""
    db.conn.executemany(
        "UPDATE alerts SET next_attempt_at = ? WHERE id = ? AND status = 'pending'",
        [(stamp(until), alert_id) for alert_id in alert_ids],
    )


def blocked_targets(db: Database) -> list[Row]:
    return _rows(db, "SELECT * FROM delivery_blocks ORDER BY since, target")
