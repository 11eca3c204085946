"""The opportunity ledger: deals, each step they took (who, when), and their checklist ticks."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from storage.database import Database
from storage.db import stamp
from storage.watching.sources import Row, _rows


def customer_key(customer: str) -> str:
    """How two spellings of one customer are recognised: case, spaces and punctuation do not count."""
    return "".join(ch for ch in customer.casefold() if ch.isalnum())


def add_deal(
    db: Database,
    customer: str,
    origin: str,
    state: str,
    now: datetime,
    *,
    rfp: datetime | None = None,
    value: float | None = None,
    currency: str | None = None,
    owner: str | None = None,
    by: str | None = None,
    at: datetime | None = None,
) -> int:
    """A new deal and its first step; `at` backdates it (an import of a deal submitted last week)."""
    began = stamp(at or now)
    cursor = db.execute(
        """INSERT INTO deals (customer, customer_key, origin, state, state_at, rfp, value, currency, owner,
                              created_at, created_by)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            customer,
            customer_key(customer),
            origin,
            state,
            began,
            stamp(rfp) if rfp else None,
            value,
            currency,
            owner,
            stamp(now),
            by,
        ],
    )
    deal_id = int(cursor.lastrowid or 0)
    db.execute("INSERT INTO deal_steps (deal_id, state, at, by) VALUES (?, ?, ?, ?)", [deal_id, state, began, by])
    return deal_id


def get_deal(db: Database, deal_id: int) -> Row | None:
    rows = _rows(db, "SELECT * FROM deals WHERE id = ?", [deal_id])
    return rows[0] if rows else None


def list_deals(db: Database, states: Iterable[str] | None = None) -> list[Row]:
    """Newest first; optionally only those in `states`."""
    wanted = list(states) if states is not None else None
    if wanted is None:
        return _rows(db, "SELECT * FROM deals ORDER BY id DESC")
    if not wanted:
        return []
    marks = ",".join("?" for _ in wanted)
    return _rows(db, f"SELECT * FROM deals WHERE state IN ({marks}) ORDER BY id DESC", wanted)


def deals_for_customer(db: Database, customer: str) -> list[Row]:
    return _rows(db, "SELECT * FROM deals WHERE customer_key = ? ORDER BY id", [customer_key(customer)])


def count_in_state(db: Database, state: str) -> int:
    return int(db.execute("SELECT count(*) FROM deals WHERE state = ?", [state]).fetchone()[0])


def move_deal(db: Database, deal_id: int, state: str, now: datetime, by: str | None, note: str | None = None) -> None:
    """Record a step: the deal's state and when it began, plus the step in its history."""
    db.execute("UPDATE deals SET state = ?, state_at = ? WHERE id = ?", [state, stamp(now), deal_id])
    db.execute(
        "INSERT INTO deal_steps (deal_id, state, at, by, note) VALUES (?, ?, ?, ?, ?)",
        [deal_id, state, stamp(now), by, note],
    )


def deal_steps(db: Database, deal_id: int) -> list[Row]:
    return _rows(db, "SELECT * FROM deal_steps WHERE deal_id = ? ORDER BY id", [deal_id])


def checked_items(db: Database, deal_id: int) -> dict[int, Row]:
    return {int(r["item"]): r for r in _rows(db, "SELECT * FROM deal_checks WHERE deal_id = ?", [deal_id])}


def check_item(db: Database, deal_id: int, item: int, now: datetime, by: str | None) -> bool:
    cursor = db.execute(
        "INSERT OR IGNORE INTO deal_checks (deal_id, item, done_at, done_by) VALUES (?, ?, ?, ?)",
        [deal_id, item, stamp(now), by],
    )
    return cursor.rowcount > 0


def uncheck_item(db: Database, deal_id: int, item: int) -> bool:
    return db.execute("DELETE FROM deal_checks WHERE deal_id = ? AND item = ?", [deal_id, item]).rowcount > 0
