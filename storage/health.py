"""What the health probes and the metrics read from the database: schema version, outbox depth, source state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from storage.db import parse_stamp
from storage.migrations import latest_version, schema_version

FAILED_STATUSES = ("error", "logged_out", "never")


@dataclass(frozen=True)
class Schema:
    version: int
    latest: int

    @property
    def current(self) -> bool:
        return self.version == self.latest


def schema(db: Database) -> Schema:
    """The database's schema version against the code's newest migration (a cheap read: one PRAGMA)."""
    return Schema(schema_version(db), latest_version())


def outbox_depth(db: Database) -> int:
    """Alerts still waiting to be posted (pending, whether due now or backing off)."""
    return int(db.execute("SELECT count(*) FROM alerts WHERE status = 'pending'").fetchone()[0])


def last_successes(db: Database) -> dict[str, datetime | None]:
    """Every watched source and when its last check succeeded (None while it is failing or never checked)."""
    rows = db.execute("SELECT id, last_checked, last_status FROM sources WHERE retired = 0 ORDER BY id").fetchall()
    return {
        str(source_id): parse_stamp(checked) if checked and status not in FAILED_STATUSES else None
        for source_id, checked, status in rows
    }
