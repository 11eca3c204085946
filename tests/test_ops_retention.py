"""Retention on a real database filled by the real poll pipeline: a dry run changes nothing, the real prune keeps
every change's diff and each source's newest snapshot, and space comes back (incrementally, or by --vacuum)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from botserver import write_config
from conftest import DATA, FixtureServer, Response, Watch

from bot.cli.main import main
from storage.db import open_db, transaction
from storage.ops.retention import prune, space
from storage.outbox import alerts as outbox
from storage.watching import changes as store
from watchers.sources import SourceSpec

START = datetime(2020, 1, 1, 9, 0, tzinfo=UTC)  # years before any day this test runs: all of it is "old"
DAYS = 40
PAGE = "<html><body><main><h1>Policy</h1><p>Revision {}</p><p>{}</p></main></body></html>"


@pytest.fixture(autouse=True)
def _in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)


def fill(db_path: Path, server: FixtureServer) -> tuple[list[SourceSpec], dict[str, str]]:
    """Two sources, a change a day for DAYS days; the change alerts sent the day they were queued."""
    db = open_db(db_path)
    watch = Watch(db)
    specs = [
        SourceSpec(id=f"s{i}", kind="html", url=server.url(f"/s{i}"), topic="policy", name=f"S{i}") for i in range(2)
    ]
    last: dict[str, str] = {}
    try:
        for day in range(DAYS):
            for i in range(len(specs)):
                filler = f"clause {day}-{i} " * 1500  # a 17 KB page, as portal pages are
                body = PAGE.format(day, filler).encode()
                server.routes[f"/s{i}"] = Response(body=body, headers={"Content-Type": "text/html"})
            now = START + timedelta(days=day)
            watch.poll(*specs, now=now)
            with transaction(db):
                for alert in outbox.pending_alerts(db):
                    outbox.mark_sent(db, alert["id"], now, "1.1")
        for spec in specs:
            last[spec.id] = str(watch.snapshot(spec.id))
        # one alert still waiting: retention never touches the outbox's pending rows
        outbox.enqueue_alert(db, "notice:waiting", "notice", {"text": "hold on"}, START)
    finally:
        watch.close()
        db.conn.close()
    return specs, last


def diffs(db_path: Path) -> dict[int, str]:
    with closing(sqlite3.connect(str(db_path))) as conn:
        return {int(i): str(d) for i, d in conn.execute("SELECT id, diff FROM changes")}


def test_prune_dry_run_then_real_keeps_every_diff(
    tmp_path: Path, server: FixtureServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, extra="[retention]\nsnapshots_days = 30\nalerts_days = 60\n")
    db_path = tmp_path / "whisperer.db"
    specs, newest = fill(db_path, server)
    before = diffs(db_path)
    assert len(before) == 2 * (DAYS - 1)
    with closing(sqlite3.connect(str(db_path))) as conn:
        snapshots = conn.execute("SELECT COUNT(*), SUM(size) FROM snapshots").fetchone()
        sent = conn.execute("SELECT COUNT(*) FROM alerts WHERE status = 'sent'").fetchone()[0]
    assert snapshots[0] == 2 * DAYS and sent == 2 * (DAYS - 1)

    assert main(["--config", str(config), "prune", "--dry-run"]) == 0
    dry = capsys.readouterr().out
    expected = 2 * DAYS - 2  # all but each source's newest
    assert f"Would prune {expected} snapshot bodies older than 30 days" in dry
    assert f"and {sent} sent alerts older than 60 days" in dry
    with closing(sqlite3.connect(str(db_path))) as conn:  # nothing changed
        assert conn.execute("SELECT COUNT(*) FROM snapshots WHERE pruned_at IS NULL").fetchone()[0] == 2 * DAYS
        assert conn.execute("SELECT COUNT(*) FROM alerts").fetchone()[0] == sent + 1

    with closing(open_db(db_path).conn) as conn:
        pages_before = conn.execute("PRAGMA page_count").fetchone()[0] * conn.execute("PRAGMA page_size").fetchone()[0]
    assert main(["--config", str(config), "prune"]) == 0
    real = capsys.readouterr().out
    assert f"Pruned {expected} snapshot bodies older than 30 days" in real
    assert "(incremental vacuum)" in real

    assert diffs(db_path) == before  # every change and its diff, as it was
    db = open_db(db_path)
    try:
        for change_id in before:
            change = store.get_change(db, change_id)
            assert change is not None and change["diff"] == before[change_id]
        for spec in specs:  # each source's newest snapshot is whole: the next poll diffs against it
            row = db.execute("SELECT last_hash FROM sources WHERE id = ?", [spec.id]).fetchone()
            assert store.get_snapshot(db, row[0]) == newest[spec.id]
        assert [a["key"] for a in outbox.list_alerts(db)] == ["notice:waiting"]
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []  # every change's snapshots are there
        assert db.execute("SELECT COUNT(*) FROM snapshots").fetchone()[0] == 2 * DAYS  # rows kept, bodies gone
        room = space(db)
        assert room.auto_vacuum == "incremental" and room.free_bytes < 64 * 1024  # given back, not kept free
    finally:
        db.conn.close()
    # the bodies' space came back to the file system (the diffs, kept, are most of what is left)
    assert pages_before - db_path.stat().st_size > 0.8 * (snapshots[1] - 2 * len(PAGE.format(0, "clause 0-0 " * 1500)))
    assert main(["--config", str(config), "diff", str(min(before))]) == 0
    assert "Revision 0" in capsys.readouterr().out

    # The pipeline goes on: the next change is found against the kept snapshot.
    db = open_db(db_path)
    watch = Watch(db)
    try:
        server.routes["/s0"] = Response(body=PAGE.format("new", "x").encode(), headers={"Content-Type": "text/html"})
        outcome = watch.poll(specs[0], now=START + timedelta(days=DAYS))["s0"]
        assert outcome.status == "changed"
        assert f"-Revision {DAYS - 1}" in watch.changes("s0")[-1]["diff"]
        # pruning again finds nothing more to do: the newest of each source is never pruned
        again = prune(db, START + timedelta(days=DAYS + 400), snapshots_days=30, alerts_days=60)
        assert again.snapshots == 1  # only s0's previous newest, now superseded by the one just stored
        assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1  # checks back on after the prune
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        watch.close()
        db.conn.close()


def test_an_older_file_is_switched_to_incremental_vacuum_only_by_prune_vacuum(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, extra="[retention]\nsnapshots_days = 30\n")
    db_path = tmp_path / "whisperer.db"
    raw = sqlite3.connect(str(db_path))  # made by a release from before retention: no auto_vacuum
    raw.executescript((DATA / "schema-v1.sql").read_text(encoding="utf-8") + "PRAGMA user_version = 1;")
    for n in range(200):
        raw.execute(
            "INSERT INTO snapshots (hash, text, size, created_at) VALUES (?, ?, 5000, '2020-01-01T00:00:00+00:00')",
            [f"h{n}", "y" * 5000],
        )
    raw.commit()
    raw.close()

    assert main(["--config", str(config), "prune"]) == 0
    out = capsys.readouterr().out
    assert "Pruned 200 snapshot bodies" in out
    assert "(none vacuum)" in out and "`whisperer prune --vacuum`" in out
    big = db_path.stat().st_size
    with closing(sqlite3.connect(str(db_path))) as conn:
        assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 0  # left as it was
        free_pages = conn.execute("PRAGMA freelist_count").fetchone()[0]
        freed = free_pages * conn.execute("PRAGMA page_size").fetchone()[0]
        assert free_pages > 100

    assert main(["--config", str(config), "prune", "--vacuum"]) == 0
    assert "(full VACUUM)" in capsys.readouterr().out
    with closing(sqlite3.connect(str(db_path))) as conn:
        assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental from now on
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db_path.stat().st_size <= big - freed * 0.9  # the free pages went back to the file system


def test_retention_settings_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, extra="[retention]\nalerts_days = 7\n")
    assert main(["--config", str(config), "prune", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "retention.alerts_days: 7 days is too short" in err and "use 30 or more" in err
    config = write_config(tmp_path, extra='[backup]\ndir = "copies"\ntime = "25:00"\n')
    assert main(["--config", str(config), "db", "status"]) == 2
    assert "backup.time: '25:00' is not a time of day" in capsys.readouterr().err


def test_the_nightly_prune_reads_no_whole_table_of_changes_or_alerts(tmp_path: Path) -> None:
    """With a year of 2,000 sources the changes and alerts tables are large: their rows are found by index."""
    from storage.ops import retention

    db = open_db(tmp_path / "whisperer.db")
    try:
        for query in (f"SELECT hash {retention._PRUNABLE}", f"DELETE {retention._FINISHED}"):
            plan = [str(row[-1]) for row in db.execute(f"EXPLAIN QUERY PLAN {query}", {"cutoff": "x"})]
            whole = [step for step in plan if step.startswith(("SCAN changes", "SCAN alerts", "SCAN snapshots"))]
            assert all("USING INDEX" in step for step in whole), plan
            assert any("snapshots_unpruned" in step or "alerts_finished" in step for step in plan), plan
    finally:
        db.conn.close()
