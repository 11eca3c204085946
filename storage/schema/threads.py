"""Schema for alert threads (migrations 20–21 are this area's)."""

from __future__ import annotations

from storage.database import Database
from storage.migrations import _run, migration


@migration(16, "alert threads: the parent a row was posted under, and the channel ID Slack answered")
def _threads(db: Database) -> None:
    # thread_ts NULL = posted top-level; posted_channel is the ID chat.update needs (alerts name channels).
    _run(
        db,
        """
        ALTER TABLE alerts ADD COLUMN thread_ts TEXT;
        ALTER TABLE alerts ADD COLUMN posted_channel TEXT;
        CREATE INDEX alerts_by_source ON alerts(source_id, status, sent_at)
        """,
    )
