"""The data-safety CLI: `backup DIR [--keep N]`, `restore FILE`, `prune [--dry-run] [--vacuum]`, `db status`.

None of them syncs the configured sources, and `backup`, `restore` and `db status` do not migrate: they
work on the database as it is. bot/cli/main.py lists them.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from bot.cli.common import load, real_now
from bot.cli.exits import EXIT_FAILED, EXIT_OK, EXIT_STORAGE, EXIT_USAGE
from bot.config.loading import Config
from bot.process.lock import RunLock, RunLockError, running_holder
from storage.db import open_db
from storage.migrations import MIGRATIONS, applied_migrations, latest_version, pending_migrations, schema_version
from storage.ops import backups
from storage.ops.retention import give_back, prune, space

COMMANDS = ("backup", "restore", "prune", "db")
Out = Callable[[str], None]


def add_arguments(command: str, p: argparse.ArgumentParser) -> None:
    if command == "backup":
        p.add_argument("dir", metavar="DIR", nargs="?", help="where the copy goes (default: [backup] dir)")
        p.add_argument("--keep", metavar="N", type=int, help="keep the newest N copies in DIR (default: [backup] keep)")
    elif command == "restore":
        p.add_argument("file", metavar="FILE")
    elif command == "prune":
        p.add_argument("--dry-run", action="store_true", help="say what would be freed; change nothing")
        p.add_argument("--vacuum", action="store_true", help="then rewrite the whole file (a full VACUUM)")
    elif command == "db":
        p.add_argument("action", metavar="status", choices=["status"])


def run(args: argparse.Namespace) -> int:
    """The database as it is: no sources synced, no migration (but prune)."""
    return run_with(args, load(args, required=False), real_now())


def run_with(args: argparse.Namespace, config: Config, now: datetime, out: Out = print) -> int:
    try:
        if args.command == "backup":
            return _backup(args, config, now, out)
        if args.command == "restore":
            return _restore(Path(args.file), config, now, out)
        if args.command == "prune":
            return _prune(args, config, now, out)
        return _status(config, out)
    except backups.BackupError as exc:
        out(f"whisperer: {exc.problem}\n  fix: {exc.fix}")
        return EXIT_FAILED


def size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"  # pragma: no cover


def _backup(args: argparse.Namespace, config: Config, now: datetime, out: Out) -> int:
    folder = Path(args.dir) if args.dir else config.backup.dir
    if folder is None:
        out("whisperer: backup needs a folder\n  fix: whisperer backup DIR, or set [backup] dir in whisperer.toml")
        return EXIT_USAGE
    keep = config.backup.keep if args.keep is None else args.keep
    if keep < 1:
        out(f"whisperer: --keep {keep} would delete the copy just taken\n  fix: keep at least 1")
        return EXIT_USAGE
    copy = backups.backup_database(config.database, folder, now, keep=keep)
    out(f"Backed up {config.database} to {copy.path} ({size(copy.size)}, integrity ok).")
    if copy.pruned:
        out(f"Removed {len(copy.pruned)} older cop{'y' if len(copy.pruned) == 1 else 'ies'} (keeping {keep}).")
    return EXIT_OK


def _restore(file: Path, config: Config, now: datetime, out: Out) -> int:
    database = config.database
    holder = running_holder(database)
    if holder is not None:
        out(
            f"whisperer: a bot (pid {holder.pid}) is running on {database}; restore refused, nothing changed\n"
            "  fix: stop it first (systemctl stop whisperer, docker compose stop, or Ctrl-C), then restore again"
        )
        return EXIT_FAILED
    found = backups.inspect_copy(file)
    known = {number for number, _name, _fn in MIGRATIONS}
    unknown = sorted(set(found.migrations) - known)
    if found.version > latest_version() or unknown:
        out(
            f"whisperer: {file} has schema version {found.version}, newer than this release knows "
            f"({latest_version()}); restore refused, nothing changed\n"
            "  fix: restore it with the newer release that wrote it, or pick an older copy"
        )
        return EXIT_FAILED
    lock = RunLock(database)
    try:
        lock.acquire()  # and hold it: no bot may start while the file is swapped
    except RunLockError as exc:
        out(f"whisperer: {exc}")
        return EXIT_FAILED
    try:
        kept = backups.put_back(file, database, now)
    finally:
        lock.release()
    out(f"Restored {database} from {file} (integrity ok, schema {found.version} of {latest_version()}).")
    if kept is not None:
        out(f"The database it replaced is kept as {kept}.")
    if found.version < latest_version():
        out("The next `whisperer run` migrates it (taking a copy first).")
    return EXIT_OK


def _prune(args: argparse.Namespace, config: Config, now: datetime, out: Out) -> int:
    settings = config.retention
    db = open_db(config.database, create=False)
    try:
        report = prune(
            db,
            now,
            snapshots_days=settings.snapshots_days or None,
            alerts_days=settings.alerts_days or None,
            dry_run=args.dry_run,
        )
        verb = "Would prune" if args.dry_run else "Pruned"
        keep_snaps = f"older than {settings.snapshots_days} days" if settings.snapshots_days else "(kept forever)"
        keep_alerts = f"older than {settings.alerts_days} days" if settings.alerts_days else "(kept forever)"
        out(
            f"{verb} {report.snapshots} snapshot bodies {keep_snaps} ({size(report.snapshot_bytes)}) and "
            f"{report.alerts} sent alerts {keep_alerts} ({size(report.alert_bytes)})."
        )
        out("Changes and their diffs are kept, and so is each source's newest snapshot.")
        if args.dry_run:
            if args.vacuum:
                out("(--vacuum is ignored with --dry-run.)")
            return EXIT_OK
        before = space(db).file_bytes
        after = give_back(db, full=args.vacuum)
        how = "full VACUUM" if args.vacuum else f"{after.auto_vacuum} vacuum"
        out(f"Database file: {size(before)} before, {size(after.file_bytes)} now ({how}).")
        if after.auto_vacuum != "incremental":
            out(
                f"{size(after.free_bytes)} is free inside the file and is reused by new writes; this older file "
                "cannot give space back a little at a time. `whisperer prune --vacuum` (once, bot stopped or "
                "quiet: it rewrites the whole file) gives it back and switches the file to incremental vacuum."
            )
        return EXIT_OK
    finally:
        db.conn.close()


def _shown(path: Path) -> str:
    """A path as short as it can be said from here (relative when it is under the current folder)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _status(config: Config, out: Out) -> int:
    database = config.database
    if not database.exists():
        out(f"{database}: no database yet (the first `whisperer run` or `poll` creates it)")
        return EXIT_STORAGE
    db = open_db(database, upgrade=False, create=False)
    try:
        version = schema_version(db)
        applied = applied_migrations(db)
        pending = pending_migrations(db)
        room = space(db)
    finally:
        db.conn.close()
    out(
        f"Database: {database} ({size(room.file_bytes)}, {size(room.free_bytes)} free inside, "
        f"{room.auto_vacuum} vacuum)"
    )
    out(f"Schema: version {version}, {len(applied)} migrations applied; this release knows up to {latest_version()}")
    if pending:
        out(
            f"Pending: {len(pending)} migration(s), run (after a copy is taken) by the next command that opens "
            "the database, e.g. `whisperer run`:"
        )
        for number, name in pending:
            out(f"  {number}. {name}")
    else:
        out("Pending: none")
    last = [(number, when) for number, (_name, when) in applied.items() if when]
    if last:
        number, when = max(last, key=lambda item: (item[1] or "", item[0]))
        out(f"Last migration: {number} at {when}")
    holder = running_holder(database)
    out(f"Bot: running (pid {holder.pid})" if holder else "Bot: not running")
    for label, folder, prefix in (
        ("Last backup", config.backup.dir, backups.prefix_for(database)),
        (
            "Last copy before migrating",
            backups.migration_folder(database),
            backups.prefix_for(database, backups.BEFORE_MIGRATING),
        ),
    ):
        found = backups.copies(folder, prefix) if folder else []
        if found:
            newest = found[-1]
            out(f"{label}: {_shown(newest)} ({size(newest.stat().st_size)}, {len(found)} kept)")
        elif label == "Last backup":
            where = f"none in {folder}" if folder else "none configured ([backup] dir is not set)"
            out(f"{label}: {where}")
    return EXIT_OK


__all__ = ["COMMANDS", "add_arguments", "run", "run_with"]
