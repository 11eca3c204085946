"""Liveness and readiness: what `/livez`, `/readyz` and `whisperer health` decide, as pure-ish checks.

Liveness is only "the scheduler's heartbeat ticked recently" (a restart would help); readiness is "this bot
can do its work": the database opens, its schema is current, the scheduler runs, and in Socket Mode the
connection to Slack was heard from recently (a restart would not necessarily help).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from storage.db import FileIdentity, StorageUnavailable, lost_database, open_db
from storage.ops.health import schema

HEARTBEAT_EVERY = 5.0  # seconds between the scheduler's heartbeats
LIVE_WITHIN = 60.0  # a heartbeat older than this means the scheduler's loop is stuck
SOCKET_WITHIN = 60.0  # Socket Mode: the last envelope or pong must be this recent (pings go every 1.5 s)


class Heartbeat:
    """The time of the scheduler's last heartbeat, on a monotonic clock (injected in tests)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._last: float | None = None
        self._lock = threading.Lock()
        self.listeners: list[Callable[[], object]] = []  # e.g. the systemd watchdog

    def beat(self) -> None:
        with self._lock:
            self._last = self.clock()
        for listener in self.listeners:
            listener()

    def age(self) -> float | None:
        """Seconds since the last beat, or None before the first."""
        with self._lock:
            last = self._last
        return None if last is None else max(0.0, self.clock() - last)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Verdict:
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def text(self) -> str:
        """One line per check, `ok`/`FAIL`, then the verdict: the body of /readyz and the output of `health`."""
        lines = [f"{'ok  ' if c.ok else 'FAIL'} {c.name}: {c.detail}" for c in self.checks]
        lines.append("ready" if self.ok else "not ready")
        return "\n".join(lines) + "\n"


def liveness(heartbeat: Heartbeat, within: float = LIVE_WITHIN) -> Verdict:
    age = heartbeat.age()
    if age is None:
        return Verdict((Check("heartbeat", False, "the scheduler has not ticked yet"),))
    ok = age <= within
    return Verdict((Check("heartbeat", ok, f"last tick {age:.0f} s ago (limit {within:.0f} s)"),))


def database_checks(path: Path, identity: FileIdentity | None = None) -> list[Check]:
    """The database opens (without creating or migrating it) and its schema is the code's newest."""
    if identity is not None:
        lost = lost_database(path, identity)
        if lost is not None:
            return [Check("database", False, f"{path}: {lost.problem}; fix: {lost.fix}")]
    try:
        db = open_db(path, upgrade=False, create=False)
    except StorageUnavailable as exc:
        return [Check("database", False, f"{path}: {exc.problem}; fix: {exc.fix}")]
    try:
        found = schema(db)
    except Exception as exc:  # a file that is not a database, or one being replaced under us
        return [Check("database", False, f"{path} cannot be read: {exc}")]
    finally:
        db.conn.close()
    checks = [Check("database", True, f"{path} opens")]
    if found.current:
        checks.append(Check("schema", True, f"version {found.version} (current)"))
    elif found.version < found.latest:
        checks.append(
            Check("schema", False, f"version {found.version}, the code needs {found.latest}; start the bot to migrate")
        )
    else:
        checks.append(
            Check(
                "schema",
                False,
                f"version {found.version} is newer than this code knows ({found.latest}); run the newer release",
            )
        )
    return checks


def readiness(
    path: Path,
    identity: FileIdentity | None,
    scheduler_running: bool,
    socket_age: Callable[[], float | None] | None = None,
    socket_within: float = SOCKET_WITHIN,
) -> Verdict:
    checks = database_checks(path, identity)
    checks.append(
        Check("scheduler", scheduler_running, "running" if scheduler_running else "not running"),
    )
    if socket_age is not None:
        age = socket_age()
        if age is None:
            checks.append(Check("socket", False, "no envelope or pong from Slack yet"))
        else:
            ok = age <= socket_within
            checks.append(Check("socket", ok, f"last heard from Slack {age:.0f} s ago (limit {socket_within:.0f} s)"))
    return Verdict(tuple(checks))
