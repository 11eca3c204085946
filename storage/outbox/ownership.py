"""Who said "I'm on it" for a change, and which sources are muted (alerts held) until when."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from storage.database import Database
from storage.db import parse_stamp, stamp
from storage.watching.sources import Row, _rows


def take_change(db: Database, change_id: int, user_id: str, now: datetime) -> tuple[str, bool]:
    """Record `user_id` as the change's owner unless someone already is; (the owner, True if just taken)."""
    cursor = db.execute(
        "INSERT OR IGNORE INTO change_owners (change_id, user_id, taken_at) VALUES (?, ?, ?)",
        [change_id, user_id, stamp(now)],
    )
    row = db.execute("SELECT user_id FROM change_owners WHERE change_id = ?", [change_id]).fetchone()
    return str(row[0]), cursor.rowcount > 0


def change_owner(db: Database, change_id: int) -> Row | None:
    rows = _rows(db, "SELECT * FROM change_owners WHERE change_id = ?", [change_id])
    return rows[0] if rows else None


def owners_of(db: Database, change_ids: Iterable[int]) -> dict[int, str]:
    """The owner of each of these changes that has one."""
    ids = list(change_ids)
    if not ids:
        return {}
    marks = ",".join("?" for _ in ids)
    rows = db.execute(f"SELECT change_id, user_id FROM change_owners WHERE change_id IN ({marks})", ids)
    return {int(change_id): str(user) for change_id, user in rows}


def mute_source(db: Database, source_id: str, until: datetime, by: str, now: datetime) -> None:
    db.execute(
        """INSERT INTO source_mutes (source_id, until, muted_by, muted_at) VALUES (?, ?, ?, ?)
           ON CONFLICT(source_id) DO UPDATE SET until = excluded.until, muted_by = excluded.muted_by,
                                                muted_at = excluded.muted_at""",
        [source_id, stamp(until), by, stamp(now)],
    )


def unmute_source(db: Database, source_id: str) -> bool:
    return db.execute("DELETE FROM source_mutes WHERE source_id = ?", [source_id]).rowcount > 0


def mute_of(db: Database, source_id: str, now: datetime) -> Row | None:
    """The source's mute if it is still in force at `now`."""
    rows = _rows(db, "SELECT * FROM source_mutes WHERE source_id = ? AND until > ?", [source_id, stamp(now)])
    return rows[0] if rows else None


def active_mutes(db: Database, now: datetime) -> dict[str, datetime]:
    """Muted source ids and when each mute ends (expired mutes are simply ignored)."""
    rows = db.execute("SELECT source_id, until FROM source_mutes WHERE until > ?", [stamp(now)])
    return {str(source_id): parse_stamp(str(until)) for source_id, until in rows}


def release_held(db: Database, source_id: str, now: datetime) -> int:
    """Make a source's held (pending) alerts due now, when its mute ends early."""
    cursor = db.execute(
        "UPDATE alerts SET next_attempt_at = ? WHERE source_id = ? AND status = 'pending' AND next_attempt_at > ?",
        [stamp(now), source_id, stamp(now)],
    )
    return int(cursor.rowcount)
