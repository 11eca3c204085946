"""Numbered schema migrations: each runs once, in order, inside its own transaction."""

from __future__ import annotations

from collections.abc import Callable

from storage.database import Database

Migration = Callable[[Database], None]
MIGRATIONS: list[tuple[int, str, Migration]] = []


def _run(db: Database, script: str) -> None:
    """Run DDL statements one by one; executescript would commit the migration's transaction early."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def migration(number: int, name: str) -> Callable[[Migration], Migration]:
    def register(fn: Migration) -> Migration:
        MIGRATIONS.append((number, name, fn))
        MIGRATIONS.sort(key=lambda m: m[0])
        return fn

    return register


@migration(1, "core pipeline: sources, snapshots, changes, poll log")
def _core(db: Database) -> None:
    _run(
        db,
        """
        CREATE TABLE sources (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            url TEXT NOT NULL,
            topic TEXT NOT NULL,
            name TEXT NOT NULL DEFAULT '',
            every INTEGER NOT NULL DEFAULT 1800,
            spec TEXT NOT NULL DEFAULT '{}',
            origin TEXT NOT NULL DEFAULT 'config',
            paused INTEGER NOT NULL DEFAULT 0,
            retired INTEGER NOT NULL DEFAULT 0,
            added_at TEXT NOT NULL,
            last_checked TEXT,
            last_status TEXT NOT NULL DEFAULT 'never',
            last_error TEXT,
            warning TEXT,
            failures INTEGER NOT NULL DEFAULT 0,
            failing_since TEXT,
            etag TEXT,
            last_modified TEXT,
            last_hash TEXT,
            last_change_at TEXT
        );
        CREATE TABLE snapshots (
            hash TEXT PRIMARY KEY,
            text TEXT NOT NULL,
            size INTEGER NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE changes (
            id INTEGER PRIMARY KEY,
            source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
            detected_at TEXT NOT NULL,
            kind TEXT NOT NULL,
            entry_key TEXT,
            old_hash TEXT REFERENCES snapshots(hash),
            new_hash TEXT REFERENCES snapshots(hash),
            added INTEGER NOT NULL DEFAULT 0,
            removed INTEGER NOT NULL DEFAULT 0,
            summary TEXT NOT NULL,
            diff TEXT NOT NULL
        );
        CREATE INDEX changes_source_time ON changes(source_id, detected_at);
        CREATE INDEX changes_time ON changes(detected_at);
        CREATE TABLE polls (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            finished_at TEXT NOT NULL,
            origin TEXT NOT NULL,
            checked INTEGER NOT NULL,
            changed INTEGER NOT NULL,
            failed INTEGER NOT NULL,
            not_modified INTEGER NOT NULL
        );
        """,
    )


@migration(2, "alert outbox")
def _outbox(db: Database) -> None:
    _run(
        db,
        """
        CREATE TABLE alerts (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            source_id TEXT,
            change_id INTEGER REFERENCES changes(id) ON DELETE SET NULL,
            channel TEXT,
            user_id TEXT,
            payload TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            last_error TEXT,
            sent_at TEXT,
            ts TEXT
        );
        CREATE INDEX alerts_due ON alerts(status, next_attempt_at);
        """,
    )


def schema_version(db: Database) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


class SchemaTooNew(Exception):
    """The database was written by a newer release: this code does not know its schema and must not touch it."""

    def __init__(self, path: str, version: int, unknown: list[tuple[int, str]]) -> None:
        self.path, self.version, self.unknown = path, version, unknown
        known = latest_version()
        which = ", ".join(f"{n} ({name})" if name else str(n) for n, name in unknown) or str(version)
        self.problem = (
            f"the database has schema version {version} (migrations this release does not know: {which}); "
            f"this release of whisperer knows up to version {known}, so a newer release wrote it"
        )
        self.fix = (
            "run the newer release again (pip install --upgrade huawei-whisperer, or the newer image), or put back "
            "the copy taken before that upgrade with `whisperer restore FILE` (see `whisperer db status`)"
        )
        super().__init__(f"{path}: {self.problem}")

    def __str__(self) -> str:
        return f"cannot use the database {self.path}: {self.problem}. Fix: {self.fix}"


# Migrations are recorded one by one: a row per migration applied (user_version is kept in step, as the
# largest applied, for releases that only read that). This bookkeeping table is not a migration itself: it
# must exist before migration 1 can be recorded.
_BOOKKEEPING = """CREATE TABLE IF NOT EXISTS schema_migrations (
    number INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT
)"""


def _has_bookkeeping(db: Database) -> bool:
    row = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").fetchone()
    return row is not None


def applied_migrations(db: Database) -> dict[int, tuple[str, str | None]]:
    """number → (name, when) of every migration the database records; a database from before the table
    existed counts every known migration up to its user_version."""
    if _has_bookkeeping(db):
        rows = db.execute("SELECT number, name, applied_at FROM schema_migrations").fetchall()
        return {int(n): (str(name), when) for n, name, when in rows}
    version = schema_version(db)
    return {number: (name, None) for number, name, _fn in MIGRATIONS if number <= version}


def pending_migrations(db: Database) -> list[tuple[int, str]]:
    applied = applied_migrations(db)
    return [(number, name) for number, name, _fn in MIGRATIONS if number not in applied]


def refuse_newer(db: Database, path: str) -> None:
    """SchemaTooNew if the database records a migration this code does not have (or a larger user_version)."""
    known = {number for number, _name, _fn in MIGRATIONS}
    applied = applied_migrations(db)
    unknown = sorted((n, name) for n, (name, _when) in applied.items() if n not in known)
    version = schema_version(db)
    if unknown or version > latest_version():
        raise SchemaTooNew(path, max([version, *applied]), unknown)


def _record_existing(db: Database) -> None:
    """Create the bookkeeping table; a database migrated before it existed gets a row per migration up to
    its user_version (when unknown), so nothing is applied twice."""
    if _has_bookkeeping(db):
        return
    version = schema_version(db)
    db.execute(_BOOKKEEPING)
    for number, name, _fn in MIGRATIONS:
        if number <= version:
            db.execute("INSERT INTO schema_migrations (number, name) VALUES (?, ?)", [number, name])


def migrate(db: Database, target: int | None = None, now: str | None = None) -> list[int]:
    """Apply every registered migration the database does not record (up to `target`), each in its own
    transaction, recorded one by one; return those applied. SchemaTooNew for a database from a newer release."""
    conn = db.conn
    path = str(getattr(conn, "path", "?"))
    refuse_newer(db, path)
    conn.execute("BEGIN IMMEDIATE")
    try:
        _record_existing(db)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    applied = []
    for number, name, fn in MIGRATIONS:
        if target is not None and number > target:
            break
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read inside the lock: another process may have migrated meanwhile.
            if db.execute("SELECT 1 FROM schema_migrations WHERE number = ?", [number]).fetchone():
                conn.execute("ROLLBACK")
                continue
            fn(db)
            db.execute(
                "INSERT INTO schema_migrations (number, name, applied_at) VALUES (?, ?, ?)",
                [number, name, now or _utc_now()],
            )
            version = int(db.execute("SELECT MAX(number) FROM schema_migrations").fetchone()[0])
            conn.execute(f"PRAGMA user_version = {version}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        applied.append(number)
    return applied


def _utc_now() -> str:
    """When a migration ran: bookkeeping for people, not logic, so the wall clock is read here."""
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds")


def latest_version() -> int:
    return MIGRATIONS[-1][0]


@migration(3, "people and topic subscriptions")
def _people(db: Database) -> None:
    _run(
        db,
        """
        CREATE TABLE people (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            email TEXT UNIQUE COLLATE NOCASE,
            slack_id TEXT UNIQUE,
            tz TEXT,
            created_at TEXT NOT NULL
        );
        CREATE TABLE subscriptions (
            slack_id TEXT NOT NULL,
            topic TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (slack_id, topic)
        );
        """,
    )


@migration(4, "Slack delivery health and handled request keys")
def _slack(db: Database) -> None:
    _run(
        db,
        """
        CREATE TABLE delivery_blocks (
            target TEXT PRIMARY KEY,
            error TEXT NOT NULL,
            fix TEXT NOT NULL DEFAULT '',
            since TEXT NOT NULL,
            probe_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 1
        );
        CREATE TABLE handled_requests (
            key TEXT PRIMARY KEY,
            seen_at TEXT NOT NULL
        );
        CREATE INDEX handled_requests_seen ON handled_requests(seen_at);
        """,
    )


@migration(10, "poll log: quiet passes share one row")
def _poll_passes(db: Database) -> None:
    # A new migration, not an edit to migration 1: databases created by earlier versions must gain the column too.
    db.execute("ALTER TABLE polls ADD COLUMN passes INTEGER NOT NULL DEFAULT 1")


@migration(11, "sources remember the bytes they last read")
def _body_hash(db: Database) -> None:
    # Pages without ETag or Last-Modified that send the same bytes again are not parsed again.
    db.execute("ALTER TABLE sources ADD COLUMN body_hash TEXT")


@migration(12, "sources remember when their recorded check started, and an empty result held as suspicious")
def _observed_and_held(db: Database) -> None:
    # observed_at: the start of the check whose result is recorded (microseconds), so an older check that
    # finishes later is discarded. held_hash: the snapshot of an empty result waiting for a second look.
    db.execute("ALTER TABLE sources ADD COLUMN observed_at TEXT")
    db.execute("ALTER TABLE sources ADD COLUMN held_hash TEXT")


@migration(13, "sessions that expire; metric readings marked with their source")
def _sessions(db: Database) -> None:
    # A logged-out source is a state (since when, why), not a failure count and not a change.
    db.execute("ALTER TABLE sources ADD COLUMN session_expired_at TEXT")
    db.execute("ALTER TABLE sources ADD COLUMN session_reason TEXT")
    db.execute("ALTER TABLE metrics ADD COLUMN source_id TEXT")


@migration(14, "who took a change, muted sources, alerts found by their Slack ts")
def _owners_and_mutes(db: Database) -> None:
    _run(
        db,
        """
        CREATE TABLE change_owners (
            change_id INTEGER PRIMARY KEY REFERENCES changes(id) ON DELETE CASCADE,
            user_id TEXT NOT NULL,
            taken_at TEXT NOT NULL
        );
        CREATE TABLE source_mutes (
            source_id TEXT PRIMARY KEY,
            until TEXT NOT NULL,
            muted_by TEXT NOT NULL,
            muted_at TEXT NOT NULL
        );
        CREATE INDEX alerts_ts ON alerts(ts)
        """,
    )


@migration(15, "certification holds: exam booked, reminder snoozed")
def _cert_holds(db: Database) -> None:
    _run(
        db,
        """
        CREATE TABLE cert_holds (
            cert_id INTEGER PRIMARY KEY REFERENCES certifications(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            until TEXT NOT NULL,
            set_by TEXT,
            set_at TEXT NOT NULL
        )
        """,
    )
