"""Certification reminder holds: the exam is booked (pause until then, then ask) or the reminder is snoozed."""

from __future__ import annotations

from datetime import date, datetime

from storage.database import Database
from storage.db import stamp
from storage.watching.sources import Row, _rows


def set_hold(db: Database, cert_id: int, kind: str, until: date, by: str | None, now: datetime) -> bool:
    """Hold a certification's reminders until `until`; False if exactly this hold was already there."""
    found = db.execute("SELECT kind, until FROM cert_holds WHERE cert_id = ?", [cert_id]).fetchone()
    if found and (str(found[0]), str(found[1])) == (kind, until.isoformat()):
        return False
    db.execute(
        """INSERT INTO cert_holds (cert_id, kind, until, set_by, set_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT(cert_id) DO UPDATE SET kind = excluded.kind, until = excluded.until,
                                              set_by = excluded.set_by, set_at = excluded.set_at""",
        [cert_id, kind, until.isoformat(), by, stamp(now)],
    )
    return True


def clear_hold(db: Database, cert_id: int) -> bool:
    return db.execute("DELETE FROM cert_holds WHERE cert_id = ?", [cert_id]).rowcount > 0


def get_hold(db: Database, cert_id: int) -> Row | None:
    rows = _rows(db, "SELECT * FROM cert_holds WHERE cert_id = ?", [cert_id])
    return rows[0] if rows else None


def all_holds(db: Database) -> dict[int, Row]:
    return {int(row["cert_id"]): row for row in _rows(db, "SELECT * FROM cert_holds")}
