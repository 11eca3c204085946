"""Schema for the opportunity ledger: deals, every step each took, and their checklist ticks."""

from __future__ import annotations

from storage.database import Database
from storage.migrations import _run, migration


@migration(22, "opportunity ledger: deals, their steps and checklist ticks")
def _deals(db: Database) -> None:
    # origin: partner (PO), huawei (HO) or prereg (customer pre-registration). `state_at` is when the current
    # state began: every deadline of a deal counts from it, so nothing derived is stored.
    _run(
        db,
        """
        CREATE TABLE deals (
            id INTEGER PRIMARY KEY,
            customer TEXT NOT NULL,
            customer_key TEXT NOT NULL,
            origin TEXT NOT NULL,
            state TEXT NOT NULL,
            state_at TEXT NOT NULL,
            rfp TEXT,
            value REAL,
            currency TEXT,
            owner TEXT,
            created_at TEXT NOT NULL,
            created_by TEXT
        );
        CREATE INDEX deals_by_customer ON deals(customer_key);
        CREATE INDEX deals_by_state ON deals(state);
        CREATE TABLE deal_steps (
            id INTEGER PRIMARY KEY,
            deal_id INTEGER NOT NULL REFERENCES deals(id),
            state TEXT NOT NULL,
            at TEXT NOT NULL,
            by TEXT,
            note TEXT
        );
        CREATE INDEX deal_steps_by_deal ON deal_steps(deal_id);
        CREATE TABLE deal_checks (
            deal_id INTEGER NOT NULL REFERENCES deals(id),
            item INTEGER NOT NULL,
            done_at TEXT NOT NULL,
            done_by TEXT,
            PRIMARY KEY (deal_id, item)
        )
        """,
    )
