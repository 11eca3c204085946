"""A full disk or a read-only database: a clear message naming the file and the fix, never a traceback."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import FixtureServer, Response
from smalldisk import SmallDisk, small_disk  # noqa: F401  (the fixture)

from bot.cli.doctor import run_checks
from bot.cli.exits import EXIT_STORAGE
from bot.cli.main import main
from storage.db import StorageUnavailable, open_db, transaction


def write_config(tmp_path: Path, database: Path, server: FixtureServer) -> Path:
    server.routes["/page"] = Response(body=b"<p>Elite rebate: 6%</p>", headers={"Content-Type": "text/html"})
    config = tmp_path / "whisperer.toml"
    config.write_text(
        f"""
[bot]
database = "{database}"
alerts_channel = "C0ALERTS"

[fetch]
allow_private = ["127.0.0.1"]

[[sources]]
id = "page"
kind = "html"
url = "{server.url("/page")}"
""",
        encoding="utf-8",
    )
    return config


def test_a_full_disk_is_one_clear_message_in_every_command(
    tmp_path: Path,
    server: FixtureServer,
    small_disk: SmallDisk,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("WHISPERER_DB", raising=False)
    database = small_disk.path / "whisperer.db"
    config = write_config(tmp_path, database, server)
    assert main(["--config", str(config), "poll"]) == 0
    capsys.readouterr()

    small_disk.fill()
    server.routes["/page"] = Response(body=b"<p>Elite rebate: 7%</p>", headers={"Content-Type": "text/html"})
    assert main(["--config", str(config), "poll"]) == EXIT_STORAGE
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"the disk is full (SQLite could not write) ({database})" in err
    assert f"fix: free space on the disk that holds {small_disk.path}" in err

    small_disk.free()
    assert main(["--config", str(config), "poll"]) == 0
    assert "page: changed" in capsys.readouterr().out  # nothing half-written stood in the way


def test_a_read_only_database_names_the_file_and_the_fix(
    tmp_path: Path,
    server: FixtureServer,
    small_disk: SmallDisk,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("WHISPERER_DB", raising=False)
    database = small_disk.path / "whisperer.db"
    config = write_config(tmp_path, database, server)
    assert main(["--config", str(config), "poll"]) == 0
    capsys.readouterr()
    small_disk.read_only()
    try:
        for command in (["poll"], ["changes"], ["ask", "sources"]):
            assert main(["--config", str(config), *command]) == EXIT_STORAGE, command
            err = capsys.readouterr().err
            assert "Traceback" not in err
            assert str(database) in err and "fix: " in err, err
    finally:
        small_disk.writable()


def test_a_failed_commit_leaves_no_transaction_behind(small_disk: SmallDisk) -> None:  # noqa: F811
    db = open_db(small_disk.path / "w.db")
    try:
        small_disk.fill()
        with pytest.raises(StorageUnavailable) as caught, transaction(db):
            db.execute("CREATE TABLE notes (text)")
            db.execute("INSERT INTO notes VALUES (?)", ["x" * 200_000])
        assert caught.value.path == str(small_disk.path / "w.db")
        assert not db.conn.in_transaction  # else every later write would silently join a dead transaction
        small_disk.free()
        with transaction(db):
            db.execute("CREATE TABLE notes (text)")
        assert db.execute("SELECT COUNT(*) FROM notes").fetchone() == (0,)
    finally:
        db.conn.close()


def test_a_missing_database_is_not_silently_created(tmp_path: Path) -> None:
    with pytest.raises(StorageUnavailable, match="the database file is missing"):
        open_db(tmp_path / "gone.db", create=False)
    assert not (tmp_path / "gone.db").exists()


@pytest.mark.parametrize("bot_running", [True, False])
def test_doctor_fails_when_the_database_refuses_writes(
    tmp_path: Path,
    server: FixtureServer,
    small_disk: SmallDisk,  # noqa: F811
    bot_running: bool,
) -> None:
    database = small_disk.path / "whisperer.db"
    config = write_config(tmp_path, database, server)
    db = open_db(database)
    if not bot_running:
        db.conn.close()
    try:
        small_disk.fill()
        checks = run_checks(config, {}, datetime.now(UTC))
    finally:
        if bot_running:
            db.conn.close()
    [failed] = [c for c in checks if c.status == "fail"]
    assert "the disk is full" in failed.detail and str(database) in failed.detail
    assert failed.fix.startswith(f"free space on the disk that holds {small_disk.path}")
    small_disk.free()
    assert not [c for c in run_checks(config, {}, datetime.now(UTC)) if c.status == "fail"]
