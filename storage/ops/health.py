"""What the health probes and the metrics read from the database: schema version, outbox depth, source state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.database import Database
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
    """Every watched source and when its last check succeeded: for a failing source, when its failures began
    (its last success came just before); None when it never succeeded."""
    rows = db.execute(
        "SELECT id, last_checked, last_status, failing_since, last_hash FROM sources WHERE retired = 0 ORDER BY id"
    ).fetchall()
    found: dict[str, datetime | None] = {}
    for source_id, checked, status, failing_since, last_hash in rows:
        if checked and status not in FAILED_STATUSES:
            found[str(source_id)] = parse_stamp(checked)
        elif failing_since and last_hash:
            found[str(source_id)] = parse_stamp(failing_since)
        else:
            found[str(source_id)] = None
    return found
