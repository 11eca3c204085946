"""People's HUAWEI ID binding and departures: who counts for the partner, and since when not."""

from __future__ import annotations

from datetime import date, datetime

from storage.database import Database
from storage.db import stamp
from storage.watching.sources import Row, _rows


def set_bound(db: Database, person_id: int, bound: bool) -> bool:
    """Mark a person's HUAWEI ID bound or unbound; False if it already was."""
    return (
        db.execute(
            "UPDATE people SET bound = ? WHERE id = ? AND bound != ?", [int(bound), person_id, int(bound)]
        ).rowcount
        > 0
    )


def active_departure(db: Database, person_id: int) -> Row | None:
    rows = _rows(
        db,
        "SELECT * FROM people_departures WHERE person_id = ? AND returned_at IS NULL ORDER BY id DESC LIMIT 1",
        [person_id],
    )
    return rows[0] if rows else None


def record_departure(db: Database, person_id: int, left_on: date, by: str | None, now: datetime) -> int:
    """A departure on `left_on`; an earlier one still open is closed first (one open departure per person)."""
    db.execute(
        "UPDATE people_departures SET returned_at = ?, returned_by = ? WHERE person_id = ? AND returned_at IS NULL",
        [stamp(now), "replaced", person_id],
    )
    cursor = db.execute(
        "INSERT INTO people_departures (person_id, left_on, recorded_by, recorded_at) VALUES (?, ?, ?, ?)",
        [person_id, left_on.isoformat(), by, stamp(now)],
    )
    return int(cursor.lastrowid or 0)


def record_return(db: Database, person_id: int, by: str | None, now: datetime) -> bool:
    """Undo the open departure (kept in the history, stamped returned); False if there was none."""
    cursor = db.execute(
        "UPDATE people_departures SET returned_at = ?, returned_by = ? WHERE person_id = ? AND returned_at IS NULL",
        [stamp(now), by, person_id],
    )
    return cursor.rowcount > 0


def departure_history(db: Database, person_id: int) -> list[Row]:
    return _rows(db, "SELECT * FROM people_departures WHERE person_id = ? ORDER BY id", [person_id])


def open_departures(db: Database) -> dict[int, date]:
    """person_id → the day they leave (or left), for every departure not undone."""
    rows = db.execute(
        "SELECT person_id, left_on FROM people_departures WHERE returned_at IS NULL ORDER BY id"
    ).fetchall()
    return {int(person): date.fromisoformat(str(day)) for person, day in rows}
