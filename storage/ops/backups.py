"""Copies of the database that are safe to take while the bot writes, and putting one back.

A copy is made with SQLite's online backup API (never by copying the file: a WAL database copied mid-write
can be corrupt), checked with `PRAGMA quick_check`, fsynced, and only then renamed into place, so a
half-written copy never carries a final name. Copies are named after the database (`whisperer.db` →
`whisperer-20261207T030000Z.db`), so databases sharing a folder keep their own; old ones are pruned.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

DAILY = ""  # `whisperer backup` and the [backup] job: `<database>-<time>.db`
BEFORE_MIGRATING = (
    "before-migration-"  # taken by open_db before it migrates: `<database>-before-migration-v16-<time>.db`
)
MIGRATION_KEEP = 3
_TAIL = re.compile(r"^(?:v\d+-)?(?P<stamp>\d{8}T\d{6}Z)(?:-\d+)?\.db$")  # what follows the prefix


class BackupError(Exception):
    """A copy that could not be made or used; `problem` and `fix` are for people."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.problem, self.fix = problem, fix

    def __str__(self) -> str:
        return f"{self.problem}. Fix: {self.fix}"


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int
    taken_at: datetime
    pruned: tuple[Path, ...] = ()


def file_stamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def migration_folder(database: str | Path) -> Path:
    """Where open_db keeps the copies it takes before migrating: `backups/` beside the database."""
    return Path(database).resolve().parent / "backups"


def prefix_for(database: str | Path, kind: str = DAILY) -> str:
    """How copies of this database (of this kind) are named: its file name's stem, then the kind."""
    stem = re.sub(r"[^a-z0-9]+", "-", Path(database).stem.lower()).strip("-") or "whisperer"
    return f"{stem}-{kind}"


def backup_database(
    source: str | Path, folder: str | Path, now: datetime, *, keep: int, kind: str = DAILY, version: int | None = None
) -> Backup:
    """Copy the database at `source` into `folder` (online, checked, fsynced, renamed into place), then keep
    only the newest `keep` copies of it (of this kind). BackupError if the copy cannot be made or is not sound."""
    prefix = prefix_for(source, kind)
    if keep < 1:
        raise BackupError(f"--keep {keep} would delete the copy just taken", "keep at least 1 copy")
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"cannot create the backup folder {folder} ({exc.strerror})", _writable(folder)) from exc
    if not Path(source).exists():
        raise BackupError(f"there is no database at {source}", "check [bot] database (or WHISPERER_DB)")
    tag = f"v{version}-" if version is not None else ""
    final = _free_name(folder, f"{prefix}{tag}{file_stamp(now)}")
    partial = folder / f".{final.name}.partial"
    try:
        with closing(sqlite3.connect(str(source), timeout=30)) as src, closing(sqlite3.connect(str(partial))) as dst:
            src.backup(dst)  # one step: a consistent snapshot, whatever other connections write meanwhile
            dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
            problems = [str(r[0]) for r in dst.execute("PRAGMA quick_check").fetchall()]
        if problems != ["ok"]:
            raise BackupError(
                f"the copy of {source} failed its integrity check ({'; '.join(problems[:3])})",
                f"run `sqlite3 {source} 'PRAGMA integrity_check'`; the source itself may be damaged",
            )
        _fsync(partial)
        os.replace(partial, final)
        _fsync_folder(folder)
    except sqlite3.Error as exc:
        raise BackupError(f"could not copy {source} into {folder} ({exc})", _writable(folder)) from exc
    except OSError as exc:
        raise BackupError(f"could not write the copy in {folder} ({exc.strerror or exc})", _writable(folder)) from exc
    finally:
        with suppress(OSError):
            partial.unlink()
    pruned = prune_copies(folder, prefix, keep)
    return Backup(final, final.stat().st_size, now, tuple(pruned))


def _writable(folder: Path) -> str:
    return f"make {folder} a folder the user running whisperer can write to, with free space for a copy"


def _free_name(folder: Path, stem: str) -> Path:
    path, n = folder / f"{stem}.db", 1
    while path.exists():  # two copies within one second
        path, n = folder / f"{stem}-{n}.db", n + 1
    return path


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    with suppress(OSError):  # not every file system lets a folder be fsynced
        _fsync(folder)


def copies(folder: str | Path, prefix: str) -> list[Path]:
    """The copies in `folder` named with this prefix (see `prefix_for`), oldest first."""
    found = []
    with suppress(OSError):
        for path in Path(folder).iterdir():
            tail = _TAIL.match(path.name[len(prefix) :]) if path.name.startswith(prefix) else None
            if tail and path.is_file():
                found.append((tail.group("stamp"), path.name, path))
    return [path for _stamp, _name, path in sorted(found)]


def prune_copies(folder: str | Path, prefix: str, keep: int) -> list[Path]:
    found = copies(folder, prefix)
    gone = found[: max(len(found) - keep, 0)]
    for path in gone:
        with suppress(OSError):
            path.unlink()
    return gone


@dataclass(frozen=True)
class Inspection:
    version: int
    migrations: dict[int, str]
    tables: int


def inspect_copy(path: str | Path) -> Inspection:
    """Open a copy read-only and check it whole (`PRAGMA integrity_check`); BackupError if it is not sound."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path} is not a file", "give the path of a copy `whisperer backup` made")
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            problems = [str(r[0]) for r in conn.execute("PRAGMA integrity_check").fetchall()]
            if problems != ["ok"]:
                raise BackupError(
                    f"{path} failed its integrity check ({'; '.join(problems[:3])})", "restore another copy"
                )
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            names = {str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            migrations: dict[int, str] = {}
            if "schema_migrations" in names:
                migrations = {int(n): str(m) for n, m in conn.execute("SELECT number, name FROM schema_migrations")}
    except sqlite3.DatabaseError as exc:
        raise BackupError(
            f"{path} is not a whisperer database ({exc})", "restore a copy `whisperer backup` made"
        ) from exc
    if "sources" not in names:
        raise BackupError(f"{path} is not a whisperer database (it has no sources table)", "check the path")
    return Inspection(version, migrations, len(names))


@contextmanager
def _connection(path: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(str(path), timeout=30)) as conn:
        yield conn


def put_back(copy: str | Path, database: str | Path, now: datetime) -> Path | None:
    """Replace the database with `copy`; the file it replaces is kept beside it (returned), whole: its WAL
    is checkpointed into it first. The caller makes sure no bot runs on the database."""
    copy, database = Path(copy), Path(database)
    kept: Path | None = None
    staged = database.with_name(f".{database.name}.restoring")
    try:
        with _connection(copy) as src, closing(sqlite3.connect(str(staged))) as dst:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = WAL")
        _fsync(staged)
        if database.exists():
            with _connection(database) as old:
                old.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            kept = database.with_name(f"{database.name}.replaced-{file_stamp(now)}")
            os.replace(database, kept)
        for side in ("-wal", "-shm"):  # belong to the replaced file; the copy must not meet them
            with suppress(FileNotFoundError):
                os.unlink(f"{database}{side}")
        os.replace(staged, database)
        _fsync_folder(database.parent)
    except (OSError, sqlite3.Error) as exc:
        raise BackupError(
            f"could not put {copy} in place of {database} ({exc})",
            f"check that {database.parent} is writable and has room for a copy"
            + (f"; the previous file is kept as {kept}" if kept else ""),
        ) from exc
    finally:
        with suppress(OSError):
            staged.unlink()
    return kept
