"""Schema migrations: an old database upgrades in place, keeps its data, and the pipeline runs on it."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from conftest import DATA, NOW, FixtureServer, Response, Watch

from storage.database import Database
from storage.db import open_db, stamp
from storage.migrations import MIGRATIONS, latest_version, migrate, schema_version
from storage.outbox import alerts as outbox
from storage.team import people
from storage.watching import changes as store
from storage.watching import sources as state
from watchers.reading.normalise import content_hash
from watchers.sources import SourceSpec

V1_TABLES = {"sources", "snapshots", "changes", "polls"}
OLD, NEW = "Elite rebate: 6%", "Elite rebate: 7%"


def fill_version_1(db: Database, url: str = "https://partner.example/rebates") -> None:
    """Rows as version-1 code wrote them: a source with state, two snapshots, one change, one poll."""
    rows = [
        (
            """INSERT INTO sources (id, kind, url, topic, name, every, spec, origin, added_at, last_checked,
                                   last_status, etag, last_modified, last_hash, last_change_at)
               VALUES ('rebates', 'html', ?, 'rebate', 'Rebates', 1800, '{"id": "rebates"}', 'config', ?, ?,
                       'changed', '"v2"', 'Wed, 25 Nov 2026 08:00:00 GMT', ?, ?)""",
            [url, stamp(NOW - timedelta(days=30)), stamp(NOW), content_hash(NEW), stamp(NOW)],
        ),
        (
            "INSERT INTO snapshots (hash, text, size, created_at) VALUES (?, ?, ?, ?)",
            [content_hash(OLD), OLD, len(OLD), stamp(NOW - timedelta(days=30))],
        ),
        (
            "INSERT INTO snapshots (hash, text, size, created_at) VALUES (?, ?, ?, ?)",
            [content_hash(NEW), NEW, len(NEW), stamp(NOW)],
        ),
        (
            """INSERT INTO changes (id, source_id, detected_at, kind, old_hash, new_hash, added, removed, summary, diff)
               VALUES (1, 'rebates', ?, 'page', ?, ?, 1, 1, ?, ?)""",
            [
                stamp(NOW),
                content_hash(OLD),
                content_hash(NEW),
                "1 line added, 1 removed: 'Elite rebate: 7%'",
                "--- rebates (before)\n+++ rebates (now)\n@@ -1 +1 @@\n-Elite rebate: 6%\n+Elite rebate: 7%",
            ],
        ),
        (
            """INSERT INTO polls (started_at, finished_at, origin, checked, changed, failed, not_modified)
               VALUES (?, ?, 'poll', 1, 1, 0, 0)""",
            [stamp(NOW), stamp(NOW)],
        ),
    ]
    for sql, params in rows:
        db.execute(sql, params)


def assert_version_1_data_survived(db: Database) -> None:
    [source] = state.list_sources(db)
    assert (source["id"], source["url"], source["last_status"], source["etag"]) == (
        "rebates",
        "https://partner.example/rebates",
        "changed",
        '"v2"',
    )
    assert store.get_snapshot(db, source["last_hash"]) == NEW
    change = store.get_change(db, 1)
    assert change is not None
    assert change["summary"] == "1 line added, 1 removed: 'Elite rebate: 7%'"
    assert change["diff"].endswith("+Elite rebate: 7%")
    assert store.get_snapshot(db, change["old_hash"]) == OLD
    [poll] = state.recent_polls(db)
    assert (poll["checked"], poll["changed"]) == (1, 1)


def test_migrate_from_version_1_keeps_the_data(db_path: Path) -> None:
    db = open_db(db_path, upgrade=False)
    assert schema_version(db) == 0
    assert migrate(db, target=1) == [1]
    assert schema_version(db) == 1
    assert set(db.table_names()) == V1_TABLES | {"schema_migrations"}
    fill_version_1(db)
    db.conn.close()

    db = open_db(db_path)
    try:
        assert schema_version(db) == latest_version()
        assert set(db.table_names()) >= V1_TABLES | {"alerts", "people", "subscriptions"}
        assert_version_1_data_survived(db)
        # The new tables work with the old rows.
        assert outbox.enqueue_alert(db, "change:1", "change", {"change_id": 1}, NOW, source_id="rebates", change_id=1)
        [alert] = outbox.pending_alerts(db)
        assert alert["change_id"] == 1
        person = people.upsert_person(db, "Dewi", NOW, email="dewi@acme.example", slack_id="U0DEWI")
        assert people.subscribe(db, "U0DEWI", "rebate", NOW)
        assert people.subscribers(db, "rebate") == ["U0DEWI"]
        assert person > 0
    finally:
        db.conn.close()

    db = open_db(db_path)
    try:
        assert migrate(db) == []  # nothing left to do, and nothing done twice
        assert schema_version(db) == latest_version()
    finally:
        db.conn.close()


def test_migrations_step_by_step(db_path: Path) -> None:
    db = open_db(db_path, upgrade=False)
    try:
        assert migrate(db, target=2) == [1, 2]
        assert "alerts" in db.table_names() and "people" not in db.table_names()
        numbers = [number for number, _name, _fn in MIGRATIONS]
        assert migrate(db) == [n for n in numbers if n >= 3]
        # Contiguous: migrate() applies every number above user_version, so a gap filled later would be skipped.
        assert numbers == list(range(1, len(numbers) + 1)) and numbers[-1] == latest_version()
    finally:
        db.conn.close()


def _shape(db: Database) -> dict[str, list[tuple[str, str, int, object]]]:
    shape: dict[str, list[tuple[str, str, int, object]]] = {}
    for (table,) in db.execute(
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'index') AND name != 'schema_migrations' ORDER BY name"
    ):  # schema_migrations is bookkeeping that exists at every step, not part of migration 1's schema
        info = db.execute(f'PRAGMA table_info("{table}")').fetchall()
        shape[table] = [(c[1], c[2], c[3], c[4]) for c in info]
    return shape


def test_migration_1_is_still_the_released_schema(tmp_path: Path) -> None:
    released = Database(sqlite3.connect(str(tmp_path / "released.db")))
    released.conn.executescript((DATA / "schema-v1.sql").read_text(encoding="utf-8"))
    today = open_db(tmp_path / "today.db", upgrade=False)
    try:
        migrate(today, target=1)
        assert _shape(today) == _shape(released), "migration 1 was edited after release: add a new migration instead"
    finally:
        released.conn.close()
        today.conn.close()


def test_a_released_version_1_database_upgrades_and_polls(server: FixtureServer, db_path: Path) -> None:
    raw = sqlite3.connect(str(db_path))
    raw.executescript((DATA / "schema-v1.sql").read_text(encoding="utf-8") + "PRAGMA user_version = 1;")
    url = server.url("/rebates")
    fill_version_1(Database(raw), url)
    raw.close()

    db = open_db(db_path)
    watch = Watch(db)
    try:
        assert schema_version(db) == latest_version()
        spec = SourceSpec(id="rebates", kind="html", url=url, topic="rebate", name="Rebates")
        server.routes["/rebates"] = Response(body=f"<p>{NEW}</p>".encode(), headers={"Content-Type": "text/html"})
        quiet = [watch.poll(spec, now=NOW + timedelta(hours=h))["rebates"].status for h in (1, 2)]
        server.routes["/rebates"] = Response(body=b"<p>Elite rebate: 8%</p>", headers={"Content-Type": "text/html"})
        loud = watch.poll(spec, now=NOW + timedelta(hours=3))["rebates"]

        assert quiet == ["unchanged", "unchanged"]
        assert loud.status == "changed"
        assert [c["id"] for c in watch.changes("rebates")] == [1, *loud.change_ids]
        assert watch.changes("rebates")[-1]["old_hash"] == content_hash(NEW)
        assert store.get_change(db, 1) is not None
    finally:
        watch.close()
        db.conn.close()
