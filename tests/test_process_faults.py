"""One bot per database file (whatever path spells it), a database lost under a running bot, reloads that
would stop watching everything."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from botserver import write_config

from bot.cli.doctor import Check, run_checks
from bot.config.loading import load_config
from bot.delivery.sinks import TerminalSink
from bot.process.connections import Connections
from bot.process.lock import RunLock, RunLockError
from bot.process.runtime import Runtime, open_runtime
from bot.process.scheduler import Scheduler
from storage.db import file_identity
from storage.outbox import alerts as outbox

TWO_SOURCES = """
[[sources]]
id = "tiers"
kind = "html"
url = "https://portal.example/tiers"
every = "1h"

[[sources]]
id = "policy"
kind = "html"
url = "https://portal.example/policy"
every = "1h"
"""


def test_a_symlink_to_the_same_database_is_refused(tmp_path: Path) -> None:
    database = tmp_path / "data" / "whisperer.db"
    database.parent.mkdir()
    database.touch()
    alias = tmp_path / "alias.db"
    alias.symlink_to(database)
    first = RunLock(database)
    first.acquire()
    try:
        for spelling in (alias, tmp_path / "data" / ".." / "data" / "whisperer.db"):
            with pytest.raises(RunLockError, match=r"another `whisperer run` \(pid \d+\) is already using"):
                RunLock(spelling).acquire()
        other = RunLock(tmp_path / "other.db")  # a different database is fine
        other.acquire()
        other.release()
    finally:
        first.release()
    second = RunLock(alias)  # once the first bot stops, the alias may run
    second.acquire()
    second.release()


def test_a_second_process_on_a_symlinked_database_is_refused(tmp_path: Path) -> None:
    database = tmp_path / "whisperer.db"
    database.touch()
    (tmp_path / "alias.db").symlink_to(database)
    holder = RunLock(database)
    holder.acquire()
    try:
        script = (
            "import sys\nfrom bot.process.lock import RunLock, RunLockError\n"
            "try:\n    RunLock(sys.argv[1]).acquire()\nexcept RunLockError as exc:\n    print(exc); sys.exit(2)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / "alias.db")], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 2, done.stderr
        assert f"is already using {database}" in done.stdout
        assert "alias.db" in done.stdout  # says which spelling led there
    finally:
        holder.release()


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[Scheduler, Runtime, RunLock]]:
    """A bot's pieces as `whisperer run` builds them: lock, runtime, identity noted, scheduler (not started)."""
    config = load_config(write_config(tmp_path, TWO_SOURCES), env={})
    lock = RunLock(config.database)
    lock.acquire()
    runtime = open_runtime(config, datetime.now(UTC))
    identity = file_identity(config.database)
    lock.note_identity(identity)
    connections = Connections(runtime)
    scheduler = Scheduler(connections, TerminalSink(lambda line: None), database=identity)
    yield scheduler, runtime, lock
    scheduler.shutdown()
    connections.close()
    runtime.close()
    lock.release()


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


def test_a_deleted_database_stops_the_jobs_with_one_error_and_doctor_fails(
    tmp_path: Path, running: tuple[Scheduler, Runtime, RunLock], caplog: pytest.LogCaptureFixture
) -> None:
    scheduler, runtime, _ = running
    database = runtime.config.database
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    with caplog.at_level(logging.ERROR):
        for _ in range(3):
            scheduler.deliver_job()
            scheduler.poll_job("tiers")
            scheduler.housekeeping_job()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, errors
    assert "the database file was deleted while the bot was running. Polls and alert delivery are stopped" in errors[0]
    assert not database.exists()  # no new, empty history was started
    assert scheduler.delivery.fault is not None

    database_check = by_name(run_checks(tmp_path / "whisperer.toml", {}, datetime.now(UTC)))["database"]
    assert database_check.status == "fail"
    assert "was deleted while `whisperer run`" in database_check.detail
    assert "restore the file from a backup" in database_check.fix
    assert not database.exists()  # doctor did not create it either


def test_a_replaced_database_is_noticed_too(
    tmp_path: Path, running: tuple[Scheduler, Runtime, RunLock], caplog: pytest.LogCaptureFixture
) -> None:
    scheduler, runtime, _ = running
    database = runtime.config.database
    shutil.copy(database, tmp_path / "copy.db")
    (tmp_path / "copy.db").replace(database)  # same name, another file (a restore over a running bot)
    with caplog.at_level(logging.ERROR):
        scheduler.deliver_job()
        scheduler.poll_job("tiers")
    assert "replaced by another file while the bot was running" in caplog.text
    database_check = by_name(run_checks(tmp_path / "whisperer.toml", {}, datetime.now(UTC)))["database"]
    assert (database_check.status, "replaced" in database_check.detail) == ("fail", True)


def test_a_reload_that_would_remove_every_source_is_refused(
    tmp_path: Path, running: tuple[Scheduler, Runtime, RunLock], caplog: pytest.LogCaptureFixture
) -> None:
    scheduler, runtime, _ = running
    scheduler.start()
    assert scheduler.job_ids() == ["deliver", "housekeeping", "poll:policy", "poll:tiers"]
    write_config(tmp_path, "")  # an emptied file: no [[sources]] at all
    with caplog.at_level(logging.INFO):
        assert scheduler.reload() is False
    assert scheduler.job_ids() == ["deliver", "housekeeping", "poll:policy", "poll:tiers"]
    assert [s.id for s in scheduler.connections.base.config.sources] == ["tiers", "policy"]  # still running
    assert "reload refused" in caplog.text and "would stop watching all 2 (tiers, policy)" in caplog.text
    [notice] = outbox.pending_alerts(runtime.db)
    assert notice["kind"] == "notice" and notice["channel"] is None  # the alerts channel, where admins look
    assert "Configuration reload refused" in notice["payload"]["text"]
    assert "Still running with the previous configuration" in notice["payload"]["text"]

    caplog.clear()
    write_config(tmp_path, TWO_SOURCES[: TWO_SOURCES.index("[[sources]]", 10)])  # only tiers left
    with caplog.at_level(logging.INFO):
        assert scheduler.reload() is True  # removing some is a choice, and it is said
    assert scheduler.job_ids() == ["deliver", "housekeeping", "poll:tiers"]
    assert "the reload stopped watching policy" in caplog.text
