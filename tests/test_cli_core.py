"""The core CLI against a real config file, a real database and a real HTTP server: poll, changes, diff, sources."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import DATA, FixtureServer, Response

from bot.cli.main import main
from bot.config.loading import load_config
from bot.process.runtime import open_runtime, poll
from storage.db import open_db
from storage.outbox import alerts as outbox

TIERS = (DATA / "pages" / "tiers.html").read_text(encoding="utf-8")
HTML = {"Content-Type": "text/html; charset=utf-8"}
ERROR_500 = "HTTP 500 Internal Server Error: the server failed; it will be retried on the next poll"


def tiers_page(advanced: str = "72 hours", extra_row: str = "") -> Response:
    body = TIERS.replace("<td>72 hours</td>", f"<td>{advanced}</td>").replace("</table>", f"{extra_row}</table>")
    return Response(body=body.encode(), headers=HTML)


@dataclass
class Site:
    server: FixtureServer
    config: Path
    notes: Path

    def run(self, *argv: str) -> int:
        return main(["--config", str(self.config), *argv])

    def feed(self, name: str) -> None:
        self.server.routes["/news"] = Response(body=(DATA / "feeds" / name).read_bytes(), headers={})


@pytest.fixture
def site(server: FixtureServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    for name in ("WHISPERER_DB", "WHISPERER_CONFIG", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    server.routes["/tiers"] = tiers_page()
    server.routes["/broken"] = Response(500, b"Traceback ...")
    notes = tmp_path / "notes.txt"
    notes.write_text("Elite rebate: 6%\n", encoding="utf-8")
    config = tmp_path / "whisperer.toml"
    config.write_text(
        f"""
[bot]
database = "whisperer.db"

[fetch]
connect_timeout = 2
read_timeout = 0.5
allow_private = ["127.0.0.1"]  # the test server's address, allowed explicitly

[[sources]]
id = "tiers"
name = "Partner tiers"
kind = "html"
url = "{server.url("/tiers")}"
selector = "table.tiers"
topic = "tiers"

[[sources]]
id = "news"
kind = "feed"
url = "{server.url("/news")}"

[[sources]]
id = "notes"
kind = "file"
url = "notes.txt"
topic = "rebate"

