"""Backups, restore and safe upgrades, on real database files: copies taken while polls write, put back whole;
a database from a newer release refused; a copy taken before every migration."""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from botserver import write_config
from conftest import DATA, NOW, FixtureServer, Response, Watch
from test_slack_process import Bot, clean_env, wait_until

from bot.cli.main import main
from storage.db import NewerDatabase, open_db
from storage.migrations import MIGRATIONS, applied_migrations, latest_version, migrate, schema_version
from storage.ops import backups
from storage.watching import changes as store
from watchers.sources import SourceSpec

PAGE = "<html><body><main><p>Rebate table, revision {}</p><p>{}</p></main></body></html>"
TABLES = ("sources", "snapshots", "changes", "alerts", "polls")


@pytest.fixture(autouse=True)
def _in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # main() reads ./.env; keep the developer's own out of these tests


def rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with closing(sqlite3.connect(str(path))) as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in TABLES}


def integrity(path: Path) -> str:
    with closing(sqlite3.connect(str(path))) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


class Poller(threading.Thread):
    """Polls three real pages over HTTP into the database, a new revision each pass, until stopped."""

    def __init__(self, db_path: Path, server: FixtureServer) -> None:
        super().__init__(daemon=True)
        self.db_path, self.server = db_path, server
        self.passes = 0
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.specs = [
            SourceSpec(id=f"page{i}", kind="html", url=server.url(f"/page{i}"), topic="rebate", name=f"Page {i}")
            for i in range(3)
        ]

    def run(self) -> None:
        db = open_db(self.db_path)
        watch = Watch(db)
        try:
            while not self.stop.is_set():
                for i in range(3):
                    body = PAGE.format(self.passes, "x" * (2000 + 37 * self.passes)).encode()
                    self.server.routes[f"/page{i}"] = Response(body=body, headers={"Content-Type": "text/html"})
                watch.poll(*self.specs, now=NOW + timedelta(hours=self.passes))
                self.passes += 1
        except BaseException as exc:  # surfaced by the test
            self.error = exc
        finally:
            watch.close()
            db.conn.close()


def test_a_backup_taken_while_polls_write_restores_whole(
    tmp_path: Path, server: FixtureServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    db_path = tmp_path / "whisperer.db"
    poller = Poller(db_path, server)
    poller.start()
    try:
        wait_until(lambda: poller.passes >= 3 or poller.error, what="three poll passes")
        folder = tmp_path / "copies"
        for _ in range(3):  # each while the poller writes; the oldest is pruned (--keep 2)
            assert main(["--config", str(config), "backup", str(folder), "--keep", "2"]) == 0
            time.sleep(1.05)  # copies are named by the second
        taken = poller.passes
        wait_until(lambda: poller.passes >= taken + 2 or poller.error, what="two more passes after the copy")
    finally:
        poller.stop.set()
        poller.join(30)
    assert poller.error is None
    out = capsys.readouterr().out
    assert out.count("integrity ok") == 3 and "Removed 1 older copy (keeping 2)." in out

    kept = backups.copies(folder, "whisperer-")
    assert len(kept) == 2 and sorted(p.name for p in folder.iterdir()) == [p.name for p in kept]  # no partials
    copy = kept[-1]
    assert integrity(copy) == "ok"
    in_copy, live = rows(copy), rows(db_path)
    assert in_copy["changes"] and len(live["changes"]) > len(in_copy["changes"])  # the poller went on after it
    # A consistent moment: every change in the copy has both its snapshots, every source its newest one.
    hashes = {r[0] for r in in_copy["snapshots"]}
    with closing(sqlite3.connect(str(copy))) as conn:
        needed = conn.execute("SELECT old_hash, new_hash FROM changes").fetchall()
        newest = conn.execute("SELECT last_hash FROM sources").fetchall()
    assert {h for pair in needed for h in pair} | {h for (h,) in newest} <= hashes

    assert main(["--config", str(config), "restore", str(copy)]) == 0
    out = capsys.readouterr().out
    assert f"Restored {db_path} from {copy} (integrity ok, schema {latest_version()} of {latest_version()})" in out
    assert integrity(db_path) == "ok"
    assert rows(db_path) == in_copy  # the same rows, every table
    [replaced] = list(tmp_path.glob("whisperer.db.replaced-*"))
    assert f"The database it replaced is kept as {replaced}." in out
    assert rows(replaced) == live  # the replaced file is whole, WAL included
    db = open_db(db_path)
    try:
        for change_id, *_rest in in_copy["changes"]:
            change = store.get_change(db, change_id)
            assert change is not None and "revision" in change["diff"]
    finally:
        db.conn.close()


def test_restore_is_refused_while_the_bot_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    db_path = tmp_path / "whisperer.db"
    open_db(db_path).conn.close()
    assert main(["--config", str(config), "backup", str(tmp_path / "copies")]) == 0
    [copy] = backups.copies(tmp_path / "copies", "whisperer-")
    bot = Bot(["--config", str(config), "run"], tmp_path, clean_env(), stdin=True)
    try:
        bot.line(r"Terminal mode \(no Slack tokens\)")
        before = (db_path.stat().st_ino, db_path.stat().st_mtime_ns)
        capsys.readouterr()
        assert main(["--config", str(config), "restore", str(copy)]) == 1
        out = capsys.readouterr().out
        assert f"a bot (pid {bot.proc.pid}) is running on {db_path}; restore refused, nothing changed" in out
        assert "stop it first" in out
        assert (db_path.stat().st_ino, db_path.stat().st_mtime_ns) == before
        assert not list(tmp_path.glob("whisperer.db.replaced-*"))
        bot.send("quit")
        assert bot.proc.wait(20) == 0
    finally:
        bot.close()
    assert main(["--config", str(config), "restore", str(copy)]) == 0  # stopped: now it may


def test_a_damaged_or_foreign_copy_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path)
    open_db(tmp_path / "whisperer.db").conn.close()
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"SQLite format 3\x00" + b"\x07" * 4000)
    assert main(["--config", str(config), "restore", str(junk)]) == 1
    assert "is not a whisperer database" in capsys.readouterr().out
    other = tmp_path / "other.db"
    with closing(sqlite3.connect(str(other))) as conn:
        conn.execute("CREATE TABLE notes (x)")
    assert main(["--config", str(config), "restore", str(other)]) == 1
    assert "it has no sources table" in capsys.readouterr().out
    assert not list(tmp_path.glob("whisperer.db.replaced-*"))


