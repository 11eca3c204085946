"""One `whisperer run` per database file, whatever path spells it: two would both deliver the same alerts.

The lock is an advisory flock on `<resolved database path>.lock` (symlinks and `..` resolved, so every
spelling of one file meets the same lock); the kernel releases it when the process dies, even by SIGKILL.
The lock file also says which process holds it and which file (device and inode) it opened, so `whisperer
doctor` can tell when the database was deleted or replaced under a running bot.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from storage.db import FileIdentity


class RunLockError(Exception):
    pass


def lock_path(database: str | Path) -> Path:
    """Where the lock for a database lives: beside the file its path resolves to."""
    return Path(f"{Path(database).resolve()}.lock")


@dataclass(frozen=True)
class Holder:
    """What a lock file says: the bot's pid and the identity of the database it opened (if known)."""

    pid: str
    device: int | None = None
    inode: int | None = None


def read_holder(text: str) -> Holder:
    parts = text.split()
    if len(parts) >= 2 and ":" in parts[1]:
        device, _, inode = parts[1].partition(":")
        with contextlib.suppress(ValueError):
            return Holder(parts[0], int(device), int(inode))
    return Holder(parts[0] if parts else "?")


def running_holder(database: str | Path) -> Holder | None:
    """The running bot that holds the database's lock, or None when no bot runs on it."""
    path = lock_path(database)
    try:
        handle = path.open("r", encoding="utf-8")
    except OSError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return read_holder(handle.read())
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None


class RunLock:
    """Only one `whisperer run` per database file (see the module docstring)."""

    def __init__(self, database: str | Path) -> None:
        self.database = Path(database)
        self.path = lock_path(database)
        self._handle: TextIO | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = read_holder(handle.read())
            handle.close()
            also = "" if self.path == Path(f"{self.database}.lock") else f" (the file {self.database} leads to)"
            raise RunLockError(
                f"another `whisperer run` (pid {holder.pid}) is already using {self.path.with_suffix('')}{also}; "
                "stop it first, or point this one at another database with WHISPERER_DB"
            ) from None
        self._handle = handle
        self._write(str(os.getpid()))

    def note_identity(self, identity: FileIdentity | None) -> None:
        """Record which file the bot opened, for `whisperer doctor` to compare with what is there now."""
        if identity is not None:
            self._write(f"{os.getpid()} {identity.device}:{identity.inode}")

    def _write(self, text: str) -> None:
        if self._handle is None:
            return
        with contextlib.suppress(OSError):  # a full disk must not stop the lock from working; it is only a note
            self._handle.seek(0)
            self._handle.truncate()
            self._handle.write(text)
            self._handle.flush()

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            with contextlib.suppress(OSError):
                self._handle.close()
            self._handle = None
