"""What counts as a change: an empty result is held for a second look, and an older check never beats a newer one."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from conftest import FAST, NOW, FixtureServer, Response, Seen, Watch

from bot.slack.render import to_text
from handlers.registry import Context, dispatch
from storage.database import Database
from storage.db import open_db
from watchers.sources import SourceSpec

HTML = {"Content-Type": "text/html; charset=utf-8"}
PAGE = b"<html><body><main><p>Partner tiers</p><p>Premier</p><p>Certified Plus</p></main></body></html>"


def page(body: bytes) -> Response:
    return Response(200, body, HTML)


def sources_text(db: Database, minutes: int) -> str:
    return to_text(dispatch(Context(db=db, now=NOW + timedelta(minutes=minutes), tz=NOW.tzinfo), "sources"))  # type: ignore[arg-type]


def test_an_empty_body_is_held_then_confirmed(server: FixtureServer, watch: Watch, db: Database) -> None:
    spec = SourceSpec(id="tiers", kind="html", url=server.url("/tiers"))
    server.routes["/tiers"] = page(PAGE)
    assert watch.poll(spec)["tiers"].status == "new"

    server.routes["/tiers"] = page(b"")  # a 200 with nothing in it: a deploy, a login wall, a cut response
    held = watch.poll(spec, now=NOW + timedelta(minutes=30))["tiers"]
    assert held.status == "held" and held.change_ids == []
    assert "came back empty (it had 3 lines)" in (held.warning or "")
    assert watch.changes("tiers") == [] and watch.alerts() == []
    assert watch.snapshot("tiers") == "Partner tiers\nPremier\nCertified Plus"  # the last good content stands
    listing = sources_text(db, 31)
    assert "⚠ tiers (html, announcement) — held;" in listing and "warning: came back empty" in listing
    assert "1 sources, all healthy (1 with a warning)" in listing

    confirmed = watch.poll(spec, now=NOW + timedelta(hours=1))["tiers"]  # the same again: believed now
    assert confirmed.status == "changed"
    [change] = watch.changes("tiers")
    assert (change["added"], change["removed"]) == (0, 3)
    assert [a["kind"] for a in watch.alerts()] == ["change"]
    row = watch.source("tiers")
    assert row["warning"] is None and row["held_hash"] is None and row["last_status"] == "changed"


def test_content_back_after_one_empty_check_is_no_change_at_all(
    server: FixtureServer, watch: Watch, db: Database
) -> None:
    spec = SourceSpec(id="tiers", kind="html", url=server.url("/tiers"))
    server.routes["/tiers"] = page(PAGE)
    watch.poll(spec)
    server.routes["/tiers"] = page(b"<html><body><main></main></body></html>")
    assert watch.poll(spec, now=NOW + timedelta(minutes=30))["tiers"].status == "held"
    server.routes["/tiers"] = page(PAGE)  # the blip is over: the very bytes of before
    assert watch.poll(spec, now=NOW + timedelta(hours=1))["tiers"].status == "unchanged"
    assert watch.changes("tiers") == [] and watch.alerts() == []
    row = watch.source("tiers")
    assert row["warning"] is None and row["held_hash"] is None
    assert "all healthy" in sources_text(db, 61) and "warning" not in sources_text(db, 61)


def test_a_selector_whose_match_empties_is_held(server: FixtureServer, watch: Watch) -> None:
    spec = SourceSpec(id="news", kind="html", url=server.url("/news"), selector="#news")
    server.routes["/news"] = page(b'<div id="news"><p>Policy v3.2.1</p></div><p>footer</p>')
    watch.poll(spec)
    server.routes["/news"] = page(b'<div id="news"></div><p>footer</p>')
    assert watch.poll(spec, now=NOW + timedelta(minutes=30))["news"].status == "held"
    assert watch.changes("news") == []


def test_a_feed_that_loses_every_entry_is_held(server: FixtureServer, watch: Watch) -> None:
    spec = SourceSpec(id="notices", kind="feed", url=server.url("/feed.xml"))
    item = "<item><guid>n1</guid><title>Deal registration rules updated</title></item>"
    rss = '<?xml version="1.0"?><rss version="2.0"><channel><title>Notices</title>{}</channel></rss>'
    server.routes["/feed.xml"] = Response(200, rss.format(item).encode(), {"Content-Type": "application/rss+xml"})
    watch.poll(spec)
    server.routes["/feed.xml"] = Response(200, rss.format("").encode(), {"Content-Type": "application/rss+xml"})
    held = watch.poll(spec, now=NOW + timedelta(minutes=30))["notices"]
    assert held.status == "held" and "it had 1 entry" in (held.warning or "")
    assert watch.poll(spec, now=NOW + timedelta(hours=1))["notices"].status == "changed"
    assert [c["kind"] for c in watch.changes("notices")] == ["entry-removed"]


def test_confirm_empty_false_stores_an_empty_page_at_once(server: FixtureServer, watch: Watch) -> None:
    spec = SourceSpec(id="tiers", kind="html", url=server.url("/tiers"), confirm_empty=False)
    server.routes["/tiers"] = page(PAGE)
    watch.poll(spec)
    server.routes["/tiers"] = page(b"")
    assert watch.poll(spec, now=NOW + timedelta(minutes=30))["tiers"].status == "changed"
    assert len(watch.changes("tiers")) == 1


class SlowFirst:
    """A route whose next request answers with the page as it was when it arrived, but only once released."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.hold_next = False
        self.arrived = threading.Event()
        self.release = threading.Event()

    def __call__(self, seen: Seen) -> Response:
        body, hold = self.body, self.hold_next
        self.hold_next = False
        if hold:
            self.arrived.set()
            self.release.wait(timeout=20)  # bounded: a broken test fails instead of hanging
        return page(body)


