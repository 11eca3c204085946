"""Schema for syncing source definitions cheaply (issue 14; the coordinator renumbers at merge time)."""

from __future__ import annotations

from storage.database import Database
from storage.migrations import _run, migration


@migration(26, "sources remember a digest of their definition, so an unchanged config writes nothing")
def _spec_hash(db: Database) -> None:
    # NULL = unknown (a row written before this, or by a caller without a digest): the next config sync rewrites it.
    if "spec_hash" not in {row[1] for row in db.execute("PRAGMA table_info(sources)").fetchall()}:  # renumbered
        _run(db, "ALTER TABLE sources ADD COLUMN spec_hash TEXT")


@migration(27, "one digest of each origin's whole set of sources, forgotten by any change to the sources")
def _set_digest(db: Database) -> None:
    # Triggers, not callers, forget the digest: a Slack `source remove`, the older sync path or a hand edit in the
    # sqlite3 shell all change what the next config sync must write, and none of them knows about this table.
    # Only the columns the sync compares count (the poll's own updates name none of them).
    db.execute("CREATE TABLE source_sets (origin TEXT PRIMARY KEY, digest TEXT NOT NULL)")
    for event in ("INSERT", "DELETE", "UPDATE OF id, spec_hash, origin, retired"):
        name = event.split()[0].lower()
        db.execute(f"CREATE TRIGGER source_sets_{name} AFTER {event} ON sources BEGIN DELETE FROM source_sets; END")
