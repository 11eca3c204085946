"""The probes' verdicts over real HTTP with the clocks injected: a stale heartbeat, a silent Socket Mode
connection, a schema behind or ahead of the code; and what the light commands import."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from botserver import write_config

from bot.ops.endpoints import Ops, make_ops_server
from bot.ops.health import LIVE_WITHIN, SOCKET_WITHIN, Heartbeat
from bot.ops.metrics import Metrics
from bot.slack.app import server_address, stop_http_server
from storage.db import file_identity, open_db
from storage.migrations import latest_version


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Callable[[Ops], str]]:
    servers = []

    def serve(ops: Ops) -> str:
        server = make_ops_server(ops, "127.0.0.1", 0)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        host, port = server_address(server)
        return f"http://{host}:{port}"

    yield serve
    for server, thread in servers:
        stop_http_server(server)
        thread.join(10)


def make_ops(path: Path, clock: Clock, socket_age: Callable[[], float | None] | None = None) -> Ops:
    open_db(path).conn.close()
    heartbeat = Heartbeat(clock)
    return Ops(path, file_identity(path), Metrics(path), heartbeat, lambda: True, socket_age)


def test_a_heartbeat_older_than_the_limit_is_not_live(tmp_path: Path, served: Callable[[Ops], str]) -> None:
    clock = Clock()
    ops = make_ops(tmp_path / "whisperer.db", clock)
    base = served(ops)
    assert httpx.get(f"{base}/livez").status_code == 503  # no tick yet
    ops.heartbeat.beat()
    clock.now += LIVE_WITHIN
    assert httpx.get(f"{base}/livez").status_code == 200
    clock.now += 1
    stale = httpx.get(f"{base}/livez")
    assert stale.status_code == 503 and f"last tick {LIVE_WITHIN + 1:.0f} s ago" in stale.text
    assert httpx.get(f"{base}/nothing").status_code == 404


def test_a_silent_socket_is_not_ready(tmp_path: Path, served: Callable[[Ops], str]) -> None:
    heard: list[float | None] = [None]
    ops = make_ops(tmp_path / "whisperer.db", Clock(), socket_age=lambda: heard[0])
    base = served(ops)
    first = httpx.get(f"{base}/readyz")
    assert first.status_code == 503 and "FAIL socket: no envelope or pong from Slack yet" in first.text
    heard[0] = SOCKET_WITHIN - 1
    assert httpx.get(f"{base}/readyz").status_code == 200
    heard[0] = SOCKET_WITHIN + 1
    silent = httpx.get(f"{base}/readyz")
    assert silent.status_code == 503 and "FAIL socket: last heard from Slack" in silent.text


def test_a_schema_behind_or_ahead_of_the_code_is_not_ready(tmp_path: Path, served: Callable[[Ops], str]) -> None:
    path = tmp_path / "whisperer.db"
    ops = make_ops(path, Clock())
    base = served(ops)
    db = open_db(path, upgrade=False)
    try:
        db.execute(f"PRAGMA user_version = {latest_version() - 1}")
        behind = httpx.get(f"{base}/readyz")
        assert behind.status_code == 503 and "start the bot to migrate" in behind.text
        db.execute(f"PRAGMA user_version = {latest_version() + 1}")
        ahead = httpx.get(f"{base}/readyz")
        assert ahead.status_code == 503 and "migrations this release does not know" in ahead.text  # open_db refuses it
    finally:
        db.conn.close()


@pytest.mark.parametrize("command", [["health"], ["sources"], ["poll"]])
def test_light_commands_do_not_load_prometheus_client(tmp_path: Path, command: list[str]) -> None:
    config = write_config(tmp_path)
    code = (
        "import sys\nfrom bot.cli.main import main\n"
        f"main(['--config', {str(config)!r}, *{command!r}])\n"
        "print(sorted(m for m in ('prometheus_client', 'playwright', 'slack_bolt') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout + result.stderr
