"""Schema for levels, taught rules, events and machine summaries (migrations 18–20 are this area's)."""

from __future__ import annotations

from storage.database import Database
from storage.migrations import _run, migration


@migration(18, "change levels and the importance rules admins teach with Not important")
def _levels(db: Database) -> None:
    # level NULL: recorded before levels existed (read as normal).
    _run(
        db,
        """
        ALTER TABLE changes ADD COLUMN level TEXT;
        ALTER TABLE changes ADD COLUMN level_why TEXT;
        CREATE TABLE importance_rules (
            id INTEGER PRIMARY KEY,
            source_id TEXT NOT NULL,
            pattern TEXT NOT NULL,
            level TEXT NOT NULL DEFAULT 'low',
            change_id INTEGER,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (source_id, pattern)
        )
        """,
    )


@migration(19, "alert events: the value transition that groups one event's alerts in one thread")
def _events(db: Database) -> None:
    _run(db, "ALTER TABLE alerts ADD COLUMN event TEXT")


@migration(20, "machine summaries, cached per diff")
def _summaries(db: Database) -> None:
    _run(
        db,
        """
        CREATE TABLE machine_summaries (
            diff_hash TEXT PRIMARY KEY,
            model TEXT NOT NULL,
            text TEXT,
            error TEXT,
            created_at TEXT NOT NULL
        )
        """,
    )
