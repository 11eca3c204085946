"""Syncing the config's sources into the database writes only what changed (a stored digest per definition)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from bot.config.loading import load_config
from bot.process.runtime import open_runtime, sync_config_sources

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def write(tmp_path: Path, selectors: dict[str, str]) -> Path:
    lines = ['[bot]\ndatabase = "sync.db"\n']
    for source_id, selector in selectors.items():
        lines.append(
            f'[[sources]]\nid = "{source_id}"\nkind = "html"\nurl = "https://partner.example/{source_id}"\n'
            f'selector = "{selector}"\n[sources.headers]\nAuthorization = "Bearer secret-{source_id}"\n'
        )
    path = tmp_path / "whisperer.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_an_unchanged_config_writes_nothing_and_an_edit_writes_only_that_source(tmp_path: Path) -> None:
    path = write(tmp_path, {f"s{i}": "main" for i in range(50)})
    runtime = open_runtime(load_config(path, env={}), NOW)
    try:
        db = runtime.db
        assert db.execute("SELECT COUNT(*) FROM sources WHERE spec_hash IS NOT NULL").fetchone()[0] == 50
        before = db.conn.total_changes
        assert sync_config_sources(runtime, NOW) == 0
        assert db.conn.total_changes == before  # not one row touched

        runtime.config = load_config(write(tmp_path, {**{f"s{i}": "main" for i in range(49)}, "s7": "table"}), env={})
        assert sync_config_sources(runtime, NOW) == 2  # s7 edited, s49 gone
        spec = json.loads(db.execute("SELECT spec FROM sources WHERE id = 's7'").fetchone()[0])
        assert spec["selector"] == "table"
        assert spec["header_names"] == ["Authorization"] and "secret" not in json.dumps(spec)
        assert db.execute("SELECT retired FROM sources WHERE id = 's49'").fetchone()[0] == 1
        assert sync_config_sources(runtime, NOW) == 0

        runtime.config = load_config(write(tmp_path, {f"s{i}": "main" for i in range(50)}), env={})
        assert sync_config_sources(runtime, NOW) == 2  # s49 back (no longer retired), s7 back to "main"
        assert db.execute("SELECT COUNT(*) FROM sources WHERE retired = 0").fetchone()[0] == 50
    finally:
        runtime.close()


def test_a_row_written_without_a_digest_is_rewritten_by_the_next_config_sync(tmp_path: Path) -> None:
    from storage.watching import sources as state

    path = write(tmp_path, {"a": "main"})
    runtime = open_runtime(load_config(path, env={}), NOW)
    try:
        spec = runtime.config.sources[0]
        state.sync_sources(runtime.db, [spec.public_dict()], NOW, origin="config")  # the older path: no digest
        assert runtime.db.execute("SELECT spec_hash FROM sources").fetchone()[0] is None
        assert sync_config_sources(runtime, NOW) == 1
        assert runtime.db.execute("SELECT spec_hash FROM sources").fetchone()[0] == spec.digest()
    finally:
        runtime.close()


def test_an_unchanged_config_is_not_compared_source_by_source(tmp_path: Path) -> None:
    path = write(tmp_path, {f"s{i}": "main" for i in range(20)})
    open_runtime(load_config(path, env={}), NOW).close()  # the first sync writes every row and the set's digest

    runtime = open_runtime(load_config(path, env={}), NOW)
    try:
        statements: list[str] = []
        runtime.db.conn.set_trace_callback(statements.append)
        assert sync_config_sources(runtime, NOW) == 0
        runtime.db.conn.set_trace_callback(None)
        assert statements == ["SELECT digest FROM source_sets WHERE origin = 'config'"]  # one read, no row compared
    finally:
        runtime.close()


def test_a_change_made_in_the_database_is_undone_by_the_next_sync_as_before(tmp_path: Path) -> None:
    """A config source removed from Slack (or by hand) comes back at the next sync: the set's digest is forgotten
    by the database itself whenever a source's row changes, whoever changes it."""
    from storage.watching import sources as state

    path = write(tmp_path, {"a": "main", "b": "main"})
    runtime = open_runtime(load_config(path, env={}), NOW)
    try:
        db = runtime.db
        assert state.synced_set(db, "config") is not None
        state.set_paused(db, "a", True)  # the poll's and pause's own updates keep it
        assert state.synced_set(db, "config") is not None

        assert state.retire_source(db, "a")
        assert state.synced_set(db, "config") is None
        assert sync_config_sources(runtime, NOW) == 1
        assert db.execute("SELECT retired, paused FROM sources WHERE id = 'a'").fetchone() == (0, 1)

        db.execute("UPDATE sources SET spec_hash = 'edited' WHERE id = 'b'")
        assert sync_config_sources(runtime, NOW) == 1
        db.execute("DELETE FROM sources WHERE id = 'b'")
        assert sync_config_sources(runtime, NOW) == 1
        assert db.execute("SELECT COUNT(*) FROM sources WHERE retired = 0").fetchone()[0] == 2
        assert sync_config_sources(runtime, NOW) == 0
    finally:
        runtime.close()
