"""Schema for syncing source definitions cheaply (issue 14; the coordinator renumbers at merge time)."""

from __future__ import annotations

from sqlite_utils import Database

from storage.migrations import _run, migration


@migration(26, "sources remember a digest of their definition, so an unchanged config writes nothing")
def _spec_hash(db: Database) -> None:
    # NULL = unknown (a row written before this, or by a caller without a digest): the next config sync rewrites it.
    if "spec_hash" not in {row[1] for row in db.execute("PRAGMA table_info(sources)").fetchall()}:  # renumbered
        _run(db, "ALTER TABLE sources ADD COLUMN spec_hash TEXT")
