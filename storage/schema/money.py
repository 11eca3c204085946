"""Schema for money: MDF requests with their steps and evidence, rebate settlement steps, gated-fund ticks."""

from __future__ import annotations

from storage.database import Database
from storage.migrations import _run, migration


@migration(21, "money: MDF requests, their steps and evidence; settlement steps; gated-fund ticks")
def _money(db: Database) -> None:
    _run(
        db,
        """
        CREATE TABLE mdf_requests (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            start TEXT NOT NULL,
            end TEXT NOT NULL,
            amount REAL,
            currency TEXT,
            owner TEXT,
            state TEXT NOT NULL DEFAULT 'planned',
            state_at TEXT NOT NULL,
            created_by TEXT,
            created_at TEXT NOT NULL
        );
        CREATE INDEX mdf_by_state ON mdf_requests(state, start);
        CREATE TABLE mdf_steps (
            id INTEGER PRIMARY KEY,
            request_id INTEGER NOT NULL REFERENCES mdf_requests(id) ON DELETE CASCADE,
            state TEXT NOT NULL,
            by TEXT,
            at TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX mdf_steps_by_request ON mdf_steps(request_id, id);
        CREATE TABLE mdf_evidence (
            request_id INTEGER NOT NULL REFERENCES mdf_requests(id) ON DELETE CASCADE,
            item TEXT NOT NULL,
            by TEXT,
            at TEXT NOT NULL,
            PRIMARY KEY (request_id, item)
        );
        CREATE TABLE settlement_steps (
            rebate_id TEXT NOT NULL,
            period TEXT NOT NULL,
            step TEXT NOT NULL,
            by TEXT,
            at TEXT NOT NULL,
            PRIMARY KEY (rebate_id, period, step)
        );
        CREATE TABLE fund_ticks (
            id INTEGER PRIMARY KEY,
            fund_id TEXT NOT NULL,
            item TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            by TEXT,
            at TEXT NOT NULL
        );
        CREATE INDEX fund_ticks_by_fund ON fund_ticks(fund_id, item)
        """,
    )
