"""Keys of Slack requests already handled, so a retried request never acts twice."""

from __future__ import annotations

from datetime import datetime

from storage.database import Database
from storage.db import stamp


def remember_request(db: Database, key: str, now: datetime) -> bool:
    """Record a request key; True the first time it is seen, False for a retry or a replay."""
    cursor = db.execute("INSERT OR IGNORE INTO handled_requests (key, seen_at) VALUES (?, ?)", [key, stamp(now)])
    return cursor.rowcount > 0


def forget_requests_before(db: Database, cutoff: datetime) -> int:
    """Drop keys older than `cutoff` (Slack stops retrying within minutes)."""
    return int(db.execute("DELETE FROM handled_requests WHERE seen_at < ?", [stamp(cutoff)]).rowcount)