def make_newer(path: Path) -> None:
    db = open_db(path)
    db.execute("INSERT INTO schema_migrations (number, name, applied_at) VALUES (99, 'from the future', '2027')")
    db.execute("PRAGMA user_version = 99")
    db.conn.close()


def test_a_database_from_a_newer_release_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db_path = tmp_path / "whisperer.db"
    make_newer(db_path)
    with pytest.raises(NewerDatabase) as refused:
        open_db(db_path)
    assert "schema version 99 (migrations this release does not know: 99 (from the future))" in refused.value.problem
    assert f"knows up to version {latest_version()}" in refused.value.problem
    assert "run the newer release again" in refused.value.fix and "whisperer restore FILE" in refused.value.fix

    config = write_config(tmp_path)
    assert main(["--config", str(config), "changes"]) == 3
    err = capsys.readouterr().err
    assert "schema version 99" in err and "fix: run the newer release again" in err
    with closing(sqlite3.connect(str(db_path))) as conn:  # untouched
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 99
        assert conn.execute("SELECT MAX(number) FROM schema_migrations").fetchone()[0] == 99

    # … and a copy from a newer release is not restored over an older one's database.
    newer_copy = tmp_path / "newer.db"
    db_path.rename(newer_copy)
    open_db(db_path).conn.close()
    assert main(["--config", str(config), "restore", str(newer_copy)]) == 1
    assert "newer than this release knows" in capsys.readouterr().out


def old_database(path: Path, version: int = 16) -> None:
    db = open_db(path, upgrade=False)
    migrate(db, target=version)
    db.execute(
        """INSERT INTO sources (id, kind, url, topic, added_at) VALUES ('rebates', 'html', 'https://x.example/',
           'rebate', '2026-01-01T00:00:00+00:00')"""
    )
    db.conn.close()


