"""Certifications held by people: one row per person and certification name, updated on re-import."""

from __future__ import annotations

from datetime import date, datetime

from storage.database import Database
from storage.db import stamp
from storage.watching.sources import Row, _rows

# Every row says whether its holder is bound, and the day they leave (or left) if a departure is recorded.
_SELECT = """SELECT c.*, p.name AS person, p.email, p.slack_id, p.tz, p.bound,
                    (SELECT d.left_on FROM people_departures d WHERE d.person_id = p.id AND d.returned_at IS NULL
                     ORDER BY d.id DESC LIMIT 1) AS left_on
             FROM certifications c JOIN people p ON p.id = c.person_id"""


def upsert_certification(
    db: Database,
    person_id: int,
    name: str,
    now: datetime,
    *,
    level: str,
    number: str | None,
    passed: date | None,
    expires: date,
    expires_given: bool,
) -> tuple[int, bool]:
    """Add a certification, or update the person's certification of that name; (id, True if added)."""
    found = db.execute("SELECT id FROM certifications WHERE person_id = ? AND name = ?", [person_id, name]).fetchone()
    values = [level, number, passed.isoformat() if passed else None, expires.isoformat(), int(expires_given)]
    if found:
        db.execute(
            """UPDATE certifications SET level = ?, number = ?, passed = ?, expires = ?, expires_given = ?,
               name = ?, updated_at = ? WHERE id = ?""",
            [*values, name, stamp(now), found[0]],
        )
        return int(found[0]), False
    cursor = db.execute(
        """INSERT INTO certifications (level, number, passed, expires, expires_given, person_id, name,
                                       created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [*values, person_id, name, stamp(now), stamp(now)],
    )
    return int(cursor.lastrowid or 0), True


def get_certification(db: Database, cert_id: int) -> Row | None:
    rows = _rows(db, f"{_SELECT} WHERE c.id = ?", [cert_id])
    return rows[0] if rows else None


def remove_certification(db: Database, cert_id: int) -> bool:
    return db.execute("DELETE FROM certifications WHERE id = ?", [cert_id]).rowcount > 0


def list_certifications(db: Database, person_id: int | None = None, until: date | None = None) -> list[Row]:
    """Soonest expiry first; optionally one person's, or only those expiring on or before `until`."""
    where: list[str] = []
    params: list[object] = []
    if person_id is not None:
        where.append("c.person_id = ?")
        params.append(person_id)
    if until is not None:
        where.append("c.expires <= ?")
        params.append(until.isoformat())
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    return _rows(db, f"{_SELECT} {clause} ORDER BY c.expires, p.name, c.name", params)


def certification_counts(db: Database) -> dict[int, int]:
    rows = db.execute("SELECT person_id, COUNT(*) FROM certifications GROUP BY person_id").fetchall()
    return {int(person): int(n) for person, n in rows}


def renew_certification(db: Database, cert_id: int, expires: date, number: str | None, now: datetime) -> None:
    """A recertification: the new expiry (as given, not computed) and number."""
    db.execute(
        "UPDATE certifications SET expires = ?, expires_given = 1, number = ?, updated_at = ? WHERE id = ?",
        [expires.isoformat(), number, stamp(now), cert_id],
    )
