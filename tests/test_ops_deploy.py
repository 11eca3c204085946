"""The service files: systemd units that verify, the notify protocol over a real datagram socket (READY=1 only
after migrations, STOPPING=1 on SIGTERM), credentials from $CREDENTIALS_DIRECTORY, and the container files."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from botserver import write_config
from test_slack_process import Bot, clean_env

from bot.cli.main import load_credentials
from bot.ops.notify import Notifier
from storage.db import open_db
from storage.migrations import latest_version, schema_version

ROOT = Path(__file__).resolve().parent.parent
UNITS = [ROOT / "deploy" / name for name in ("whisperer.service", "whisperer-poll.service", "whisperer-poll.timer")]


def test_systemd_units_pass_systemd_analyze_verify() -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian: apt-get install systemd); the units are not verified")
    result = subprocess.run(
        [analyze, "verify", *map(str, UNITS)], capture_output=True, text=True, timeout=120, cwd=ROOT / "deploy"
    )
    ours = [line for line in (result.stdout + result.stderr).splitlines() if "whisperer" in line]
    assert result.returncode == 0, result.stderr
    assert ours == []  # not even "Unknown key …, ignoring" (a warning that still exits 0)


def test_the_service_is_hardened_and_says_why_the_browser_needs_executable_memory() -> None:
    service = UNITS[0].read_text(encoding="utf-8")
    settings = {line.split("=", 1)[0] for line in service.splitlines() if line and line[0].isalpha()}
    for key in ("Type", "WatchdogSec", "DynamicUser", "StateDirectory", "ProtectSystem", "NoNewPrivileges", "UMask"):
        assert key in settings, key
    assert "Type=notify" in service and "ProtectSystem=strict" in service and "UMask=0077" in service
    assert "LoadCredential=" in service and "EnvironmentFile=" in service
    assert "MemoryDenyWriteExecute" not in settings  # only in the comment that says why
    assert "Chromium" in service and "writable+executable memory" in service
    timer = UNITS[2].read_text(encoding="utf-8")
    assert "Unit=whisperer-poll.service" in timer and "Persistent=true" in timer


def test_the_dockerfile_runs_as_a_fixed_user_under_tini_with_a_health_check() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert dockerfile.count("ARG BASE=") == 1 and "FROM ${BASE} AS build" in dockerfile
    assert "AS slim" in dockerfile and "AS browser" in dockerfile and "chromium" in dockerfile
    assert "USER 10001:10001" in dockerfile and "chown 10001:10001 /data" in dockerfile
    assert 'ENTRYPOINT ["/usr/bin/tini", "--", "whisperer"]' in dockerfile and "PYTHONUNBUFFERED=1" in dockerfile
    assert 'HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 CMD ["whisperer", "health"]' in (
        dockerfile
    )
    assert "--mount=type=secret,id=ca" in dockerfile and "COPY --from=build /opt/whisperer" in dockerfile
    compose = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    assert '"127.0.0.1:3000:3000"' in compose and "stop_grace_period: 75s" in compose


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(30)
    yield sock, path
    sock.close()


def test_notifier_speaks_the_datagram_protocol_and_paces_the_watchdog(
    notify_socket: tuple[socket.socket, str],
) -> None:
    sock, path = notify_socket
    now = [100.0]
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000000"}, clock=lambda: now[0])
    assert notifier.ready("Socket Mode: connected")
    assert sock.recv(4096) == b"READY=1\nSTATUS=Socket Mode: connected"
    assert notifier.watchdog()
    assert sock.recv(4096) == b"WATCHDOG=1"
    now[0] += 9.9  # less than half of WatchdogSec=20 s
    assert not notifier.watchdog()
    now[0] += 0.2
    assert notifier.watchdog()
    assert sock.recv(4096) == b"WATCHDOG=1"
    assert not Notifier({}).ready()  # outside systemd: nothing to do, and no error
    assert Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "1"}).watchdog_every is None


@pytest.fixture
def bots() -> Iterator[list[Bot]]:
    started: list[Bot] = []
    yield started
    for bot in started:
        bot.close()


def test_run_says_ready_only_after_migrations_and_stopping_on_sigterm(
    tmp_path: Path, notify_socket: tuple[socket.socket, str], bots: list[Bot]
) -> None:
    sock, path = notify_socket
    config = write_config(tmp_path)
    bot = Bot(["--config", str(config), "run"], tmp_path, clean_env(NOTIFY_SOCKET=path, WATCHDOG_USEC="2000000"))
    bots.append(bot)
    while not (ready := sock.recv(4096)).startswith(b"READY=1"):
        assert ready == b"WATCHDOG=1"  # the scheduler's first heartbeat may come just before
    assert ready == b"READY=1\nSTATUS=terminal mode"
    db = open_db(tmp_path / "whisperer.db", upgrade=False, create=False)
    try:
        assert schema_version(db) == latest_version()  # migrated before it said so
    finally:
        db.conn.close()
    assert bot.stop(signal.SIGTERM) == 0
    messages = []
    while (message := sock.recv(4096)) != b"STOPPING=1":
        messages.append(message)
    assert set(messages) <= {b"WATCHDOG=1"}


def test_credentials_directory_fills_only_what_the_environment_lacks(tmp_path: Path) -> None:
    (tmp_path / "env_SLACK_BOT_TOKEN").write_text("xoxb-from-credentials\n", encoding="utf-8")
    (tmp_path / "SLACK_APP_TOKEN").write_text("xapp-from-credentials", encoding="utf-8")
    (tmp_path / "env_PORTAL_COOKIE").write_text("already-set-elsewhere", encoding="utf-8")
    (tmp_path / "not a name").write_text("ignored", encoding="utf-8")
    env = {"CREDENTIALS_DIRECTORY": str(tmp_path), "PORTAL_COOKIE": "from-the-environment"}
    load_credentials(env)
    assert env["SLACK_BOT_TOKEN"] == "xoxb-from-credentials"
    assert env["SLACK_APP_TOKEN"] == "xapp-from-credentials"
    assert env["PORTAL_COOKIE"] == "from-the-environment"
    assert len(env) == 4
