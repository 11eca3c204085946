"""`whisperer poll` always ends: a dripping server is cut at total_timeout, the others are recorded, the summary
printed. Runs the real CLI (bot.cli.main.main) against real servers and a real database."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FixtureServer, Response

from bot.cli.main import main
from storage.db import open_db
from storage.watching import sources as state

PAGE = b"<html><body><main><p>Elite rebate: 6%</p></main></body></html>"


def test_a_dripping_source_is_cut_at_total_timeout_and_the_poll_still_reports(
    server: FixtureServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("WHISPERER_DB", "WHISPERER_CONFIG", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    # One byte a second for ten minutes: never a read timeout (5 s), always past total_timeout (2 s).
    server.routes["/drip"] = Response(body=PAGE * 10, headers={"Content-Type": "text/html"}, drip=1.0)
    server.routes["/page"] = Response(body=PAGE, headers={"Content-Type": "text/html"})
    (tmp_path / "notes.txt").write_text("Elite rebate: 6%\n", encoding="utf-8")
    config = tmp_path / "whisperer.toml"
    config.write_text(
        f"""
[bot]
database = "whisperer.db"

[fetch]
read_timeout = 5
total_timeout = 2
allow_private = ["127.0.0.1"]

[[sources]]
id = "drip"
kind = "html"
url = "{server.url("/drip")}"

[[sources]]
id = "page"
kind = "html"
url = "{server.url("/page")}"

[[sources]]
id = "notes"
kind = "file"
url = "notes.txt"
""",
        encoding="utf-8",
    )

    assert main(["--config", str(config), "poll"]) == 0

    out = capsys.readouterr().out.rstrip("\n").splitlines()
    assert out[-1] == "Polled 3 sources: 0 changed, 1 failed, 2 new, 0 unchanged."
    assert "+ page: first snapshot stored" in out
    assert "+ notes: first snapshot stored" in out
    (drip,) = [line for line in out if line.startswith("✗ drip:")]
    assert "total_timeout (2 s)" in drip and "raise total_timeout in whisperer.toml" in drip
    db = open_db(tmp_path / "whisperer.db")
    try:
        row = state.get_source(db, "drip")
        assert row is not None and row["last_status"] == "error" and "total_timeout" in row["last_error"]
        assert row["last_hash"] is None  # nothing of the dripped page became a snapshot
    finally:
        db.conn.close()
