"""Sources and their health: what is watched, when it was checked, how it is failing."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from storage.database import Database
from storage.db import stamp

Row = dict[str, Any]


def _rows(db: Database, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Row]:
    cursor = db.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def sync_sources(db: Database, specs: Iterable[Row], now: datetime, origin: str = "config") -> None:
    """Upsert source definitions from `origin`, keeping their state; retire those of that origin now gone."""
    seen = []
    for spec in specs:
        seen.append(spec["id"])
        _upsert(db, spec, None, now, origin)
    placeholders = ",".join("?" for _ in seen) or "''"
    db.execute(
        f"UPDATE sources SET retired = 1 WHERE origin = ? AND id NOT IN ({placeholders})",
        [origin, *seen],
    )


Keyed = tuple[str, str, Callable[[], Row]]  # a source's id, a digest of its definition, and how to build it


def sync_keyed(db: Database, keyed: Iterable[Keyed], now: datetime, origin: str = "config") -> int:
    """sync_sources for definitions that carry a digest: one whose stored digest, origin and liveness match is
    neither built nor written. Returns how many were written (0 when nothing changed)."""
    stored = {str(r[0]): (r[1], r[2], r[3]) for r in db.execute("SELECT id, spec_hash, origin, retired FROM sources")}
    seen: set[str] = set()
    written = 0
    for source_id, digest, build in keyed:
        seen.add(source_id)
        if stored.get(source_id) != (digest, origin, 0):
            _upsert(db, build(), digest, now, origin)
            written += 1
    gone = [sid for sid, (_, o, retired) in stored.items() if o == origin and not retired and sid not in seen]
    for start in range(0, len(gone), 500):
        chunk = gone[start : start + 500]
        db.execute(f"UPDATE sources SET retired = 1 WHERE id IN ({','.join('?' for _ in chunk)})", chunk)
    return written + len(gone)


def synced_set(db: Database, origin: str) -> str | None:
    """The digest of the whole set of `origin`'s definitions as last synced, or None (never, or changed since)."""
    row = db.execute("SELECT digest FROM source_sets WHERE origin = ?", [origin]).fetchone()
    return str(row[0]) if row else None


def mark_synced_set(db: Database, origin: str, digest: str) -> None:
    """Record that the rows now hold exactly this set (triggers on `sources` forget it at the next change)."""
    db.execute("INSERT OR REPLACE INTO source_sets (origin, digest) VALUES (?, ?)", [origin, digest])


def _upsert(db: Database, spec: Row, digest: str | None, now: datetime, origin: str) -> None:
    db.execute(
        """
            INSERT INTO sources (id, kind, url, topic, name, every, spec, origin, paused, added_at, spec_hash)
            VALUES (:id, :kind, :url, :topic, :name, :every, :spec, :origin, :paused, :now, :digest)
            ON CONFLICT(id) DO UPDATE SET
                kind = excluded.kind, url = excluded.url, topic = excluded.topic, name = excluded.name,
                every = excluded.every, spec = excluded.spec, origin = excluded.origin, retired = 0,
                spec_hash = excluded.spec_hash,
                paused = CASE WHEN sources.origin = excluded.origin THEN sources.paused ELSE excluded.paused END,
                -- a new URL means the old validators and content no longer describe this source
                etag = CASE WHEN sources.url = excluded.url THEN sources.etag END,
                last_modified = CASE WHEN sources.url = excluded.url THEN sources.last_modified END
            """,
        {
            "id": spec["id"],
            "kind": spec["kind"],
            "url": spec["url"],
            "topic": spec["topic"],
            "name": spec.get("name", ""),
            "every": spec["every"],
            "spec": json.dumps(spec, sort_keys=True, ensure_ascii=False),
            "origin": origin,
            "paused": int(bool(spec.get("paused", False))),
            "now": stamp(now),
            "digest": digest,
        },
    )


