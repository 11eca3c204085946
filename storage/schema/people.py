"""Schema for people's HUAWEI ID binding and departures (migration 17 is this area's)."""

from __future__ import annotations

from storage.database import Database
from storage.migrations import _run, migration


@migration(23, "people: HUAWEI ID binding, and departures with their history")
def _people_status(db: Database) -> None:
    # bound: 1 = the person's HUAWEI ID is bound to the partner account (the default: the bot counted everyone
    # before), 0 = unbound (their certificates do not count). A departure is never deleted: `person return`
    # stamps returned_at, so the history stays.
    _run(
        db,
        """
        ALTER TABLE people ADD COLUMN bound INTEGER NOT NULL DEFAULT 1;
        CREATE TABLE people_departures (
            id INTEGER PRIMARY KEY,
            person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            left_on TEXT NOT NULL,
            recorded_by TEXT,
            recorded_at TEXT NOT NULL,
            returned_at TEXT,
            returned_by TEXT
        );
        CREATE INDEX people_departures_person ON people_departures(person_id, returned_at)
        """,
    )
