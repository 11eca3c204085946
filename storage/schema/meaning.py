"""Schema for what a change means: its facts and impacts, and thresholds read from their pages (migration 17)."""

from __future__ import annotations

from storage.database import Database
from storage.migrations import _run, migration


@migration(17, "fact changes and impacts kept with each change; thresholds followed from their pages")
def _meaning(db: Database) -> None:
    # facts / impacts / glosses: JSON lists, NULL for changes recorded before they were read.
    _run(
        db,
        """
        ALTER TABLE changes ADD COLUMN facts TEXT;
        ALTER TABLE changes ADD COLUMN impacts TEXT;
        ALTER TABLE changes ADD COLUMN glosses TEXT;
        CREATE TABLE followed_thresholds (
            id INTEGER PRIMARY KEY,
            source_id TEXT NOT NULL,
            pattern TEXT NOT NULL,
            value REAL NOT NULL,
            raw TEXT NOT NULL,
            read_at TEXT NOT NULL,
            change_id INTEGER
        );
        CREATE INDEX followed_thresholds_by_key ON followed_thresholds(source_id, pattern, id)
        """,
    )