def test_a_copy_is_taken_before_migrating_and_the_last_three_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    db_path = tmp_path / "whisperer.db"
    old_database(db_path)
    assert main(["--config", str(config), "db", "status"]) == 0
    status = capsys.readouterr().out
    assert f"Schema: version 16, 16 migrations applied; this release knows up to {latest_version()}" in status
    pending = [f"{number}. {name}" for number, name, _ in MIGRATIONS if number > 16]
    assert pending and all(line in status for line in pending)  # each pending migration, by number and name

    db = open_db(db_path)
    try:
        assert schema_version(db) == latest_version()
        assert set(applied_migrations(db)) == set(range(1, latest_version() + 1))
    finally:
        db.conn.close()
    [copy] = backups.copies(tmp_path / "backups", "whisperer-before-migration-")
    assert copy.name.startswith("whisperer-before-migration-v16-")
    with closing(sqlite3.connect(str(copy))) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 16
        assert conn.execute("SELECT id FROM sources").fetchall() == [("rebates",)]
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    assert main(["--config", str(config), "db", "status"]) == 0
    status = capsys.readouterr().out
    assert "Pending: none" in status and "Last copy before migrating: backups/whisperer-before-migration-v16-" in status

    for n in range(3):  # three more upgrades of this database: the newest three copies stay
        for side in ("", "-wal", "-shm"):
            Path(f"{db_path}{side}").unlink(missing_ok=True)
        old_database(db_path, version=15 - n)
        time.sleep(1.05)  # copies are named by the second
        open_db(db_path).conn.close()
    kept = backups.copies(tmp_path / "backups", "whisperer-before-migration-")
    assert [p.name[:31] for p in kept] == [f"whisperer-before-migration-v{v}-" for v in (15, 14, 13)]
    assert copy not in kept
    other = tmp_path / "other.db"  # another database in the same folder keeps its own copies
    old_database(other)
    open_db(other).conn.close()
    assert len(backups.copies(tmp_path / "backups", "other-before-migration-")) == 1
    assert len(backups.copies(tmp_path / "backups", "whisperer-before-migration-")) == 3


def test_a_database_from_before_the_bookkeeping_gains_it_without_running_anything_twice(tmp_path: Path) -> None:
    db_path = tmp_path / "released.db"
    raw = sqlite3.connect(str(db_path))
    raw.executescript((DATA / "schema-v1.sql").read_text(encoding="utf-8") + "PRAGMA user_version = 1;")
    raw.close()
    db = open_db(db_path)
    try:
        applied = applied_migrations(db)
        assert applied[1] == ("core pipeline: sources, snapshots, changes, poll log", None)  # from user_version
        assert all(applied[n][1] for n in range(2, latest_version() + 1))  # run now, each recorded with its time
        assert migrate(db) == []
    finally:
        db.conn.close()


def test_the_bot_schedules_the_nightly_backup_and_prune_by_the_wall_clock(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.config.loading import load_config
    from bot.delivery.sinks import TerminalSink
    from bot.process.connections import Connections
    from bot.process.runtime import open_runtime
    from bot.process.scheduler import EXTRA_JOBS, Scheduler
    from bot.process.upkeep import BACKUP_JOB, PRUNE_JOB, run_backup, run_prune

    config = load_config(
        write_config(
            tmp_path, extra='[backup]\ndir = "nightly"\nkeep = 2\ntime = "02:15"\n[retention]\ntime = "04:45"\n'
        ),
        env={},
    )
    assert BACKUP_JOB in EXTRA_JOBS and PRUNE_JOB in EXTRA_JOBS
    runtime = open_runtime(config, NOW)
    connections = Connections(runtime)
    scheduler = Scheduler(connections, TerminalSink(lambda line: None), extra_jobs=list(EXTRA_JOBS))
    try:
        scheduler.start()
        for job_id, (hour, minute) in (("backup", (2, 15)), ("prune", (4, 45))):
            job = scheduler.job(job_id)
            when = job.next_run_time
            assert (when.hour, when.minute, str(when.tzinfo)) == (hour, minute, "Asia/Jakarta")
    finally:
        scheduler.shutdown()
        connections.close()
    try:
        for n in range(3):  # what the job does when it fires: a copy, the newest two kept
            copy = run_backup(runtime, NOW + timedelta(days=n))
            assert copy is not None and copy.path.parent == tmp_path / "nightly"
        assert [p.name for p in backups.copies(tmp_path / "nightly", "whisperer-")] == [
            "whisperer-20261127T030000Z.db",
            "whisperer-20261128T030000Z.db",
        ]
        with caplog.at_level("INFO", logger="whisperer.upkeep"):
            report = run_prune(runtime, NOW)
        assert report.snapshots == 0 and "retention: 0 snapshot bodies" in caplog.text
    finally:
        runtime.close()
