"""The database handle every storage function takes: an SQLite connection and its `execute`.

It keeps the part of sqlite-utils' `Database` that our SQL uses (`execute`, `conn`, `table_names`, `close`), with
the same semantics (recursive triggers on; a write outside a transaction is committed, and a failed one rolled
back, on a connection that is not in autocommit mode), without importing sqlite-utils: its import costs ~45 ms
(a large regular expression, click and pluggy for its CLI's plugins), a fifth of a warm poll of 2,000 sources.
sqlite-utils stays installed for its command line, which reads the same file (docs/operations.md).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

# Statements that are themselves transaction control: never committed behind the caller's back.
_CONTROL = frozenset({"BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"})


class Database:
    """An open SQLite connection (`conn`) and the statements run on it (`execute`)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        # REPLACE's implicit deletes fire delete triggers only with recursive triggers on (as sqlite-utils sets).
        self.execute("PRAGMA recursive_triggers = ON")

    def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] | None = None) -> sqlite3.Cursor:
        """Run one statement and return its cursor; `?` or `:name` parameters."""
        was_in_transaction = self.conn.in_transaction
        try:
            cursor = self.conn.execute(sql) if parameters is None else self.conn.execute(sql, parameters)
        except Exception:
            if not was_in_transaction and self.conn.in_transaction:
                self.conn.execute("ROLLBACK")  # the failed statement's implicit transaction would capture later writes
            raise
        if (
            not was_in_transaction
            and self.conn.in_transaction
            and cursor.description is None
            and _first_keyword(sql) not in _CONTROL
        ):
            self.conn.execute(
                "COMMIT"
            )  # a legacy-mode connection opened one implicitly: finish it, as autocommit would
        return cursor

    def table_names(self) -> list[str]:
        rows = self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        return [name for (name,) in rows]

    def close(self) -> None:
        self.conn.close()


def _first_keyword(sql: str) -> str:
    words = sql.lstrip().split(None, 1)
    return words[0].rstrip(";").upper() if words else ""
