"""Glossary terms added by admins with `/whisperer whatis add TERM = MEANING`."""

from __future__ import annotations

from datetime import datetime

from storage.database import Database
from storage.db import stamp
from storage.watching.sources import Row, _rows


def add_term(db: Database, term: str, meaning: str, by: str | None, now: datetime) -> bool:
    """Add or replace a term; True if it is new."""
    existed = db.execute("SELECT 1 FROM glossary_terms WHERE term = ?", [term]).fetchone() is not None
    db.execute(
        """INSERT INTO glossary_terms (term, meaning, added_by, added_at) VALUES (?, ?, ?, ?)
           ON CONFLICT(term) DO UPDATE SET meaning = excluded.meaning, added_by = excluded.added_by,
           added_at = excluded.added_at""",
        [term, meaning, by, stamp(now)],
    )
    return not existed


def remove_term(db: Database, term: str) -> bool:
    return db.execute("DELETE FROM glossary_terms WHERE term = ?", [term]).rowcount > 0


def list_terms(db: Database) -> list[Row]:
    return _rows(db, "SELECT * FROM glossary_terms ORDER BY term")
