"""Logged-in sources: when a session expired and why, and when it came back."""

from __future__ import annotations

from datetime import datetime

from storage.database import Database
from storage.db import stamp

SESSION_EXPIRED = "session expired"


def mark_logged_out(db: Database, source_id: str, now: datetime, reason: str) -> str | None:
    """Record that the source's session has expired; returns when it started if this check started it, else None.

    The last good snapshot, validators and failure count stay as they were: nothing is compared while logged out.
    """
    row = db.execute("SELECT session_expired_at FROM sources WHERE id = ?", [source_id]).fetchone()
    started = row is not None and row[0] is None
    db.execute(
        """UPDATE sources SET last_checked = :now, last_status = :status, last_error = :reason,
           session_reason = :reason, session_expired_at = COALESCE(session_expired_at, :now) WHERE id = :id""",
        {"now": stamp(now), "status": SESSION_EXPIRED, "reason": reason, "id": source_id},
    )
    return stamp(now) if started else None


def mark_session_restored(db: Database, source_id: str) -> str | None:
    """Clear the expired state; returns when it had started (None if the session was not expired)."""
    row = db.execute("SELECT session_expired_at FROM sources WHERE id = ?", [source_id]).fetchone()
    if row is None or row[0] is None:
        return None
    db.execute("UPDATE sources SET session_expired_at = NULL, session_reason = NULL WHERE id = ?", [source_id])
    return str(row[0])
