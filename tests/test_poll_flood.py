"""Flood control that loses nothing: every change recorded, at most alert_limit alerts and one summary per poll."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from botserver import CHANNEL, text_of, write_config
from conftest import NOW, FixtureServer, Response
from fakeslack import FakeSlack

from bot.config.loading import ConfigError, load_config
from bot.delivery.outbox import deliver_alerts
from bot.delivery.sinks import SlackSink, TerminalSink
from bot.process.runtime import Runtime, open_runtime, poll
from bot.slack.app import make_web_client
from bot.slack.render import to_text
from handlers.alerting.compose import compose_alert
from storage.db import transaction
from storage.outbox import alerts as outbox
from storage.programme import knowledge
from storage.team import people
from storage.watching import changes as store

RSS = {"Content-Type": "application/rss+xml"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
SUBSCRIBER = "U0SUBSCRIBER"


def feed(count: int) -> bytes:
    items = "".join(f"<item><guid>n{i}</guid><title>Partner notice {i}</title></item>" for i in range(count))
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Notices</title>{items}</channel></rss>'.encode()


def ladder(names: list[str]) -> bytes:
    rows = "".join(f"<tr><td>{name}</td></tr>" for name in names)
    return f"<html><body><table><tr><th>Tier</th></tr>{rows}</table></body></html>".encode()


SOURCES = """
[[sources]]
id = "notices"
kind = "feed"
url = "{url}/feed.xml"
topic = "announcement"

[[sources]]
id = "quiet-notices"
kind = "feed"
url = "{url}/quiet.xml"
topic = "announcement"
alert_limit = 2
"""


@pytest.fixture
def runtime(tmp_path: Path, server: FixtureServer) -> Iterator[Runtime]:
    server.routes["/feed.xml"] = Response(200, feed(3), RSS)
    server.routes["/quiet.xml"] = Response(200, feed(3), RSS)
    # Subscribers are DMed urgent changes only: a rule makes every change here urgent.
    urgent = "[[importance]]\nwhen = '.'\nlevel = 'urgent'\n"
    config = load_config(write_config(tmp_path, SOURCES.format(url=server.url("")), extra=urgent), env={})
    rt = open_runtime(config, NOW)
    assert {o.status for o in poll(rt, NOW)} == {"new"}
    yield rt
    rt.close()


def pending(rt: Runtime, source_id: str) -> list[dict[str, object]]:
    return [a for a in outbox.pending_alerts(rt.db) if a["source_id"] == source_id]


def test_200_new_entries_are_200_changes_and_at_most_limit_plus_one_alerts(
    runtime: Runtime, server: FixtureServer, fake_slack: FakeSlack
) -> None:
    with transaction(runtime.db):
        people.subscribe(runtime.db, SUBSCRIBER, "announcement", NOW)
    server.routes["/feed.xml"] = Response(200, feed(203), RSS)
    [outcome] = poll(runtime, NOW + timedelta(minutes=30), ["notices"])
    assert outcome.status == "changed" and len(outcome.change_ids) == 200
    assert store.count_changes(runtime.db) == 200  # every one recorded
    alerts = pending(runtime, "notices")
    assert [a["kind"] for a in alerts] == ["change"] * 5 + ["alert-summary"]

    summary = to_text(compose_alert(runtime.db, alerts[-1], runtime.config.bot.tz))  # type: ignore[arg-type]
    assert "195 more changes on notices (http://" in summary and "in the same check, after the 5 I posted." in summary
    assert "• #6 New entry: 'Partner notice 104'" in summary  # the first of the rest, by name (ids sort as text)
    assert "… and 190 more." in summary and "The full list: /whisperer changes notices." in summary

    # Delivered to the channel, and to a subscriber by DM: the same limit for both.
    sink = SlackSink(make_web_client(fake_slack.token, fake_slack.api_url))
    for second in range(1, 30):
        deliver_alerts(runtime.db, sink, NOW + timedelta(minutes=31, seconds=second), tz=runtime.config.bot.tz,
                       default_channel=CHANNEL)  # fmt: skip
    assert outbox.pending_alerts(runtime.db) == []
    assert len(fake_slack.posts(CHANNEL)) == 6
    dms = [p for p in fake_slack.posts() if p["channel"] != CHANNEL]
    assert len(dms) == 6
    assert "195 more changes" in text_of(dms[-1]) and "you subscribed to" in text_of(dms[-1])


def test_a_source_limit_overrides_the_bot_default(tmp_path: Path, server: FixtureServer) -> None:
    server.routes["/feed.xml"] = Response(200, feed(1), RSS)
    server.routes["/quiet.xml"] = Response(200, feed(1), RSS)
    config = load_config(write_config(tmp_path, SOURCES.format(url=server.url("")), extra="alert_limit = 3"), env={})
    assert config.bot.alert_limit == 3 and config.source("quiet-notices").alert_limit == 2  # type: ignore[union-attr]
    rt = open_runtime(config, NOW)
    try:
        poll(rt, NOW)
        server.routes["/feed.xml"] = Response(200, feed(11), RSS)
        server.routes["/quiet.xml"] = Response(200, feed(11), RSS)
        poll(rt, NOW + timedelta(minutes=30))
        assert [a["kind"] for a in pending(rt, "notices")] == ["change"] * 3 + ["alert-summary"]
        assert [a["kind"] for a in pending(rt, "quiet-notices")] == ["change"] * 2 + ["alert-summary"]
        assert store.count_changes(rt.db) == 20
    finally:
        rt.close()


def test_up_to_the_limit_no_summary(runtime: Runtime, server: FixtureServer) -> None:
    server.routes["/feed.xml"] = Response(200, feed(8), RSS)
    poll(runtime, NOW + timedelta(minutes=30))
    assert [a["kind"] for a in pending(runtime, "notices")] == ["change"] * 5


@pytest.mark.parametrize(("where", "value"), [("bot", "0"), ("source", "-1"), ("source", '"5"')])
def test_a_bad_alert_limit_is_named(tmp_path: Path, where: str, value: str) -> None:
    source = '[[sources]]\nid = "n"\nkind = "feed"\nurl = "https://example.com/f.xml"\n'
    if where == "source":
        path = write_config(tmp_path, source + f"alert_limit = {value}\n")
    else:
        path = write_config(tmp_path, source, extra=f"alert_limit = {value}")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert caught.value.where.endswith("alert_limit")
    assert "at least 1" in caught.value.problem or "whole number" in caught.value.problem


TIERS = """
[partner]
name = "Acme Cloud"
tier = "T0"

