"""Numbers the team reports (cloud growth, escalations, overdue bills), with their history,
and when an admin last confirmed each rebate programme's rules."""

from __future__ import annotations

from datetime import datetime

from storage.database import Database
from storage.db import stamp
from storage.watching.sources import Row, _rows


def set_metric(db: Database, name: str, value: float, now: datetime, by: str | None, note: str | None) -> int:
    cursor = db.execute(
        "INSERT INTO metrics (name, value, set_at, set_by, note) VALUES (?, ?, ?, ?, ?)",
        [name, value, stamp(now), by, note],
    )
    return int(cursor.lastrowid or 0)


def current_metrics(db: Database, now: datetime) -> dict[str, Row]:
    """Each metric's latest value as of `now` (so --as-of shows what was known then)."""
    rows = _rows(
        db,
        """SELECT m.* FROM metrics m WHERE m.id = (
               SELECT id FROM metrics WHERE name = m.name AND set_at <= ? ORDER BY set_at DESC, id DESC LIMIT 1)""",
        [stamp(now)],
    )
    return {row["name"]: row for row in rows}


def metric_history(db: Database, name: str, limit: int = 10) -> list[Row]:
    return _rows(db, "SELECT * FROM metrics WHERE name = ? ORDER BY set_at DESC, id DESC LIMIT ?", [name, limit])


def confirm_rebate(db: Database, rebate_id: str, now: datetime, by: str | None, change_id: int | None) -> None:
    db.execute(
        "INSERT INTO rebate_confirmations (rebate_id, confirmed_at, confirmed_by, change_id) VALUES (?, ?, ?, ?)",
        [rebate_id, stamp(now), by, change_id],
    )


def last_confirmation(db: Database, rebate_id: str, now: datetime) -> Row | None:
    rows = _rows(
        db,
        """SELECT * FROM rebate_confirmations WHERE rebate_id = ? AND confirmed_at <= ?
           ORDER BY confirmed_at DESC, id DESC LIMIT 1""",
        [rebate_id, stamp(now)],
    )
    return rows[0] if rows else None


def add_reading(db: Database, name: str, value: float, now: datetime, source_id: str) -> int:
    """A value read from a source by a metric watch, marked with that source."""
    cursor = db.execute(
        "INSERT INTO metrics (name, value, set_at, set_by, note, source_id) VALUES (?, ?, ?, ?, NULL, ?)",
        [name, value, stamp(now), f"source:{source_id}", source_id],
    )
    return int(cursor.lastrowid or 0)


def latest_metric(db: Database, name: str) -> Row | None:
    rows = _rows(db, "SELECT * FROM metrics WHERE name = ? ORDER BY set_at DESC, id DESC LIMIT 1", [name])
    return rows[0] if rows else None