def version(n: int) -> bytes:
    return f"<html><body><main><p>Cross-cloud policy</p><p>Version {n}</p></main></body></html>".encode()


def test_an_older_check_that_finishes_last_is_discarded(server: FixtureServer, db_path: Path, db: Database) -> None:
    """A cron `whisperer poll` beside the bot: two connections, two polls, the first one slow."""
    route = SlowFirst(version(1))
    server.routes["/policy"] = route
    spec = SourceSpec(id="policy", kind="html", url=server.url("/policy"))
    settings = replace(FAST, read_timeout=20.0)
    bot = Watch(db, settings)
    cron_db = open_db(db_path)
    cron = Watch(cron_db, settings)
    try:
        assert bot.poll(spec)["policy"].status == "new"  # version 1 recorded
        route.body = version(2)  # edit 1
        route.hold_next = True
        slow: dict[str, object] = {}
        first = threading.Thread(target=lambda: slow.update(cron.poll(spec, now=NOW + timedelta(minutes=10))))
        first.start()
        assert route.arrived.wait(timeout=20)  # the cron poll has read version 2 and is stuck on the wire
        route.body = version(3)  # edit 2
        newer = bot.poll(spec, now=NOW + timedelta(minutes=11))["policy"]  # starts later, finishes first
        assert newer.status == "changed"
        route.release.set()
        first.join(timeout=20)
        assert not first.is_alive()
        assert slow["policy"].status == "stale"  # type: ignore[attr-defined]
        assert bot.poll(spec, now=NOW + timedelta(minutes=40))["policy"].status == "unchanged"
    finally:
        route.release.set()
        cron.close()
        cron_db.conn.close()
        bot.close()

    changes = bot.changes("policy")
    # One change (1 → 3): no phantom "3 → 2" and no "2 → 3" again after it.
    assert len(changes) == 1 and "+Version 3" in changes[0]["diff"] and "-Version 1" in changes[0]["diff"]
    assert len(bot.alerts("change")) == 1
    assert bot.snapshot("policy") == "Cross-cloud policy\nVersion 3"


def test_without_the_overlap_every_edit_is_one_change(server: FixtureServer, watch: Watch) -> None:
    route = SlowFirst(version(1))
    server.routes["/policy"] = route
    spec = SourceSpec(id="policy", kind="html", url=server.url("/policy"))
    watch.poll(spec)
    for n in range(2, 6):
        route.body = version(n)
        watch.poll(spec, now=NOW + timedelta(minutes=10 * n))
    assert len(watch.changes("policy")) == 4 == len(watch.alerts("change"))
