"""Schema for operations: delivery attempts counted before sending, pruned snapshot bodies (migrations 17–18)."""

from __future__ import annotations

from sqlite_utils import Database

from storage.migrations import migration


@migration(17, "alerts: when the attempt whose answer is not yet recorded began")
def _attempt_started(db: Database) -> None:
    # Set (and attempts counted) before a post goes out, cleared when Slack's answer is written: a row that
    # still has it after a restart may have been posted, so delivery looks in the channel before posting again.
    db.execute("ALTER TABLE alerts ADD COLUMN attempt_started_at TEXT")


@migration(18, "snapshots: bodies pruned by retention")
def _pruned_snapshots(db: Database) -> None:
    # The row (hash, size, date) stays while a change refers to it; only the text goes. The index finds the
    # nightly candidates (old, not yet pruned) without reading every body.
    db.execute("ALTER TABLE snapshots ADD COLUMN pruned_at TEXT")
    db.execute("CREATE INDEX snapshots_unpruned ON snapshots(created_at) WHERE pruned_at IS NULL")
