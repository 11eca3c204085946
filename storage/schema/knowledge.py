"""Schema for partner knowledge (migrations 5 and up; 4 belongs to the Slack side)."""

from __future__ import annotations

from storage.database import Database
from storage.migrations import _run, migration


@migration(5, "tier ladders, tier events, partner state, policy versions")
def _tiers_and_policies(db: Database) -> None:
    _run(
        db,
        """
        CREATE TABLE tier_ladders (
            id INTEGER PRIMARY KEY,
            source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
            tiers TEXT NOT NULL,
            observed_at TEXT NOT NULL,
            change_id INTEGER REFERENCES changes(id) ON DELETE SET NULL
        );
        CREATE TABLE tier_events (
            id INTEGER PRIMARY KEY,
            source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            old_name TEXT,
            new_name TEXT,
            position INTEGER,
            detected_at TEXT NOT NULL,
            change_id INTEGER REFERENCES changes(id) ON DELETE SET NULL
        );
        CREATE TABLE partner_state (
            key TEXT PRIMARY KEY,
            value TEXT,
            basis TEXT,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE policy_versions (
            id INTEGER PRIMARY KEY,
            source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
            version TEXT NOT NULL,
            updated TEXT,
            observed_at TEXT NOT NULL,
            change_id INTEGER REFERENCES changes(id) ON DELETE SET NULL
        );
        CREATE INDEX tier_ladders_source ON tier_ladders(source_id, id);
        CREATE INDEX policy_versions_source ON policy_versions(source_id, id);
        """,
    )


@migration(6, "certifications")
def _certifications(db: Database) -> None:
    _run(
        db,
        """
        CREATE TABLE certifications (
            id INTEGER PRIMARY KEY,
            person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            name TEXT NOT NULL COLLATE NOCASE,
            level TEXT NOT NULL,
            number TEXT,
            passed TEXT,
            expires TEXT NOT NULL,
            expires_given INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (person_id, name)
        );
        CREATE INDEX certifications_expires ON certifications(expires);
        """,
    )


@migration(7, "deadlines")
def _deadlines(db: Database) -> None:
    _run(
        db,
        """
        CREATE TABLE deadlines (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            due TEXT NOT NULL,
            timed INTEGER NOT NULL DEFAULT 0,
            title TEXT NOT NULL,
            origin TEXT NOT NULL,
            source_id TEXT REFERENCES sources(id) ON DELETE CASCADE,
            change_id INTEGER REFERENCES changes(id) ON DELETE SET NULL,
            created_by TEXT,
            created_at TEXT NOT NULL,
            gone_at TEXT,
            removed_at TEXT,
            removed_by TEXT
        );
        CREATE INDEX deadlines_due ON deadlines(due);
        """,
    )


@migration(8, "metrics history and rebate rule confirmations")
def _metrics(db: Database) -> None:
    _run(
        db,
        """
        CREATE TABLE metrics (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            value REAL NOT NULL,
            set_at TEXT NOT NULL,
            set_by TEXT,
            note TEXT
        );
        CREATE INDEX metrics_name ON metrics(name, set_at);
        CREATE TABLE rebate_confirmations (
            id INTEGER PRIMARY KEY,
            rebate_id TEXT NOT NULL,
            confirmed_at TEXT NOT NULL,
            confirmed_by TEXT,
            change_id INTEGER REFERENCES changes(id) ON DELETE SET NULL
        );
        CREATE INDEX rebate_confirmations_rebate ON rebate_confirmations(rebate_id, confirmed_at);
        """,
    )


@migration(9, "glossary terms added by admins")
def _glossary(db: Database) -> None:
    _run(
        db,
        """
        CREATE TABLE glossary_terms (
            term TEXT PRIMARY KEY COLLATE NOCASE,
            meaning TEXT NOT NULL,
            added_by TEXT,
            added_at TEXT NOT NULL
        );
        """,
    )
