"""Opening the database: pragmas, explicit transactions and migrations."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database

from storage import knowledge_migrations  # noqa: F401  (registers migrations 5 and up)
from storage.migrations import migrate


def open_db(path: str | Path, *, upgrade: bool = True) -> Database:
    """Open (creating if needed) the SQLite file with WAL, foreign keys and a busy timeout, then migrate.

    The connection runs in autocommit mode; writes that must land together go through `transaction`.
    """
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 30000")
    db = Database(conn)
    if upgrade:
        migrate(db)
    return db


@contextmanager
def transaction(db: Database) -> Iterator[Database]:
    """BEGIN IMMEDIATE … COMMIT: one writer at a time, all or nothing."""
    conn = db.conn
    if conn.in_transaction:  # nested use joins the outer transaction
        yield db
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@contextmanager
def savepoint(db: Database, name: str = "part") -> Iterator[Database]:
    """A part of a transaction that can fail alone: on an exception only its own writes are undone."""
    conn = db.conn
    conn.execute(f"SAVEPOINT {name}")
    try:
        yield db
    except BaseException:
        conn.execute(f"ROLLBACK TO {name}")
        conn.execute(f"RELEASE {name}")
        raise
    conn.execute(f"RELEASE {name}")


def stamp(now: datetime) -> str:
    """How times are stored: UTC ISO 8601 to the second, so text order is time order."""
    if now.tzinfo is None:
        raise ValueError("naive datetime; pass a timezone-aware 'now'")
    return now.astimezone(UTC).isoformat(timespec="seconds")


def parse_stamp(text: str) -> datetime:
    return datetime.fromisoformat(text)
