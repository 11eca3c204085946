"""One SQLite connection per thread: Slack listeners and scheduler jobs each run on worker threads.

A single connection cannot carry two threads' transactions at once (BEGIN IMMEDIATE would collide), so
every worker thread opens its own; WAL mode lets them read while one writes.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from bot.process.runtime import Runtime
from storage.database import Database
from storage.db import FileIdentity, lost_database, open_db


class Connections:
    """Per-thread databases for a runtime; `runtime()` is the runtime as seen from the calling thread."""

    def __init__(self, base: Runtime, identity: FileIdentity | None = None) -> None:
        self.base = base
        self.identity = identity  # the database file as opened; runtime() refuses to work on another one
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: list[Database] = []
        self._local.db = base.db  # the creating thread keeps the runtime's own connection

    def db(self) -> Database:
        db: Database | None = getattr(self._local, "db", None)
        if db is None:
            # migrated once, at start-up; never created here: a file deleted under the bot must not become a new history
            db = open_db(self.base.config.database, upgrade=False, create=False)
            self._local.db = db
            with self._lock:
                self._opened.append(db)
        return db

    def runtime(self) -> Runtime:
        """The shared runtime (config, HTTP client, host limiter) with this thread's database.

        Raises StorageUnavailable when the file was deleted or replaced since start-up: a connection still open
        on the deleted file would take writes that then vanish (one stat per request; the scheduler checks too).
        """
        if self.identity is not None:
            lost = lost_database(self.base.config.database, self.identity)
            if lost is not None:
                raise lost
        return replace(self.base, db=self.db())

    def close(self) -> None:
        """Close the worker threads' connections (the base runtime closes its own)."""
        with self._lock:
            opened, self._opened = self._opened, []
        for db in opened:
            db.conn.close()
