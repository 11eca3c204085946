"""Opening the database: pragmas, explicit transactions, migrations, and storage faults named plainly.

A full disk, a read-only file or folder, an I/O error or a database that vanished is one exception,
`StorageUnavailable`, naming the file and the fix; callers hold their work instead of printing a traceback.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from storage.database import Database
from storage.migrations import SchemaTooNew, migrate, pending_migrations, refuse_newer

# Importing each area's schema module registers its migrations (numbered across areas, run in order).
from storage.schema import deals as deal_migrations  # noqa: F401
from storage.schema import knowledge as knowledge_migrations  # noqa: F401
from storage.schema import levels as level_migrations  # noqa: F401
from storage.schema import meaning as meaning_migrations  # noqa: F401
from storage.schema import money as money_migrations  # noqa: F401
from storage.schema import ops as ops_migrations  # noqa: F401
from storage.schema import people as people_migrations  # noqa: F401
from storage.schema import sync as sync_migrations  # noqa: F401
from storage.schema import threads as thread_migrations  # noqa: F401

# SQLite's primary result codes for "the storage, not the statement, is the problem".
_READONLY, _IOERR, _FULL, _CANTOPEN = 8, 10, 13, 14


class StorageUnavailable(Exception):
    """The database cannot be written (disk full, read-only, I/O error) or is gone; nothing was recorded."""

    def __init__(self, path: str | Path, problem: str, fix: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path, self.problem, self.fix = str(path), problem, fix

    def __str__(self) -> str:
        return f"cannot use the database {self.path}: {self.problem}. Fix: {self.fix}"


def storage_fault(exc: BaseException, path: str | Path) -> StorageUnavailable | None:
    """The StorageUnavailable an sqlite3 error means, or None when the fault is the statement's own."""
    if isinstance(exc, StorageUnavailable):
        return exc
    if not isinstance(exc, sqlite3.Error):
        return None
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(exc).lower()
    folder = _folder(path)
    io_error = primary == _IOERR or "disk i/o error" in text
    if primary == _FULL or "database or disk is full" in text or (io_error and _nearly_full(folder)):
        return StorageUnavailable(
            path,
            "the disk is full (SQLite could not write)",
            f"free space on the disk that holds {folder} (see `df -h {folder}`); "
            "a running bot resumes by itself once writes work, and nothing queued is lost",
        )
    if primary == _READONLY or "readonly database" in text:
        return StorageUnavailable(
            path,
            "the database is read-only",
            f"make {path} and its folder {folder} writable by the user running whisperer "
            "(SQLite also writes -wal and -shm files beside it)",
        )
    if io_error:
        return StorageUnavailable(
            path,
            "the disk reported an I/O error",
            f"check the disk that holds {folder} (the system log says more), and that the file was not removed",
        )
    if primary == _CANTOPEN or "unable to open database file" in text:
        return StorageUnavailable(
            path,
            "the file cannot be opened",
            f"check that the folder {folder} exists and is writable by the user running whisperer",
        )
    return None


def _folder(path: str | Path) -> Path:
    """The folder holding the database, spelled absolutely: "the disk that holds ." helps nobody."""
    try:
        return Path(path).resolve().parent
    except OSError:
        return Path(path).parent


def _nearly_full(folder: Path) -> bool:
    """SQLite reports a full disk as an I/O error when it cannot grow its -shm file; the free space tells."""
    try:
        return shutil.disk_usage(folder).free < 256 * 1024
    except OSError:
        return False


def _translated(exc: sqlite3.Error, path: str) -> BaseException:
    return storage_fault(exc, path) or exc


class _Cursor(sqlite3.Cursor):
    """A cursor whose storage faults surface as StorageUnavailable."""

    def execute(self, sql: str, parameters: Any = (), /) -> _Cursor:
        try:
            super().execute(sql, parameters)
        except sqlite3.Error as exc:
            raise _translated(exc, getattr(self.connection, "path", "?")) from exc
        return self

    def executemany(self, sql: str, seq_of_parameters: Iterable[Any], /) -> _Cursor:
        try:
            super().executemany(sql, seq_of_parameters)
        except sqlite3.Error as exc:
            raise _translated(exc, getattr(self.connection, "path", "?")) from exc
        return self


class _Connection(sqlite3.Connection):
    """A connection that knows its file and names storage faults (see `storage_fault`)."""

    path = "?"

    def cursor(self, factory: Any = _Cursor) -> Any:
        return super().cursor(factory)

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        cursor: _Cursor = self.cursor()
        return cursor.execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Iterable[Any], /) -> sqlite3.Cursor:
        cursor: _Cursor = self.cursor()
        return cursor.executemany(sql, seq_of_parameters)

    def executescript(self, sql_script: str, /) -> sqlite3.Cursor:
        try:
            return super().executescript(sql_script)
        except sqlite3.Error as exc:
            raise _translated(exc, self.path) from exc

    def commit(self) -> None:
        try:
            super().commit()
        except sqlite3.Error as exc:
            raise _translated(exc, self.path) from exc


@dataclass(frozen=True)
class FileIdentity:
    """Which file a path named when it was opened: the device and inode, whatever the spelling."""

    path: Path  # resolved
    device: int
    inode: int


def file_identity(path: str | Path) -> FileIdentity | None:
    """The identity of the file at `path` now (symlinks followed), or None if there is none."""
    try:
        resolved = Path(path).resolve()
        info = os.stat(resolved)
    except OSError:
        return None
    return FileIdentity(resolved, info.st_dev, info.st_ino)


