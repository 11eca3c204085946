"""People (who gets DMs) and their topic subscriptions."""

from __future__ import annotations

from datetime import datetime

from storage.database import Database
from storage.db import stamp
from storage.watching.sources import Row, _rows


def upsert_person(
    db: Database,
    name: str,
    now: datetime,
    *,
    email: str | None = None,
    slack_id: str | None = None,
    tz: str | None = None,
) -> int:
    """Find a person by Slack ID or email (in that order) and fill in what is new; create if unknown."""
    row = None
    if slack_id:
        row = _first(db, "SELECT * FROM people WHERE slack_id = ?", [slack_id])
    if row is None and email:
        row = _first(db, "SELECT * FROM people WHERE email = ?", [email])
    if row is None:
        cursor = db.execute(
            "INSERT INTO people (name, email, slack_id, tz, created_at) VALUES (?, ?, ?, ?, ?)",
            [name, email, slack_id, tz, stamp(now)],
        )
        return int(cursor.lastrowid or 0)
    update_person(db, int(row["id"]), name, email=email, slack_id=slack_id, tz=tz)
    return int(row["id"])


def update_person(
    db: Database, person_id: int, name: str, *, email: str | None, slack_id: str | None, tz: str | None
) -> None:
    """Fill in what is new about a known person (None keeps what is there)."""
    db.execute(
        """UPDATE people SET name = COALESCE(NULLIF(?, ''), name), email = COALESCE(?, email),
           slack_id = COALESCE(?, slack_id), tz = COALESCE(?, tz) WHERE id = ?""",
        [name, email, slack_id, tz, person_id],
    )


def _first(db: Database, sql: str, params: list[object]) -> Row | None:
    rows = _rows(db, sql, params)
    return rows[0] if rows else None


def get_person(db: Database, person_id: int) -> Row | None:
    return _first(db, "SELECT * FROM people WHERE id = ?", [person_id])


def find_person(db: Database, key: str) -> Row | None:
    """By Slack ID, email or exact name (case-insensitive)."""
    return _first(
        db,
        "SELECT * FROM people WHERE slack_id = ? OR email = ? OR name = ? COLLATE NOCASE ORDER BY id LIMIT 1",
        [key, key, key],
    )


def set_slack_id(db: Database, person_id: int, slack_id: str, tz: str | None = None) -> None:
    db.execute("UPDATE people SET slack_id = ?, tz = COALESCE(?, tz) WHERE id = ?", [slack_id, tz, person_id])


def list_people(db: Database) -> list[Row]:
    return _rows(db, "SELECT * FROM people ORDER BY name")


def subscribe(db: Database, slack_id: str, topic: str, now: datetime) -> bool:
    cursor = db.execute(
        "INSERT OR IGNORE INTO subscriptions (slack_id, topic, created_at) VALUES (?, ?, ?)",
        [slack_id, topic, stamp(now)],
    )
    return cursor.rowcount > 0


def unsubscribe(db: Database, slack_id: str, topic: str) -> bool:
    cursor = db.execute("DELETE FROM subscriptions WHERE slack_id = ? AND topic = ?", [slack_id, topic])
    return cursor.rowcount > 0


def subscribers(db: Database, topic: str) -> list[str]:
    return [str(r[0]) for r in db.execute("SELECT slack_id FROM subscriptions WHERE topic = ?", [topic]).fetchall()]


def subscriptions_of(db: Database, slack_id: str) -> list[str]:
    rows = db.execute("SELECT topic FROM subscriptions WHERE slack_id = ? ORDER BY topic", [slack_id]).fetchall()
    return [str(r[0]) for r in rows]
