"""MDF requests (with each step and ticked evidence), rebate settlement steps and gated-fund ticks."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from storage.database import Database
from storage.db import stamp
from storage.watching.sources import Row, _rows


# ── MDF requests ──
def add_request(
    db: Database,
    name: str,
    start: date,
    end: date,
    amount: float | None,
    currency: str | None,
    owner: str | None,
    by: str | None,
    now: datetime,
    state: str = "planned",
    request_id: int | None = None,
) -> int:
    """A new request (with the given id when one is imported); its first step is `state`."""
    cursor = db.execute(
        """INSERT INTO mdf_requests (id, name, start, end, amount, currency, owner, state, state_at, created_by,
                                     created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [request_id, name, start.isoformat(), end.isoformat(), amount, currency, owner, state, stamp(now), by,
         stamp(now)],
    )  # fmt: skip
    request_id = int(cursor.lastrowid or 0)
    db.execute(
        "INSERT INTO mdf_steps (request_id, state, by, at, note) VALUES (?, ?, ?, ?, '')",
        [request_id, state, by, stamp(now)],
    )
    return request_id


def get_request(db: Database, request_id: int) -> Row | None:
    rows = _rows(db, "SELECT * FROM mdf_requests WHERE id = ?", [request_id])
    return rows[0] if rows else None


def list_requests(db: Database, states: Iterable[str] | None = None) -> list[Row]:
    if states is None:
        return _rows(db, "SELECT * FROM mdf_requests ORDER BY start, id")
    wanted = list(states)
    marks = ",".join("?" for _ in wanted) or "''"
    return _rows(db, f"SELECT * FROM mdf_requests WHERE state IN ({marks}) ORDER BY start, id", wanted)


def move_request(
    db: Database, request_id: int, old: str, new: str, by: str | None, now: datetime, note: str = ""
) -> bool:
    """Move from `old` to `new`; False if the request is no longer in `old` (someone else moved it first)."""
    cursor = db.execute(
        "UPDATE mdf_requests SET state = ?, state_at = ? WHERE id = ? AND state = ?",
        [new, stamp(now), request_id, old],
    )
    if not cursor.rowcount:
        return False
    db.execute(
        "INSERT INTO mdf_steps (request_id, state, by, at, note) VALUES (?, ?, ?, ?, ?)",
        [request_id, new, by, stamp(now), note],
    )
    return True


def update_request(
    db: Database,
    request_id: int,
    name: str,
    start: date,
    end: date,
    amount: float | None,
    currency: str | None,
    owner: str | None,
) -> None:
    db.execute(
        "UPDATE mdf_requests SET name = ?, start = ?, end = ?, amount = ?, currency = ?, owner = ? WHERE id = ?",
        [name, start.isoformat(), end.isoformat(), amount, currency, owner, request_id],
    )


def set_owner(db: Database, request_id: int, owner: str) -> None:
    db.execute("UPDATE mdf_requests SET owner = ? WHERE id = ?", [owner, request_id])


def steps(db: Database, request_id: int) -> list[Row]:
    return _rows(db, "SELECT * FROM mdf_steps WHERE request_id = ? ORDER BY id", [request_id])


def last_steps(db: Database, state: str) -> dict[int, Row]:
    """Each request's latest step into `state` (when it was last rejected, approved, …)."""
    rows = _rows(
        db,
        """SELECT s.* FROM mdf_steps s JOIN (SELECT request_id, MAX(id) AS id FROM mdf_steps WHERE state = ?
           GROUP BY request_id) m ON m.id = s.id""",
        [state],
    )
    return {int(r["request_id"]): r for r in rows}


def evidence(db: Database, request_id: int) -> dict[str, Row]:
    return {r["item"]: r for r in _rows(db, "SELECT * FROM mdf_evidence WHERE request_id = ?", [request_id])}


def all_evidence(db: Database) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for row in _rows(db, "SELECT request_id, item FROM mdf_evidence"):
        out.setdefault(int(row["request_id"]), set()).add(str(row["item"]))
    return out


def tick_evidence(db: Database, request_id: int, item: str, by: str | None, now: datetime) -> bool:
    cursor = db.execute(
        "INSERT OR IGNORE INTO mdf_evidence (request_id, item, by, at) VALUES (?, ?, ?, ?)",
        [request_id, item, by, stamp(now)],
    )
    return cursor.rowcount > 0


def untick_evidence(db: Database, request_id: int, item: str) -> bool:
    cursor = db.execute("DELETE FROM mdf_evidence WHERE request_id = ? AND item = ?", [request_id, item])
    return cursor.rowcount > 0


# ── rebate settlements ──
def settlement_steps(db: Database, rebate_ids: Iterable[str] | None = None) -> dict[tuple[str, str], dict[str, Row]]:
    """(rebate, period) → step → row."""
    out: dict[tuple[str, str], dict[str, Row]] = {}
    for row in _rows(db, "SELECT * FROM settlement_steps ORDER BY at"):
        if rebate_ids is None or row["rebate_id"] in rebate_ids:
            out.setdefault((row["rebate_id"], row["period"]), {})[row["step"]] = row
    return out


def record_settlement(db: Database, rebate_id: str, period: str, step: str, by: str | None, now: datetime) -> bool:
    cursor = db.execute(
        "INSERT OR IGNORE INTO settlement_steps (rebate_id, period, step, by, at) VALUES (?, ?, ?, ?, ?)",
        [rebate_id, period, step, by, stamp(now)],
    )
    return cursor.rowcount > 0


# ── gated funds ──
def fund_ticks(db: Database, fund_id: str) -> list[Row]:
    return _rows(db, "SELECT * FROM fund_ticks WHERE fund_id = ? ORDER BY id", [fund_id])


def tick_fund(db: Database, fund_id: str, item: str, note: str, by: str | None, now: datetime) -> int:
    cursor = db.execute(
        "INSERT INTO fund_ticks (fund_id, item, note, by, at) VALUES (?, ?, ?, ?, ?)",
        [fund_id, item, note, by, stamp(now)],
    )
    return int(cursor.lastrowid or 0)


def untick_fund(db: Database, fund_id: str, item: str) -> Row | None:
    """Remove the latest tick of an item; the removed row, or None when there was none."""
    rows = _rows(
        db, "SELECT * FROM fund_ticks WHERE fund_id = ? AND item = ? ORDER BY id DESC LIMIT 1", [fund_id, item]
    )
    if not rows:
        return None
    db.execute("DELETE FROM fund_ticks WHERE id = ?", [rows[0]["id"]])
    return rows[0]
