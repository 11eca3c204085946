"""Change levels and the importance rules admins teach: what is urgent, normal or low, and why."""

from __future__ import annotations

import json
from datetime import datetime

from storage.database import Database
from storage.db import stamp
from storage.watching.sources import Row, _rows

ALERT_KINDS_OF_A_CHANGE = ("change", "policy-version", "tier-renamed", "tier-added", "tier-removed", "tier-reordered")


def set_change_level(db: Database, change_id: int, level: str, why: str) -> None:
    db.execute("UPDATE changes SET level = ?, level_why = ? WHERE id = ?", [level, why, change_id])


def change_level(db: Database, change_id: int) -> tuple[str, str] | None:
    row = db.execute("SELECT level, level_why FROM changes WHERE id = ?", [change_id]).fetchone()
    return (str(row[0]), str(row[1] or "")) if row and row[0] else None


def poll_alerts(db: Database, source_id: str, now: datetime) -> list[Row]:
    """The alerts one source's poll wrote (same source, same moment): where urgent reasons are read from."""
    rows = _rows(db, "SELECT * FROM alerts WHERE source_id = ? AND created_at = ? ORDER BY id", [source_id, stamp(now)])
    for row in rows:
        row["payload"] = json.loads(row["payload"])
    return rows


def keep_for_digest(db: Database, change_id: int, now: datetime, why: str) -> int:
    """A low change's pending alerts are never posted: kept (status 'low') for the record; the digest lists it."""
    marks = ",".join("?" for _ in ALERT_KINDS_OF_A_CHANGE)
    cursor = db.execute(
        f"""UPDATE alerts SET status = 'low', last_error = ?, sent_at = ?
            WHERE change_id = ? AND status = 'pending' AND user_id IS NULL AND kind IN ({marks})""",
        [f"low: {why}; listed in the digest, not posted", stamp(now), change_id, *ALERT_KINDS_OF_A_CHANGE],
    )
    return cursor.rowcount


def add_rule(
    db: Database, source_id: str, pattern: str, level: str, change_id: int | None, by: str, now: datetime
) -> int:
    """Store a taught rule; the same pattern for the same source is one rule. Returns its id."""
    db.execute(
        """INSERT OR IGNORE INTO importance_rules (source_id, pattern, level, change_id, created_by, created_at)
           VALUES (?, ?, ?, ?, ?, ?)""",
        [source_id, pattern, level, change_id, by, stamp(now)],
    )
    row = db.execute(
        "SELECT id FROM importance_rules WHERE source_id = ? AND pattern = ?", [source_id, pattern]
    ).fetchone()
    return int(row[0])


def find_rule(db: Database, source_id: str, pattern: str) -> Row | None:
    rows = _rows(db, "SELECT * FROM importance_rules WHERE source_id = ? AND pattern = ?", [source_id, pattern])
    return rows[0] if rows else None


def get_rule(db: Database, rule_id: int) -> Row | None:
    rows = _rows(db, "SELECT * FROM importance_rules WHERE id = ?", [rule_id])
    return rows[0] if rows else None


def list_rules(db: Database, source_id: str | None = None) -> list[Row]:
    if source_id is None:
        return _rows(db, "SELECT * FROM importance_rules ORDER BY id")
    return _rows(db, "SELECT * FROM importance_rules WHERE source_id = ? ORDER BY id", [source_id])


def remove_rule(db: Database, rule_id: int) -> bool:
    return db.execute("DELETE FROM importance_rules WHERE id = ?", [rule_id]).rowcount > 0


def source_diffs(db: Database, source_id: str, limit: int = 200) -> list[Row]:
    """A source's recent changes with their diffs, newest first: what a proposed rule would have matched."""
    return _rows(
        db,
        "SELECT id, detected_at, summary, diff, level FROM changes WHERE source_id = ? ORDER BY id DESC LIMIT ?",
        [source_id, limit],
    )


def moved_deadlines(db: Database, source_id: str, now: datetime) -> list[tuple[str, str]]:
    """Deadlines a source stopped stating in this poll, each with one it started stating (old due, new due)."""
    at = stamp(now)
    gone = [
        str(r[0])
        for r in db.execute(
            "SELECT due FROM deadlines WHERE source_id = ? AND origin = 'source' AND gone_at = ? ORDER BY due",
            [source_id, at],
        ).fetchall()
    ]
    new = [
        str(r[0])
        for r in db.execute(
            "SELECT due FROM deadlines WHERE source_id = ? AND origin = 'source' AND created_at = ? ORDER BY due",
            [source_id, at],
        ).fetchall()
    ]
    return [(old, fresh) for old, fresh in zip(gone, new, strict=False) if old != fresh]


def urgent_in_poll(db: Database, source_id: str, at: str) -> bool:
    """Whether a source's poll at `at` recorded an urgent change (or one from before levels existed)."""
    row = db.execute(
        """SELECT 1 FROM changes WHERE source_id = ? AND detected_at = ? AND (level IS NULL OR level = 'urgent')
           LIMIT 1""",
        [source_id, at],
    ).fetchone()
    return row is not None
