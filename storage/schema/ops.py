"""Schema for operations: delivery attempts counted before sending, pruned snapshot bodies (migrations 17–18)."""

from __future__ import annotations

from storage.database import Database
from storage.migrations import _run, migration


@migration(24, "alerts: when the attempt whose answer is not yet recorded began")
def _attempt_started(db: Database) -> None:
    # Set (and attempts counted) before a post goes out, cleared when Slack's answer is written: a row that
    # still has it after a restart may have been posted, so delivery looks in the channel before posting again.
    db.execute("ALTER TABLE alerts ADD COLUMN attempt_started_at TEXT")


@migration(25, "retention: snapshot bodies pruned, and what the nightly prune looks for, indexed")
def _pruned_snapshots(db: Database) -> None:
    # A pruned snapshot keeps its row (hash, size, date), so changes still name their before and after; only the
    # text goes. The partial indexes let the nightly prune find its rows without reading every change or alert:
    # old unpruned snapshots, changes stored without their diff (whose snapshots stay whole), finished alerts.
    _run(
        db,
        """
        ALTER TABLE snapshots ADD COLUMN pruned_at TEXT;
        CREATE INDEX snapshots_unpruned ON snapshots(created_at) WHERE pruned_at IS NULL;
        CREATE INDEX changes_without_diff ON changes(id) WHERE diff = '';
        CREATE INDEX alerts_finished ON alerts(sent_at) WHERE status IN ('sent', 'failed', 'superseded')
        """,
    )
