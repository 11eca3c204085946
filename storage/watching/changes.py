"""Content-addressed snapshots and the changes between them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage.database import Database
from storage.db import stamp
from storage.watching.sources import Row, _rows


def save_snapshot(db: Database, content_hash: str, text: str, now: datetime) -> bool:
    """Store a snapshot under its hash; identical content is stored once. True if it was new."""
    cursor = db.execute(
        "INSERT OR IGNORE INTO snapshots (hash, text, size, created_at) VALUES (?, ?, ?, ?)",
        [content_hash, text, len(text.encode("utf-8")), stamp(now)],
    )
    if cursor.rowcount == 0:  # seen before; if retention pruned its body, this content is current again
        db.execute(
            "UPDATE snapshots SET text = ?, pruned_at = NULL, created_at = ? WHERE hash = ? AND pruned_at IS NOT NULL",
            [text, stamp(now), content_hash],
        )
    return cursor.rowcount > 0


def get_snapshot(db: Database, content_hash: str | None) -> str | None:
    if not content_hash:
        return None
    row = db.execute("SELECT text FROM snapshots WHERE hash = ? AND pruned_at IS NULL", [content_hash]).fetchone()
    return str(row[0]) if row else None  # a body retention pruned is gone: None, as if never stored


def add_change(
    db: Database,
    source_id: str,
    now: datetime,
    *,
    kind: str,
    summary: str,
    diff: str,
    old_hash: str | None,
    new_hash: str | None,
    added: int = 0,
    removed: int = 0,
    entry_key: str | None = None,
) -> int:
    cursor = db.execute(
        """INSERT INTO changes (source_id, detected_at, kind, entry_key, old_hash, new_hash,
                                added, removed, summary, diff)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [source_id, stamp(now), kind, entry_key, old_hash, new_hash, added, removed, summary, diff],
    )
    return int(cursor.lastrowid or 0)


_CHANGE_COLUMNS = """c.id, c.source_id, c.detected_at, c.kind, c.entry_key, c.added, c.removed, c.summary,
    c.facts, c.impacts, c.glosses, c.level, c.level_why, s.name AS source_name, s.topic, s.url"""


def list_changes(
    db: Database,
    *,
    source_id: str | None = None,
    topic: str | None = None,
    since: datetime | None = None,
    limit: int = 20,
) -> list[Row]:
    """Newest first; without the diff text, which can be large."""
    where: list[str] = []
    params: dict[str, object] = {}
    if source_id:
        where.append("c.source_id = :source_id")
        params["source_id"] = source_id
    if topic:
        where.append("s.topic = :topic")
        params["topic"] = topic
    if since:
        where.append("c.detected_at >= :since")
        params["since"] = stamp(since)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    params["limit"] = limit
    return _rows(
        db,
        f"""SELECT {_CHANGE_COLUMNS} FROM changes c JOIN sources s ON s.id = c.source_id
            {clause} ORDER BY c.detected_at DESC, c.id DESC LIMIT :limit""",
        params,
    )


def get_change(db: Database, change_id: int) -> Row | None:
    rows = _rows(
        db,
        f"""SELECT {_CHANGE_COLUMNS}, c.diff, c.old_hash, c.new_hash
            FROM changes c JOIN sources s ON s.id = c.source_id WHERE c.id = ?""",
        [change_id],
    )
    return rows[0] if rows else None


def count_changes(db: Database) -> int:
    return int(db.execute("SELECT COUNT(*) FROM changes").fetchone()[0])


def table_counts(db: Database) -> dict[str, Any]:
    """Row counts per table, for `doctor` and the benchmarks."""
    names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()]
    return {name: int(db.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]) for name in sorted(names)}
