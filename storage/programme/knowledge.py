"""Tier ladders and renames, the partner's effective tier, and policy versions."""

from __future__ import annotations

import json
from datetime import datetime

from storage.database import Database
from storage.db import stamp
from storage.watching.sources import Row, _rows


def latest_ladder(db: Database, source_id: str) -> list[str] | None:
    row = db.execute("SELECT tiers FROM tier_ladders WHERE source_id = ? ORDER BY id DESC LIMIT 1", [source_id])
    found = row.fetchone()
    return list(json.loads(found[0])) if found else None


def record_ladder(db: Database, source_id: str, tiers: list[str], now: datetime, change_id: int | None) -> None:
    db.execute(
        "INSERT INTO tier_ladders (source_id, tiers, observed_at, change_id) VALUES (?, ?, ?, ?)",
        [source_id, json.dumps(tiers, ensure_ascii=False), stamp(now), change_id],
    )


def ladders(db: Database) -> list[Row]:
    """The latest ladder of every source that has one (retired sources left out)."""
    rows = _rows(
        db,
        """SELECT l.source_id, l.tiers, l.observed_at, s.name AS source_name, s.url
           FROM tier_ladders l JOIN sources s ON s.id = l.source_id
           WHERE s.retired = 0 AND l.id = (SELECT MAX(id) FROM tier_ladders WHERE source_id = l.source_id)
           ORDER BY l.source_id""",
    )
    for row in rows:
        row["tiers"] = json.loads(row["tiers"])
    return rows


def record_tier_event(
    db: Database,
    source_id: str,
    kind: str,
    old: str | None,
    new: str | None,
    position: int | None,
    now: datetime,
    change_id: int | None,
) -> int:
    cursor = db.execute(
        """INSERT INTO tier_events (source_id, kind, old_name, new_name, position, detected_at, change_id)
           VALUES (?, ?, ?, ?, ?, ?, ?)""",
        [source_id, kind, old, new, position, stamp(now), change_id],
    )
    return int(cursor.lastrowid or 0)


def tier_events(db: Database) -> list[Row]:
    """Every rename, addition, removal and reordering, oldest first."""
    return _rows(
        db,
        """SELECT e.*, s.name AS source_name FROM tier_events e JOIN sources s ON s.id = e.source_id
           ORDER BY e.detected_at, e.id""",
    )


def effective_tier(db: Database, configured: str | None) -> str | None:
    """The partner's tier under its current name: a rename the bot saw wins over the configured name,
    until an admin configures a different tier (then the configuration is the truth again)."""
    found = db.execute("SELECT value, basis FROM partner_state WHERE key = 'tier'").fetchone()
    if found and configured and found[1] == configured:
        return str(found[0])
    return configured


def follow_tier(db: Database, configured: str, name: str, now: datetime) -> None:
    db.execute(
        """INSERT INTO partner_state (key, value, basis, updated_at) VALUES ('tier', ?, ?, ?)
           ON CONFLICT(key) DO UPDATE SET value = excluded.value, basis = excluded.basis,
           updated_at = excluded.updated_at""",
        [name, configured, stamp(now)],
    )


def latest_policy_version(db: Database, source_id: str) -> Row | None:
    rows = _rows(db, "SELECT * FROM policy_versions WHERE source_id = ? ORDER BY id DESC LIMIT 1", [source_id])
    return rows[0] if rows else None


def record_policy_version(
    db: Database, source_id: str, version: str, updated: str | None, now: datetime, change_id: int | None
) -> int:
    cursor = db.execute(
        """INSERT INTO policy_versions (source_id, version, updated, observed_at, change_id)
           VALUES (?, ?, ?, ?, ?)""",
        [source_id, version, updated, stamp(now), change_id],
    )
    return int(cursor.lastrowid or 0)


def policy_versions(db: Database, source_id: str) -> list[Row]:
    """One source's versions, newest first."""
    return _rows(db, "SELECT * FROM policy_versions WHERE source_id = ? ORDER BY id DESC", [source_id])


def policy_sources(db: Database) -> list[Row]:
    """Every live policy source, with its current version (if one was read) and last change."""
    return _rows(
        db,
        """SELECT s.id, s.name, s.url, s.last_change_at, s.last_checked,
                  v.version, v.updated, v.observed_at AS version_at, v.change_id AS version_change_id,
                  (SELECT version FROM policy_versions p WHERE p.source_id = s.id AND p.id < v.id
                   ORDER BY p.id DESC LIMIT 1) AS previous_version,
                  (SELECT MAX(id) FROM changes c WHERE c.source_id = s.id) AS last_change_id
           FROM sources s
           LEFT JOIN policy_versions v ON v.id = (SELECT MAX(id) FROM policy_versions WHERE source_id = s.id)
           WHERE s.topic = 'policy' AND s.retired = 0 ORDER BY s.id""",
    )
