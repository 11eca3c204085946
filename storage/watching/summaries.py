"""Machine summaries, cached per diff: asked once, whatever happened (a failure is remembered too)."""

from __future__ import annotations

import json
from datetime import datetime

from storage.database import Database
from storage.db import stamp
from storage.watching.sources import Row, _rows


def cached_summary(db: Database, key: str) -> Row | None:
    rows = _rows(db, "SELECT * FROM machine_summaries WHERE diff_hash = ?", [key])
    return rows[0] if rows else None


def store_summary(db: Database, key: str, model: str, text: str | None, error: str | None, now: datetime) -> None:
    db.execute(
        """INSERT OR REPLACE INTO machine_summaries (diff_hash, model, text, error, created_at)
           VALUES (?, ?, ?, ?, ?)""",
        [key, model, text, error, stamp(now)],
    )


def alerts_to_summarise(db: Database, since: datetime, limit: int = 20) -> list[Row]:
    """Recent channel alerts about a change (pending or posted), oldest first, with the change's diff."""
    rows = _rows(
        db,
        """SELECT a.*, c.diff AS change_diff, c.summary AS change_summary FROM alerts a
           JOIN changes c ON c.id = a.change_id
           WHERE a.user_id IS NULL AND a.status IN ('pending', 'sent') AND a.created_at >= ?
           ORDER BY a.id LIMIT ?""",
        [stamp(since), limit * 5],
    )
    for row in rows:
        row["payload"] = json.loads(row["payload"])
    return rows