def stored_specs(db: Database, origin: str) -> list[Row]:
    """Source definitions kept in the database (those added from Slack), as dicts."""
    rows = _rows(db, "SELECT spec FROM sources WHERE origin = ? AND retired = 0 ORDER BY id", [origin])
    return [json.loads(r["spec"]) for r in rows]


def list_sources(db: Database, include_retired: bool = False) -> list[Row]:
    where = "" if include_retired else "WHERE retired = 0"
    return _rows(
        db,
        f"""
        SELECT s.*, (SELECT COUNT(*) FROM changes c WHERE c.source_id = s.id) AS change_count
        FROM sources s {where} ORDER BY s.id
        """,
    )


_POLL_COLUMNS = "id, etag, last_modified, body_hash, last_hash, failures, session_expired_at"


def poll_state(db: Database) -> dict[str, Row]:
    """What a poll pass needs to know of every source before fetching (validators, failure state); no counts."""
    return {r["id"]: r for r in _rows(db, f"SELECT {_POLL_COLUMNS} FROM sources WHERE retired = 0")}


def rows_by_id(db: Database, ids: Sequence[str]) -> dict[str, Row]:
    """Whole rows of these sources, in as few statements as SQLite's parameter limit allows."""
    found: dict[str, Row] = {}
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        marks = ",".join("?" for _ in chunk)
        found.update((r["id"], r) for r in _rows(db, f"SELECT * FROM sources WHERE id IN ({marks})", chunk))
    return found


def paused_ids(db: Database) -> set[str]:
    return {str(r[0]) for r in db.execute("SELECT id FROM sources WHERE paused = 1 AND retired = 0").fetchall()}


def source_ids(db: Database) -> list[str]:
    """The ids of the sources not retired (cheap: no change counts)."""
    return [str(r[0]) for r in db.execute("SELECT id FROM sources WHERE retired = 0 ORDER BY id").fetchall()]


def get_source(db: Database, source_id: str) -> Row | None:
    rows = _rows(db, "SELECT * FROM sources WHERE id = ?", [source_id])
    return rows[0] if rows else None


def set_paused(db: Database, source_id: str, paused: bool) -> bool:
    cursor = db.execute("UPDATE sources SET paused = ? WHERE id = ? AND retired = 0", [int(paused), source_id])
    return cursor.rowcount > 0


def retire_source(db: Database, source_id: str) -> bool:
    cursor = db.execute("UPDATE sources SET retired = 1 WHERE id = ? AND retired = 0", [source_id])
    return cursor.rowcount > 0


def mark_checked(db: Database, source_ids: Sequence[str], now: datetime, status: str) -> None:
    """Unchanged or not-modified sources: only the check time moves (one statement for many sources)."""
    # The old content answered again, so an empty result held as suspicious (see hold_result) was a blip.
    db.conn.executemany(
        """UPDATE sources SET last_checked = ?, last_status = ?, last_error = NULL,
           failures = 0, failing_since = NULL,
           warning = CASE WHEN held_hash IS NULL THEN warning END, held_hash = NULL WHERE id = ?""",
        [(stamp(now), status, sid) for sid in source_ids],
    )