[[sources]]
id = "ladder"
kind = "html"
url = "{url}/tiers.html"
topic = "tiers"
"""


def test_a_10000_row_tier_table_edit_posts_bounded_alerts(tmp_path: Path, server: FixtureServer) -> None:
    size = 10_000
    server.routes["/tiers.html"] = Response(200, ladder([f"T{i}" for i in range(size)]), HTML)
    config = load_config(write_config(tmp_path, TIERS.format(url=server.url(""))), env={})
    rt = open_runtime(config, NOW)
    try:
        poll(rt, NOW)
        server.routes["/tiers.html"] = Response(200, ladder([f"Tier {i} Plus" for i in range(size)]), HTML)
        [outcome] = poll(rt, NOW + timedelta(minutes=30))
        assert outcome.status == "changed"
        assert len(knowledge.tier_events(rt.db)) == size  # every rename recorded
        kinds = [a["kind"] for a in outbox.pending_alerts(rt.db)]
        assert kinds == ["tier-renamed"] * 5 + ["alert-summary"]  # the page-diff alert gave way to them
        lines: list[str] = []
        sink = TerminalSink(lines.append)
        for second in range(1, 10):
            deliver_alerts(rt.db, sink, NOW + timedelta(minutes=31, seconds=second), tz=rt.config.bot.tz,
                           default_channel=CHANNEL)  # fmt: skip
        printed = "\n".join(lines)
        assert printed.count("[alert →") == 6
        assert "9995 more tier changes on ladder" in printed and "T5 is now called Tier 5 Plus" in printed
        assert "The full list: /whisperer tiers." in printed
    finally:
        rt.close()
