"""Stored deadlines: typed by people, found in sources, set by deal registrations.

`due` is an ISO date, or (timed = 1) a UTC time stamp. A source deadline the page no longer states is
`gone`; one removed by hand is `removed`, and a later poll does not bring it back.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from storage.database import Database
from storage.db import stamp
from storage.watching.sources import Row, _rows


def _due(due: date | datetime) -> tuple[str, int]:
    return (stamp(due), 1) if isinstance(due, datetime) else (due.isoformat(), 0)


def add_deadline(
    db: Database,
    key: str,
    due: date | datetime,
    title: str,
    origin: str,
    now: datetime,
    *,
    source_id: str | None = None,
    change_id: int | None = None,
    created_by: str | None = None,
) -> tuple[int, bool]:
    """Insert unless the key exists (then it is kept, and revived if a source states it again)."""
    text, timed = _due(due)
    cursor = db.execute(
        """INSERT OR IGNORE INTO deadlines (key, due, timed, title, origin, source_id, change_id, created_by,
                                            created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [key, text, timed, title, origin, source_id, change_id, created_by, stamp(now)],
    )
    if cursor.rowcount:
        return int(cursor.lastrowid or 0), True
    db.execute("UPDATE deadlines SET gone_at = NULL WHERE key = ?", [key])
    found = db.execute("SELECT id FROM deadlines WHERE key = ?", [key]).fetchone()
    return int(found[0]), False


def sync_source_deadlines(
    db: Database,
    source_id: str,
    items: Iterable[tuple[str, date, str]],
    now: datetime,
    change_id: int | None,
) -> list[int]:
    """The (key, day, sentence) a source states now; the ones it stopped stating are marked gone.
    Returns the ids of deadlines that are new."""
    keys, added = [], []
    for key, day, sentence in items:
        keys.append(key)
        deadline_id, new = add_deadline(db, key, day, sentence, "source", now, source_id=source_id, change_id=change_id)
        if new:
            added.append(deadline_id)
    placeholders = ",".join("?" for _ in keys) or "''"
    db.execute(
        f"""UPDATE deadlines SET gone_at = ? WHERE source_id = ? AND origin = 'source' AND gone_at IS NULL
            AND key NOT IN ({placeholders})""",
        [stamp(now), source_id, *keys],
    )
    return added


def get_deadline(db: Database, deadline_id: int) -> Row | None:
    rows = _rows(db, "SELECT * FROM deadlines WHERE id = ?", [deadline_id])
    return rows[0] if rows else None


def remove_deadline(db: Database, deadline_id: int, now: datetime, by: str | None) -> bool:
    cursor = db.execute(
        "UPDATE deadlines SET removed_at = ?, removed_by = ? WHERE id = ? AND removed_at IS NULL",
        [stamp(now), by, deadline_id],
    )
    return cursor.rowcount > 0


def live_deadlines(db: Database) -> list[Row]:
    """Every deadline still standing, with its source's name and address."""
    return _rows(
        db,
        """SELECT d.*, s.name AS source_name, s.url FROM deadlines d LEFT JOIN sources s ON s.id = d.source_id
           WHERE d.gone_at IS NULL AND d.removed_at IS NULL AND (s.id IS NULL OR s.retired = 0)
           ORDER BY d.due, d.id""",
    )