def precise_stamp(moment: datetime) -> str:
    """When a check started, to the microsecond: two polls a second apart must still be told apart."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime; pass a timezone-aware time")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def observed_after(row: Row, started: datetime) -> bool:
    """True if the result recorded for this source comes from a check that started after `started`."""
    return bool(row.get("observed_at")) and str(row["observed_at"]) > precise_stamp(started)


def hold_result(
    db: Database, source_id: str, now: datetime, held_hash: str, warning: str, observed_at: datetime | None = None
) -> None:
    """A suspicious result (an empty page that had content): remembered and warned about, not stored as content.

    The validators and body hash stay those of the last good content, so the next check reads the page again."""
    db.execute(
        """UPDATE sources SET last_checked = :now, last_status = 'held', last_error = NULL, failures = 0,
           failing_since = NULL, held_hash = :held, warning = :warning,
           observed_at = COALESCE(:observed, observed_at) WHERE id = :id""",
        {
            "now": stamp(now),
            "held": held_hash,
            "warning": warning,
            "observed": precise_stamp(observed_at) if observed_at else None,
            "id": source_id,
        },
    )


def set_warning(db: Database, source_id: str, warning: str | None) -> None:
    db.execute("UPDATE sources SET warning = ? WHERE id = ?", [warning, source_id])


def record_success(
    db: Database,
    source_id: str,
    now: datetime,
    *,
    status: str,
    content_hash: str,
    etag: str | None,
    last_modified: str | None,
    warning: str | None,
    changed: bool,
    body_hash: str | None = None,
    observed_at: datetime | None = None,
) -> None:
    db.execute(
        """
        UPDATE sources SET last_checked = :now, last_status = :status, last_error = NULL,
            failures = 0, failing_since = NULL, etag = :etag, last_modified = :lm, last_hash = :hash,
            warning = :warning, body_hash = :body_hash, held_hash = NULL,
            observed_at = COALESCE(:observed, observed_at),
            last_change_at = CASE WHEN :changed THEN :now ELSE last_change_at END
        WHERE id = :id
        """,
        {
            "observed": precise_stamp(observed_at) if observed_at else None,
            "now": stamp(now),
            "status": status,
            "etag": etag,
            "lm": last_modified,
            "hash": content_hash,
            "warning": warning,
            "changed": int(changed),
            "body_hash": body_hash,
            "id": source_id,
        },
    )


def record_failure(db: Database, source_id: str, now: datetime, error: str, observed_at: datetime | None = None) -> int:
    """Count a failed check; the last good snapshot and validators are kept. Returns the failure count."""
    db.execute(
        """
        UPDATE sources SET last_checked = :now, last_status = 'error', last_error = :error,
            failures = failures + 1, failing_since = COALESCE(failing_since, :now),
            observed_at = COALESCE(:observed, observed_at)
        WHERE id = :id
        """,
        {
            "now": stamp(now),
            "error": error,
            "id": source_id,
            "observed": precise_stamp(observed_at) if observed_at else None,
        },
    )
    row = db.execute("SELECT failures FROM sources WHERE id = ?", [source_id]).fetchone()
    return int(row[0]) if row else 0


def log_poll(
    db: Database,
    started: datetime,
    finished: datetime,
    origin: str,
    counts: dict[str, int],
) -> None:
    """Log a poll pass. Quiet passes (nothing changed or failed) extend the previous quiet row of the
    same origin instead of adding one, so a database that sees no change does not grow."""
    quiet = not counts.get("changed") and not counts.get("failed")
    if quiet:
        last = db.execute(
            "SELECT id, changed, failed FROM polls WHERE origin = ? ORDER BY id DESC LIMIT 1", [origin]
        ).fetchone()
        if last and not last[1] and not last[2]:
            db.execute(
                """UPDATE polls SET finished_at = ?, passes = passes + 1, checked = checked + ?,
                   not_modified = not_modified + ? WHERE id = ?""",
                [stamp(finished), counts.get("checked", 0), counts.get("not_modified", 0), last[0]],
            )
            return
    db.execute(
        """INSERT INTO polls (started_at, finished_at, origin, checked, changed, failed, not_modified)
           VALUES (?, ?, ?, ?, ?, ?, ?)""",
        [
            stamp(started),
            stamp(finished),
            origin,
            counts.get("checked", 0),
            counts.get("changed", 0),
            counts.get("failed", 0),
            counts.get("not_modified", 0),
        ],
    )


def recent_polls(db: Database, limit: int = 10) -> list[Row]:
    return _rows(db, "SELECT * FROM polls ORDER BY id DESC LIMIT ?", [limit])
