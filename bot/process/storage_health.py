"""Doctor checks for the database file itself: lost under a running bot, refusing writes, nearly out of space."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Protocol

from bot.process.lock import running_holder
from storage.database import Database
from storage.db import StorageUnavailable, file_identity, probe_write

LOW_SPACE = 50 * 1024 * 1024  # below this, say so before SQLite starts refusing writes


class Report(Protocol):
    def __call__(self, name: str, status: str, detail: str, fix: str = "") -> None: ...


def check_lost(path: Path, report: Report) -> bool:
    """✗ when a running bot's database file was deleted or replaced; True if so (nothing else to check)."""
    holder = running_holder(path)
    if holder is None:
        return False
    now = file_identity(path)
    if now is None:
        report(
            "database",
            "fail",
            f"{path} was deleted while `whisperer run` (pid {holder.pid}) was using it; its jobs are stopped",
            "stop the bot and restore the file from a backup (starting again would begin an empty history)",
        )
        return True
    if holder.inode is not None and (now.device, now.inode) != (holder.device, holder.inode):
        report(
            "database",
            "fail",
            f"{path} was replaced by another file while `whisperer run` (pid {holder.pid}) was using it; "
            "its jobs are stopped",
            "stop the bot, check which file is the right one, then start it again",
        )
        return True
    return False


def check_writable(db: Database, path: Path, report: Report) -> None:
    """✗ when the database refuses writes (the bot then holds delivery); ! when the disk is nearly full."""
    try:
        probe_write(db)
    except StorageUnavailable as exc:
        report("storage", "fail", f"{path}: {exc.problem}; alert delivery and polls are on hold", exc.fix)
        return
    try:
        free = shutil.disk_usage(path.parent).free
    except OSError:
        return
    if free < LOW_SPACE:
        report(
            "storage",
            "warn",
            f"only {free // (1024 * 1024)} MB free on the disk that holds {path}",
            f"free some space there (see `df -h {path.parent}`) before SQLite has to refuse writes",
        )