[[sources]]
id = "broken"
kind = "html"
url = "{server.url("/broken")}"
""",
        encoding="utf-8",
    )
    result = Site(server, config, notes)
    result.feed("atom-v1.xml")
    return result


def lines_of(text: str) -> list[str]:
    return text.rstrip("\n").splitlines()


def test_poll_prints_each_outcome_and_a_summary(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    assert site.run("poll") == 0  # a failing source is news, not a failed command

    first = lines_of(capsys.readouterr().out)
    assert sorted(first[:-1]) == sorted(
        [
            "+ tiers: first snapshot stored",
            "+ news: first snapshot stored",
            "+ notes: first snapshot stored",
            f"✗ broken: {ERROR_500} (failed 1× in a row)",
        ]
    )
    assert first[-1] == "Polled 4 sources: 0 changed, 1 failed, 3 new, 0 unchanged."

    site.server.routes["/tiers"] = tiers_page("96 hours", "<tr><td>Premier</td><td>120 hours</td><td>8%</td></tr>")
    site.feed("atom-v2.xml")
    assert site.run("poll") == 0

    second = lines_of(capsys.readouterr().out)
    assert second[-1] == "Polled 4 sources: 2 changed, 1 failed, 0 new, 1 unchanged."
    body = "\n".join(second[:-1])
    assert re.search(
        r"^✓ tiers: changed — 2 lines added, 1 removed: 'Advanced \| 96 hours \| 4%'  \(#\d+\)$", body, re.M
    )
    for summary in (
        "New entry: 'New Elite tier requirement: two certified architects'",
        "Entry changed: 'Rebate statement for Q3 published (corrected)'",
        "Entry removed: 'Maintenance window on 30 November'",
    ):
        assert re.search(rf"^✓ news: changed — {re.escape(summary)}  \(#\d+\)$", body, re.M), summary
    assert f"✗ broken: {ERROR_500} (failed 2× in a row)" in second
    assert not any(line.startswith(("+ notes", "✓ notes", "✗ notes")) for line in second)
    # The change numbers printed are the ones `diff` accepts.
    printed = sorted(int(n) for n in re.findall(r"\(#(\d+)\)$", body, re.M))
    assert printed == [1, 2, 3, 4]


def test_three_failed_polls_queue_one_failing_alert(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    for _ in range(4):
        assert (
            site.run("poll", "--source", "broken") == 1
        )  # every source polled failed: the work failed (exit status 1)
    out = capsys.readouterr().out
    assert "(failed 4× in a row)" in out

    db = open_db(site.config.parent / "whisperer.db")
    try:
        failing = [a for a in outbox.pending_alerts(db) if a["kind"] == "source-failing"]
    finally:
        db.conn.close()
    assert [(a["source_id"], a["payload"]["failures"]) for a in failing] == [("broken", 3)]


def test_poll_one_source(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    assert site.run("poll", "--source", "tiers") == 0

    out = lines_of(capsys.readouterr().out)
    assert out == ["+ tiers: first snapshot stored", "Polled 1 source: 0 changed, 0 failed, 1 new, 0 unchanged."]
    assert len(site.server.requests_to("/tiers")) == 1
    assert site.server.requests_to("/news") == [] and site.server.requests_to("/broken") == []

    assert site.run("poll", "--source", "notes", "--source", "broken") == 0
    out = lines_of(capsys.readouterr().out)
    assert out[-1] == "Polled 2 sources: 0 changed, 1 failed, 1 new, 0 unchanged."
    assert site.server.requests_to("/news") == []


def test_poll_an_unknown_source(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    code = site.run("poll", "--source", "tires")

    err = capsys.readouterr().err
    assert code == 2
    assert f"no source 'tires' in {site.config}; known sources: " in err
    assert site.server.seen == []


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=8, tzinfo=UTC)


@pytest.fixture
def history(site: Site) -> Site:
    """Changes at known times: tiers on 15 Oct (#1), 10 Nov (#2) and 20 Nov (#3); notes on 12 Nov (#4)."""
    config = load_config(site.config, {})
    runtime = open_runtime(config, at("2026-10-01"))
    try:
        poll(runtime, at("2026-10-01"), ["tiers", "notes"])
        for day, advanced in (("2026-10-15", "80 hours"), ("2026-11-10", "88 hours"), ("2026-11-20", "96 hours")):
            site.server.routes["/tiers"] = tiers_page(advanced)
            poll(runtime, at(day), ["tiers"])
        site.notes.write_text("Elite rebate: 7%\n", encoding="utf-8")
        poll(runtime, at("2026-11-12"), ["notes"])
    finally:
        runtime.close()
    return site


def test_changes_filters_by_source_since_and_limit(history: Site, capsys: pytest.CaptureFixture[str]) -> None:
    assert history.run("changes", "--source", "tiers", "--since", "2026-11-01") == 0
    out = capsys.readouterr().out
    assert "Latest changes (tiers · since 2026-11-01)" in out
    items = [line for line in lines_of(out) if line.startswith("  • ")]
    assert items == [
        # The facts that moved are the headline; the line counts are detail, shown by `diff`.
        "  • #3 2026-11-20 08:00 · Partner tiers (tiers): Advanced | … | 4%: 88 hours → 96 hours",
        "  • #2 2026-11-10 08:00 · Partner tiers (tiers): Advanced | … | 4%: 80 hours → 88 hours",
    ]

    assert history.run("changes", "--source", "tiers", "--since", "2026-11-01", "--limit", "1") == 0
    items = [line for line in lines_of(capsys.readouterr().out) if line.startswith("  • ")]
    assert [item.split()[1] for item in items] == ["#3"]

    assert history.run("changes", "--since", "2026-11-01") == 0
    items = [line for line in lines_of(capsys.readouterr().out) if line.startswith("  • ")]
    assert [item.split()[1] for item in items] == ["#3", "#4", "#2"]

    assert history.run("changes") == 0
    items = [line for line in lines_of(capsys.readouterr().out) if line.startswith("  • ")]
    assert [item.split()[1] for item in items] == ["#3", "#4", "#2", "#1"]


def test_changes_with_nothing_to_show(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    assert site.run("changes", "--source", "tiers") == 0
    assert "Nothing has changed." in capsys.readouterr().out


def test_diff_shows_one_change_in_full(history: Site, capsys: pytest.CaptureFixture[str]) -> None:
    assert history.run("diff", "2") == 0

    out = lines_of(capsys.readouterr().out)
    assert out[0] == "Change #2: Partner tiers"
    assert "  • 📊 Advanced | … | 4%: 80 hours → 88 hours" in out
    assert "  1 line added, 1 removed: 'Advanced | 88 hours | 4%'" in out  # the line counts become detail
    assert "    --- tiers (before)" in out
    assert "    -Advanced | 80 hours | 4%" in out
    assert "    +Advanced | 88 hours | 4%" in out
    assert any("tiers · page · detected 2026-11-10 08:00" in line for line in out)


@pytest.mark.parametrize("change_id", ["999", "#999"])
def test_diff_of_a_change_that_does_not_exist(
    history: Site, capsys: pytest.CaptureFixture[str], change_id: str
) -> None:
    code = history.run("diff", change_id)

    out = capsys.readouterr().out
    assert code == 2
    assert "There is no change #999." in out
    assert "/whisperer changes" in out


def test_sources_shows_health(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    assert site.run("poll") == 0
    capsys.readouterr()

    assert site.run("sources") == 0

    out = lines_of(capsys.readouterr().out)
    assert "4 sources, 1 failing" in out
    items = {line.split()[2]: line for line in out if line.startswith("  • ")}
    assert set(items) == {"broken", "news", "notes", "tiers"}
    # "since just now" / "checked just now" come from the real clock; assert around them.
    assert items["broken"].startswith("  • ✗ broken (html, announcement) — failing ×1 since ")
    assert f": {ERROR_500}; checked " in items["broken"]
    assert items["tiers"].startswith("  • ✓ tiers (html, tiers) — ok (first snapshot); checked ")
    assert items["tiers"].endswith("; 0 changes")
    assert items["notes"].startswith("  • ✓ notes (file, rebate) — ok (first snapshot)")


def test_sources_reports_a_warning(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    site.server.routes["/news"] = Response(body=(DATA / "feeds" / "malformed.xml").read_bytes(), headers={})
    assert site.run("poll", "--source", "news") == 0
    capsys.readouterr()

    assert site.run("sources") == 0

    [news] = [line for line in lines_of(capsys.readouterr().out) if " news " in line]
    assert " — warning: malformed feed, read anyway: " in news


def test_a_config_error_exits_2(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    site.config.write_text(site.config.read_text(encoding="utf-8").replace('kind = "feed"', 'kind = "rss"'))

    assert site.run("poll") == 2

    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"{site.config}: sources[1].kind: unknown kind 'rss'" in captured.err
    assert "fix: use one of: html, feed, file" in captured.err
    assert site.server.seen == []
