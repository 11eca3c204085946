"""Alert threads: which earlier channel alert a new one about the same source goes under, and how many it holds."""

from __future__ import annotations

import json
from datetime import datetime

from storage.database import Database
from storage.db import stamp
from storage.watching.sources import Row, _rows

TERMINAL = "terminal"  # posted_channel of alerts printed in terminal mode (their ts is ours, not Slack's)
# Alerts that may head a thread: change alerts and the tier and policy alerts that replace them.
_PARENT_KINDS = "(a.kind = 'change' OR a.kind LIKE 'tier-%' OR a.kind = 'policy-version')"


def thread_parent(db: Database, alert: Row, since: datetime, terminal: bool = False) -> Row | None:
    """The first top-level channel alert about the alert's source sent since `since` to the same channel
    (by the same medium: Slack, or the terminal), or None: the alert then posts top-level itself."""
    medium = "a.posted_channel = :terminal" if terminal else "a.posted_channel != :terminal"
    rows = _rows(
        db,
        f"""SELECT a.* FROM alerts a
            WHERE a.source_id = :source_id AND a.channel IS :channel AND a.user_id IS NULL
              AND a.status = 'sent' AND a.ts IS NOT NULL AND a.thread_ts IS NULL AND a.sent_at >= :since
              AND a.id != :id AND {_PARENT_KINDS} AND {medium}
            ORDER BY a.sent_at, a.id LIMIT 1""",
        {
            "source_id": alert.get("source_id"),
            "channel": alert.get("channel"),
            "since": stamp(since),
            "id": alert["id"],
            "terminal": TERMINAL,
        },
    )
    for row in rows:
        row["payload"] = json.loads(row["payload"])
    return rows[0] if rows else None


def record_post(db: Database, alert_id: int, posted_channel: str | None, thread_ts: str | None = None) -> None:
    """Where a row was posted (the channel ID Slack answered) and under which parent, if any."""
    db.execute(
        "UPDATE alerts SET posted_channel = ?, thread_ts = ? WHERE id = ?", [posted_channel, thread_ts, alert_id]
    )


def thread_size(db: Database, posted_channel: str, parent_ts: str) -> int:
    """How many alerts were posted in a thread."""
    row = db.execute(
        "SELECT COUNT(*) FROM alerts WHERE posted_channel = ? AND thread_ts = ?", [posted_channel, parent_ts]
    ).fetchone()
    return int(row[0])


# Alerts that may stand for, or join, one event seen by several sources.
_EVENT_KINDS = "(a.kind = 'change' OR a.kind LIKE 'tier-%' OR a.kind = 'policy-version' OR a.kind LIKE 'metric-%')"


def event_heads(db: Database, alert: Row, since: datetime, terminal: bool = False) -> list[Row]:
    """Top-level channel alerts (any source) sent to the alert's channel since `since`, oldest first: the posts
    an alert about the same event may join."""
    medium = "a.posted_channel = :terminal" if terminal else "a.posted_channel != :terminal"
    rows = _rows(
        db,
        f"""SELECT a.* FROM alerts a
            WHERE a.channel IS :channel AND a.user_id IS NULL AND a.status = 'sent' AND a.ts IS NOT NULL
              AND a.thread_ts IS NULL AND a.created_at >= :since AND a.id != :id AND {_EVENT_KINDS} AND {medium}
            ORDER BY a.sent_at, a.id LIMIT 50""",
        {"channel": alert.get("channel"), "since": stamp(since), "id": alert["id"], "terminal": TERMINAL},
    )
    for row in rows:
        row["payload"] = json.loads(row["payload"])
    return rows


def mark_event(db: Database, alert_ids: list[int], event: str) -> None:
    """Name the event an alert stands for (its head) or belongs to (posted in the head's thread)."""
    marks = ",".join("?" for _ in alert_ids)
    db.execute(f"UPDATE alerts SET event = ? WHERE id IN ({marks}) AND event IS NULL", [event, *alert_ids])


def event_members(db: Database, posted_channel: str, parent_ts: str) -> list[Row]:
    """The alerts posted in a thread because they are about the same event as its head."""
    rows = _rows(
        db,
        """SELECT * FROM alerts WHERE posted_channel = ? AND thread_ts = ? AND event IS NOT NULL ORDER BY id""",
        [posted_channel, parent_ts],
    )
    for row in rows:
        row["payload"] = json.loads(row["payload"])
    return rows