def lost_database(path: str | Path, expected: FileIdentity) -> StorageUnavailable | None:
    """A StorageUnavailable if the database file was deleted or replaced since it was opened, else None."""
    now = file_identity(path)
    if now is None:
        return StorageUnavailable(
            path,
            "the database file was deleted while the bot was running",
            "stop the bot and restore the file from a backup (starting again would begin an empty history)",
        )
    if (now.device, now.inode) != (expected.device, expected.inode):
        return StorageUnavailable(
            path,
            "the database file was replaced by another file while the bot was running",
            "stop the bot, check which file is the right one, then start it again",
        )
    return None


def open_db(path: str | Path, *, upgrade: bool = True, create: bool = True) -> Database:
    """Open (creating if needed, unless `create` is False) the SQLite file with WAL, foreign keys and a busy
    timeout, then migrate. The connection runs in autocommit mode; writes that land together use `transaction`.
    """
    memory = str(path) == ":memory:"
    if not memory and not create and not Path(path).exists():
        # sqlite would quietly create an empty file here, i.e. start a new history
        raise StorageUnavailable(
            path,
            "the database file is missing",
            "restore it from a backup, or point [bot] database (or WHISPERER_DB) at the right file",
        )
    try:
        if not memory:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            str(path), isolation_level=None, check_same_thread=False, timeout=30, factory=_Connection
        )
    except (OSError, sqlite3.Error) as exc:
        raise storage_fault(exc, path) or _cannot_open(path, exc) from exc
    assert isinstance(conn, _Connection)
    conn.path = str(path)
    try:
        conn.execute("PRAGMA busy_timeout = 30000")
        if conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] == 0:
            # A new file: freed pages can be given back a few at a time (`whisperer prune`). An existing file
            # keeps its mode; switching needs one full VACUUM, which only `whisperer prune --vacuum` does.
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        db = Database(conn)
        try:
            refuse_newer(db, str(path))
        except SchemaTooNew as exc:
            raise NewerDatabase(path, exc.problem, exc.fix) from exc
        if upgrade:
            if not memory:
                backup_before_migrating(db, path)
            migrate(db)
    except BaseException:
        conn.close()
        raise
    return db


class NewerDatabase(StorageUnavailable):
    """The database was written by a newer release (see storage.migrations.SchemaTooNew): refused untouched."""


def backup_before_migrating(db: Database, path: str | Path) -> Path | None:
    """A copy of a database that has migrations pending, taken before any runs (the newest 3 are kept in
    `backups/` beside it); None when there is nothing to migrate or the database is new."""
    from storage.migrations import applied_migrations

    pending = pending_migrations(db)
    if not pending or not applied_migrations(db):
        return None
    # Imported only when there is a copy to take (most starts have no migration pending).
    from storage.ops.backups import BEFORE_MIGRATING, MIGRATION_KEEP, BackupError, backup_database, migration_folder

    try:
        copy = backup_database(
            path,
            migration_folder(path),
            datetime.now(UTC),  # a file name, not logic: the wall clock is fine here
            keep=MIGRATION_KEEP,
            kind=BEFORE_MIGRATING,
            version=max(applied_migrations(db)),
        )
    except BackupError as exc:
        raise StorageUnavailable(
            path,
            f"migrations {pending[0][0]}–{pending[-1][0]} are pending, and the copy taken before them failed: "
            f"{exc.problem}",
            exc.fix,
        ) from exc
    return copy.path


def _cannot_open(path: str | Path, exc: BaseException) -> StorageUnavailable:
    folder = _folder(path)
    return StorageUnavailable(
        path,
        f"the file cannot be created or opened ({getattr(exc, 'strerror', None) or exc})",
        f"check that {folder} is a folder the user running whisperer can write to",
    )


def probe_write(db: Database) -> None:
    """Write (and undo) a schema change, committed: StorageUnavailable when the file cannot take a write now."""
    with transaction(db):
        db.execute("CREATE TABLE IF NOT EXISTS _write_probe (x)")
        db.execute("DROP TABLE _write_probe")


def db_path(db: Database) -> str:
    """The file a database connection was opened on ('?' for a connection not opened by `open_db`)."""
    return str(getattr(db.conn, "path", "?"))


@contextmanager
def transaction(db: Database) -> Iterator[Database]:
    """BEGIN IMMEDIATE … COMMIT: one writer at a time, all or nothing (StorageUnavailable if it cannot land)."""
    conn = db.conn
    if conn.in_transaction:  # nested use joins the outer transaction
        yield db
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        with suppress(sqlite3.Error, StorageUnavailable):
            conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except BaseException:
        # A failed COMMIT (disk full) can leave the transaction open; the next BEGIN must start clean.
        if conn.in_transaction:
            with suppress(sqlite3.Error, StorageUnavailable):
                conn.execute("ROLLBACK")
        raise


@contextmanager
def savepoint(db: Database, name: str = "part") -> Iterator[Database]:
    """A part of a transaction that can fail alone: on an exception only its own writes are undone."""
    conn = db.conn
    conn.execute(f"SAVEPOINT {name}")
    try:
        yield db
    except BaseException:
        conn.execute(f"ROLLBACK TO {name}")
        conn.execute(f"RELEASE {name}")
        raise
    conn.execute(f"RELEASE {name}")


def stamp(now: datetime) -> str:
    """How times are stored: UTC ISO 8601 to the second, so text order is time order."""
    if now.tzinfo is None:
        raise ValueError("naive datetime; pass a timezone-aware 'now'")
    return now.astimezone(UTC).isoformat(timespec="seconds")


def parse_stamp(text: str) -> datetime:
    return datetime.fromisoformat(text)
