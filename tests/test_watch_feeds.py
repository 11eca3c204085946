"""Feeds as entries: one change row per entry added, changed or removed, for Atom, RSS 1.0 and RSS 2.0."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import DATA, NOW, FixtureServer, Response, Watch

from watchers.sources import SourceSpec

FEEDS = DATA / "feeds"
TRANSITIONS: list[dict[str, Any]] = json.loads((FEEDS / "transitions.json").read_text(encoding="utf-8"))
XML = {"Content-Type": "application/xml"}


def serve(server: FixtureServer, path: str, name: str, content_type: str = "application/xml") -> None:
    server.routes[path] = Response(body=(FEEDS / name).read_bytes(), headers={"Content-Type": content_type})


@pytest.mark.parametrize("case", TRANSITIONS, ids=[c["format"] for c in TRANSITIONS])
def test_feed_entries_added_changed_removed(server: FixtureServer, watch: Watch, case: dict[str, Any]) -> None:
    serve(server, "/feed", case["before"])
    spec = SourceSpec(id="news", kind="feed", url=server.url("/feed"))

    first = watch.poll(spec)["news"]
    assert first.status == "new"
    assert watch.changes("news") == []
    stored = json.loads(watch.snapshot("news") or "{}")
    assert sorted(e["title"] for e in stored["entries"]) == sorted(case["titles_before"])

    serve(server, "/feed", case["after"])
    second = watch.poll(spec, now=NOW + timedelta(hours=1))["news"]

    assert second.status == "changed"
    rows = watch.changes("news")
    assert sorted((r["kind"], r["entry_key"], r["summary"]) for r in rows) == sorted(map(tuple, case["changes"]))
    assert len(rows) == len({r["entry_key"] for r in rows})  # one row per entry
    assert sorted(second.change_ids) == [r["id"] for r in rows]
    assert sorted(a["change_id"] for a in watch.alerts("change")) == [r["id"] for r in rows]
    for row in rows:
        assert row["diff"].startswith("--- entry (before)\n+++ entry (now)\n"), row["diff"]
        if row["kind"] == "entry-added":
            assert (row["added"], row["removed"]) != (0, 0) and row["removed"] == 0
        if row["kind"] == "entry-removed":
            assert row["added"] == 0 and row["removed"] > 0

    third = watch.poll(spec, now=NOW + timedelta(hours=2))["news"]
    assert third.status == "unchanged"
    assert len(watch.changes("news")) == len(rows)


def test_entry_changed_diff_shows_the_edit(server: FixtureServer, watch: Watch) -> None:
    serve(server, "/cn", "rss2-v1.xml")
    spec = SourceSpec(id="cn", kind="feed", url=server.url("/cn"))
    watch.poll(spec)
    serve(server, "/cn", "rss2-v2.xml")
    watch.poll(spec, now=NOW + timedelta(hours=1))

    [changed] = [r for r in watch.changes("cn") if r["kind"] == "entry-changed"]
    lines = changed["diff"].splitlines()
    assert "-  精英级返利比例调整为 6%。" in lines
    assert "+  精英级返利比例调整为 7%。" in lines
    assert "-updated: Tue, 17 Nov 2026 08:00:00 GMT" in lines
    assert "+updated: Wed, 25 Nov 2026 08:00:00 GMT" in lines


@pytest.mark.parametrize("suffix", [".xml", ".atom", ".rss"])
def test_feed_saved_as_a_file(tmp_path: Path, watch: Watch, suffix: str) -> None:
    path = tmp_path / f"announcements{suffix}"
    path.write_bytes((FEEDS / "atom-v1.xml").read_bytes())
    spec = SourceSpec(id="saved-feed", kind="file", url=str(path))
    assert watch.poll(spec)["saved-feed"].status == "new"

    path.write_bytes((FEEDS / "atom-v2.xml").read_bytes())
    outcome = watch.poll(spec, now=NOW + timedelta(hours=1))["saved-feed"]

    assert outcome.status == "changed"
    kinds = sorted(r["kind"] for r in watch.changes("saved-feed"))
    assert kinds == ["entry-added", "entry-changed", "entry-removed"]


def test_only_the_feed_title_changing_is_not_reported(server: FixtureServer, watch: Watch) -> None:
    serve(server, "/feed", "atom-v1.xml")
    spec = SourceSpec(id="news", kind="feed", url=server.url("/feed"))
    watch.poll(spec)
    renamed = (FEEDS / "atom-v1.xml").read_bytes().replace(b"Partner Announcements", b"Partner News")
    server.routes["/feed"] = Response(body=renamed, headers=XML)

    outcome = watch.poll(spec, now=NOW + timedelta(hours=1))["news"]

    assert outcome.status == "unchanged"
    assert watch.changes("news") == []
    assert json.loads(watch.snapshot("news") or "{}")["title"] == "Huawei Cloud Partner News"


def test_malformed_but_readable_feed_is_used_with_a_warning(server: FixtureServer, watch: Watch) -> None:
    serve(server, "/malformed", "malformed.xml")
    spec = SourceSpec(id="sloppy", kind="feed", url=server.url("/malformed"))

    outcome = watch.poll(spec)["sloppy"]

    assert outcome.status == "new"
    row = watch.source("sloppy")
    assert row["last_status"] == "new" and row["failures"] == 0
    assert row["warning"] is not None
    assert row["warning"].startswith("malformed feed, read anyway: ")
    assert "not well-formed" in row["warning"]
    assert outcome.warning == row["warning"]
    [entry] = json.loads(watch.snapshot("sloppy") or "{}")["entries"]
    assert entry["title"] == "Tiers & benefits refreshed"


@pytest.mark.parametrize(
    ("name", "content_type", "message"),
    [
        ("not-a-feed.html", "text/html", "not an RSS/Atom feed (no channel or feed element found)"),
        ("unavailable.txt", "text/plain", "not a readable RSS/Atom feed ("),
    ],
)
def test_unreadable_feed_is_an_error(
    server: FixtureServer, watch: Watch, name: str, content_type: str, message: str
) -> None:
    serve(server, "/good", "atom-v1.xml")
    serve(server, "/bad", name, content_type)
    good = SourceSpec(id="good", kind="feed", url=server.url("/good"))
    bad = SourceSpec(id="bad", kind="feed", url=server.url("/bad"))

    outcomes = watch.poll(good, bad)

    assert outcomes["good"].status == "new"
    assert outcomes["bad"].status == "error"
    row = watch.source("bad")
    assert row["last_status"] == "error"
    assert message in row["last_error"]
    assert row["failures"] == 1
    assert row["last_hash"] is None
