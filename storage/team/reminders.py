"""What the reminder sweep needs from the outbox: which keys were already queued, and delivery hours."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from storage.database import Database
from storage.db import stamp


def existing_alert_keys(db: Database, keys: Iterable[str]) -> set[str]:
    wanted = list(keys)
    found: set[str] = set()
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        marks = ",".join("?" for _ in chunk)
        found.update(str(r[0]) for r in db.execute(f"SELECT key FROM alerts WHERE key IN ({marks})", chunk))
    return found


def defer_alert(db: Database, key: str, until: datetime) -> None:
    """Hold a queued alert until `until` (a DM waits for its reader's working hours)."""
    db.execute("UPDATE alerts SET next_attempt_at = ? WHERE key = ? AND status = 'pending'", [stamp(until), key])
