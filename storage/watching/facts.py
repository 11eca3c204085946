"""What a change means, kept with it: fact changes, impacts, term glosses; and thresholds read from pages."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from storage.database import Database
from storage.db import stamp
from storage.watching.sources import Row, _rows


def _dump(items: Sequence[dict[str, Any]]) -> str | None:
    return json.dumps(list(items), ensure_ascii=False) if items else None


def _load(text: Any) -> list[dict[str, Any]]:
    if not text:
        return []
    try:
        loaded = json.loads(str(text))
    except ValueError:
        return []
    return [item for item in loaded if isinstance(item, dict)] if isinstance(loaded, list) else []


def set_facts(db: Database, change_id: int, facts: Sequence[dict[str, Any]]) -> None:
    db.execute("UPDATE changes SET facts = ? WHERE id = ?", [_dump(facts), change_id])


def set_impacts(db: Database, change_id: int, impacts: Sequence[dict[str, Any]]) -> None:
    db.execute("UPDATE changes SET impacts = ? WHERE id = ?", [_dump(impacts), change_id])


def set_glosses(db: Database, change_id: int, glosses: Sequence[dict[str, Any]]) -> None:
    db.execute("UPDATE changes SET glosses = ? WHERE id = ?", [_dump(glosses), change_id])


def meaning_of(db: Database, change_id: int) -> dict[str, list[dict[str, Any]]]:
    """{"facts": […], "impacts": […], "glosses": […]}; empty lists for a change read before facts were kept."""
    row = db.execute("SELECT facts, impacts, glosses FROM changes WHERE id = ?", [change_id]).fetchone()
    if row is None:
        return {"facts": [], "impacts": [], "glosses": []}
    return {"facts": _load(row[0]), "impacts": _load(row[1]), "glosses": _load(row[2])}


def meanings(db: Database, change_ids: Sequence[int]) -> dict[int, dict[str, list[dict[str, Any]]]]:
    """The same for many changes at once (lists, the digest, Home)."""
    if not change_ids:
        return {}
    marks = ", ".join("?" for _ in change_ids)
    rows = db.execute(f"SELECT id, facts, impacts, glosses FROM changes WHERE id IN ({marks})", list(change_ids))
    return {int(r[0]): {"facts": _load(r[1]), "impacts": _load(r[2]), "glosses": _load(r[3])} for r in rows}


def record_threshold(
    db: Database, source_id: str, pattern: str, value: float, raw: str, now: datetime, change_id: int | None
) -> int:
    cursor = db.execute(
        """INSERT INTO followed_thresholds (source_id, pattern, value, raw, read_at, change_id)
           VALUES (?, ?, ?, ?, ?, ?)""",
        [source_id, pattern, value, raw, stamp(now), change_id],
    )
    return int(cursor.lastrowid or 0)


def latest_threshold(db: Database, source_id: str, pattern: str, now: datetime | None = None) -> Row | None:
    """The last value read for this source and pattern (at or before `now`, when given)."""
    clause, params = "source_id = ? AND pattern = ?", [source_id, pattern]
    if now is not None:
        clause += " AND read_at <= ?"
        params.append(stamp(now))
    rows = _rows(db, f"SELECT * FROM followed_thresholds WHERE {clause} ORDER BY id DESC LIMIT 1", params)
    return rows[0] if rows else None


def threshold_history(
    db: Database, source_id: str, pattern: str, limit: int = 10, now: datetime | None = None
) -> list[Row]:
    """Newest first; with `now`, only what had been read by then (--as-of)."""
    clause, params = "source_id = ? AND pattern = ?", [source_id, pattern]
    if now is not None:
        clause += " AND read_at <= ?"
        params.append(stamp(now))
    return _rows(db, f"SELECT * FROM followed_thresholds WHERE {clause} ORDER BY id DESC LIMIT ?", [*params, limit])
