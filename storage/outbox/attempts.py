"""Delivery attempts written down before the post goes out, so a crash mid-post is known after a restart."""

from __future__ import annotations

from datetime import datetime

from storage.database import Database
from storage.db import stamp


def begin_attempt(db: Database, alert_id: int, now: datetime) -> None:
    """Count the attempt and note when it began; Slack's answer (mark_sent, mark_retry, mark_failed) clears it.
    A row still marked after a restart may be in Slack already: delivery looks before posting it again."""
    # The earliest attempt without a clear answer is kept: the post may be from any attempt since then.
    db.execute(
        "UPDATE alerts SET attempts = attempts + 1, attempt_started_at = COALESCE(attempt_started_at, ?) WHERE id = ?",
        [stamp(now), alert_id],
    )


def unanswered(db: Database) -> int:
    """Rows whose last attempt has no recorded answer (each is looked up in Slack before it is posted again)."""
    row = db.execute(
        "SELECT COUNT(*) FROM alerts WHERE status = 'pending' AND attempt_started_at IS NOT NULL"
    ).fetchone()
    return int(row[0])


def known_channel_id(db: Database, channel: str | None) -> str | None:
    """The channel ID Slack answered for an earlier post to this channel name (None: the alerts channel)."""
    row = db.execute(
        """SELECT posted_channel FROM alerts
           WHERE status = 'sent' AND user_id IS NULL AND posted_channel IS NOT NULL AND posted_channel != 'terminal'
             AND channel IS ? AND json_extract(payload, '$.person_id') IS NULL
           ORDER BY id DESC LIMIT 1""",
        [channel],
    ).fetchone()
    return str(row[0]) if row else None
