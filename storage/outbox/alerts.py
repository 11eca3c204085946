"""The alert outbox: written with the fact that caused it, delivered later, exactly once."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from storage.database import Database
from storage.db import stamp
from storage.watching.sources import Row, _rows


def enqueue_alert(
    db: Database,
    key: str,
    kind: str,
    payload: dict[str, Any],
    now: datetime,
    *,
    source_id: str | None = None,
    change_id: int | None = None,
    channel: str | None = None,
    user_id: str | None = None,
) -> bool:
    """Add an alert unless one with the same key exists; True if it was added."""
    cursor = db.execute(
        """INSERT OR IGNORE INTO alerts (key, kind, source_id, change_id, channel, user_id, payload,
                                         created_at, next_attempt_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            key,
            kind,
            source_id,
            change_id,
            channel,
            user_id,
            json.dumps(payload, ensure_ascii=False, sort_keys=True),
            stamp(now),
            stamp(now),
        ],
    )
    return cursor.rowcount > 0


def _decode(rows: list[Row]) -> list[Row]:
    for row in rows:
        row["payload"] = json.loads(row["payload"])
    return rows


def due_alerts(db: Database, now: datetime, limit: int = 50) -> list[Row]:
    return _decode(
        _rows(
            db,
            """SELECT * FROM alerts WHERE status = 'pending' AND next_attempt_at <= ?
               ORDER BY id LIMIT ?""",
            [stamp(now), limit],
        )
    )


def pending_alerts(db: Database) -> list[Row]:
    return _decode(_rows(db, "SELECT * FROM alerts WHERE status = 'pending' ORDER BY id"))


def list_alerts(db: Database, status: str | None = None, limit: int = 100) -> list[Row]:
    if status:
        rows = _rows(db, "SELECT * FROM alerts WHERE status = ? ORDER BY id DESC LIMIT ?", [status, limit])
    else:
        rows = _rows(db, "SELECT * FROM alerts ORDER BY id DESC LIMIT ?", [limit])
    return _decode(rows)


# An attempt is counted when it begins (storage/outbox/attempts.py); one recorded without that is counted here.
_ANSWERED = "attempts = attempts + (attempt_started_at IS NULL), attempt_started_at = NULL"


def mark_sent(db: Database, alert_id: int, now: datetime, ts: str | None = None) -> None:
    db.execute(
        f"UPDATE alerts SET status = 'sent', sent_at = ?, ts = ?, {_ANSWERED} WHERE id = ?",
        [stamp(now), ts, alert_id],
    )


def mark_retry(
    db: Database, alert_id: int, now: datetime, delay: timedelta, error: str, *, answered: bool = True
) -> None:
    """Try again after `delay`. `answered` = False when Slack gave no clear answer (a timeout, a reset, a
    5xx): the post may have landed, so the row stays marked for a look in the channel before the next post."""
    counted = _ANSWERED if answered else "attempts = attempts + (attempt_started_at IS NULL)"
    db.execute(
        f"""UPDATE alerts SET {counted}, last_error = ?, next_attempt_at = ?
           WHERE id = ?""",
        [error, stamp(now + delay), alert_id],
    )


def mark_failed(db: Database, alert_id: int, now: datetime, error: str) -> None:
    """Give up on an alert that cannot succeed (channel gone, bot not invited): visible, not retried."""
    db.execute(
        f"""UPDATE alerts SET status = 'failed', {_ANSWERED}, last_error = ?, sent_at = ?
           WHERE id = ?""",
        [error, stamp(now), alert_id],
    )


def supersede_alert(db: Database, key: str, now: datetime, by: str) -> bool:
    """A pending alert that a more telling one replaces (a tier rename replaces its page diff): never sent."""
    cursor = db.execute(
        """UPDATE alerts SET status = 'superseded', last_error = ?, sent_at = ?
           WHERE key = ? AND status = 'pending'""",
        [f"superseded by {by}", stamp(now), key],
    )
    return cursor.rowcount > 0


def oldest_pending(db: Database) -> str | None:
    """When the longest-waiting pending alert was written (None when the outbox is empty)."""
    row = db.execute("SELECT MIN(created_at) FROM alerts WHERE status = 'pending'").fetchone()
    return str(row[0]) if row and row[0] else None


def alert_counts(db: Database) -> dict[str, int]:
    return {
        str(status): int(n)
        for status, n in db.execute("SELECT status, COUNT(*) FROM alerts GROUP BY status").fetchall()
    }


def due_heads(db: Database, now: datetime, per_target: int = 3, limit: int = 500) -> list[Row]:
    """The oldest few due alerts of each destination, oldest first: one busy channel's backlog cannot
    crowd the others out of a delivery run. Destinations are grouped as delivery sends them (DM user,
    person, channel; NULL channel = the alerts channel)."""
    rows = _decode(
        _rows(
            db,
            """SELECT * FROM (
                   SELECT *, ROW_NUMBER() OVER (
                       PARTITION BY COALESCE('user:' || user_id,
                                             'person:' || json_extract(payload, '$.person_id'),
                                             'channel:' || channel, '')
                       ORDER BY id) AS place
                   FROM alerts WHERE status = 'pending' AND next_attempt_at <= ?)
               WHERE place <= ? ORDER BY id LIMIT ?""",
            [stamp(now), per_target, limit],
        )
    )
    for row in rows:
        row.pop("place", None)
    return rows


def probe_writes(db: Database) -> None:
    """A write that changes nothing visible: raises StorageUnavailable while the disk refuses writes."""
    db.execute(
        """UPDATE alerts SET attempts = attempts
           WHERE id = (SELECT MIN(id) FROM alerts WHERE status = 'pending')"""
    )


def sent_alert_by_ts(db: Database, ts: str, channel: str | None = None) -> Row | None:
    """The delivered alert whose Slack message has this ts (in this channel), to redraw it after a click."""
    rows = _decode(
        _rows(
            db,
            """SELECT * FROM alerts WHERE ts = ? AND status = 'sent'
                 AND (? IS NULL OR posted_channel IS NULL OR posted_channel = ?) ORDER BY id LIMIT 1""",
            [ts, channel, channel],
        )
    )
    return rows[0] if rows else None


def posted_alerts(
    db: Database, *, change_id: int | None = None, source_id: str | None = None, limit: int = 20
) -> list[Row]:
    """Slack messages (channel and ts known) of the alerts about a change, or the latest about a source's
    changes: the messages to redraw when someone takes the change or mutes the source by typing."""
    column, value = ("change_id", change_id) if change_id is not None else ("source_id", source_id)
    return _decode(
        _rows(
            db,
            f"""SELECT * FROM alerts WHERE {column} = ? AND status = 'sent' AND change_id IS NOT NULL
                  AND ts IS NOT NULL AND posted_channel IS NOT NULL AND posted_channel != 'terminal'
                ORDER BY id DESC LIMIT ?""",
            [value, limit],
        )
    )
