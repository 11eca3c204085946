"""Alert delivery against the fake Slack: exactly once, rate limits, back-off, blocked channels, DMs, escaping."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from botserver import CHANNEL, text_of, write_config
from conftest import NOW, FixtureServer, Response
from fakeslack import FakeSlack, rate_limited, server_error

from bot.cli.terminal import print_alerts
from bot.config.loading import load_config
from bot.delivery.outbox import NO_CHANNEL, Pacer, deliver_alerts
from bot.delivery.sinks import SlackSink
from bot.process.runtime import Runtime, make_context, open_runtime, poll
from bot.slack.app import make_web_client
from bot.slack.render import to_text
from handlers.registry import dispatch
from storage.db import transaction
from storage.outbox import alerts as outbox
from storage.outbox import delivery as blocks
from storage.team import people

PAGE = "<html><body><main><h1>Tier ladder</h1><p>{tier}</p></main></body></html>"
SOURCES = """
[[sources]]
id = "csp-tiers"
name = "CSP tier ladder"
kind = "html"
url = "{url}/tiers.html"
selector = "main"
topic = "tiers"
every = "1h"

[[sources]]
id = "policy"
kind = "html"
url = "{url}/policy.html"
selector = "main"
topic = "policy"
every = "1h"
"""


URGENT = "[[importance]]\nwhen = '.'\nlevel = 'urgent'\n"


@pytest.fixture
def runtime(tmp_path: Path, server: FixtureServer) -> Iterator[Runtime]:
    for path in ("/tiers.html", "/policy.html"):
        server.routes[path] = Response(200, PAGE.format(tier="Premier").encode(), {"Content-Type": "text/html"})
    # Subscribers are DMed urgent changes only: here a rule makes every change urgent.
    config = load_config(write_config(tmp_path, SOURCES.format(url=server.url("")), extra=URGENT), env={})
    rt = open_runtime(config, NOW)
    poll(rt, NOW)  # first snapshots
    yield rt
    rt.close()


def change_page(server: FixtureServer, path: str = "/tiers.html", tier: str = "Certified Plus") -> None:
    server.routes[path] = Response(200, PAGE.format(tier=tier).encode(), {"Content-Type": "text/html"})


def sink_for(fake: FakeSlack, retries: int = 1) -> SlackSink:
    return SlackSink(make_web_client(fake.token, fake.api_url, rate_limit_retries=retries))


def deliver(rt: Runtime, sink: SlackSink, at: timedelta, pacer: Pacer | None = None, channel: str | None = CHANNEL):
    return deliver_alerts(rt.db, sink, NOW + at, tz=rt.config.bot.tz, default_channel=channel, pacer=pacer)


def text_alert(rt: Runtime, key: str, text: str, channel: str | None = None, **payload: object) -> None:
    with transaction(rt.db):
        outbox.enqueue_alert(rt.db, key, "notice", {"text": text, **payload}, NOW, channel=channel)


def test_a_change_is_posted_exactly_once(runtime: Runtime, server: FixtureServer, fake_slack: FakeSlack) -> None:
    change_page(server)
    outcomes = poll(runtime, NOW + timedelta(minutes=30))
    [change_id] = [c for o in outcomes for c in o.change_ids]
    sink, pacer = sink_for(fake_slack), Pacer()
    report = deliver(runtime, sink, timedelta(minutes=31), pacer)
    assert report.sent == 1
    [post] = fake_slack.posts(CHANNEL)
    text = text_of(post)
    assert "CSP tier ladder" in text and "(tiers)" in text  # what changed
    assert "1 line added, 1 removed" in text  # the summary
    assert "```" in text and "+Certified Plus" in text and "-Premier" in text  # the diff excerpt
    assert f"change #{change_id}" in text and "/tiers.html|CSP tier ladder>" in text  # id and link
    assert post["unfurl_links"] is False
    for minutes in (32, 33, 90):
        deliver(runtime, sink, timedelta(minutes=minutes), pacer)
    assert len(fake_slack.posts()) == 1
    [row] = outbox.list_alerts(runtime.db, status="sent")
    assert (row["ts"], row["attempts"]) == ("1764100000.000001", 1)


def test_a_429_then_success_is_delivered_once(runtime: Runtime, fake_slack: FakeSlack) -> None:
    text_alert(runtime, "notice:1", "Portal maintenance on Saturday")
    fake_slack.fail_next("chat.postMessage", rate_limited(retry_after=0))
    report = deliver(runtime, sink_for(fake_slack), timedelta(0))
    assert report.sent == 1
    assert [c.outcome for c in fake_slack.calls_to("chat.postMessage")] == ["http:429", "ok"]
    assert len(fake_slack.posts()) == 1
    deliver(runtime, sink_for(fake_slack), timedelta(seconds=5))
    assert len(fake_slack.posts()) == 1


def test_a_persistent_429_holds_only_its_own_channel_for_retry_after(runtime: Runtime, fake_slack: FakeSlack) -> None:
    text_alert(runtime, "notice:1", "first")
    text_alert(runtime, "notice:2", "second", channel="C0OTHER")
    fake_slack.fail_next("chat.postMessage", rate_limited(retry_after=7))
    sink, pacer = sink_for(fake_slack, retries=0), Pacer()
    report = deliver(runtime, sink, timedelta(0), pacer)
    assert (report.sent, report.retried) == (1, 1)  # the other channel is not held
    assert [p["channel"] for p in fake_slack.posts()] == ["C0OTHER"]
    hold = pacer.hold_until(CHANNEL)
    # from when Slack answered (a moment after the run began), never from the start of the run
    assert hold is not None and NOW + timedelta(seconds=7) < hold <= NOW + timedelta(seconds=8)
    deliver(runtime, sink, timedelta(seconds=6), pacer)
    assert len(fake_slack.calls_to("chat.postMessage")) == 2  # still held
    deliver(runtime, sink, timedelta(seconds=9), pacer)
    assert sorted(p["channel"] for p in fake_slack.posts()) == [CHANNEL, "C0OTHER"]


def test_server_errors_back_off(runtime: Runtime, fake_slack: FakeSlack) -> None:
    text_alert(runtime, "notice:1", "hello")
    fake_slack.fail_next("chat.postMessage", server_error(500), server_error(503))
    sink, pacer = sink_for(fake_slack), Pacer()
    assert deliver(runtime, sink, timedelta(0), pacer).retried == 1
    [row] = outbox.list_alerts(runtime.db)
    assert row["next_attempt_at"] == "2026-11-26T03:00:10+00:00"
    assert "HTTP 500" in row["last_error"]
    deliver(runtime, sink, timedelta(seconds=5), pacer)
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert deliver(runtime, sink, timedelta(seconds=11), pacer).retried == 1  # 503: now 20 s
    assert deliver(runtime, sink, timedelta(seconds=25), pacer).sent == 0
    assert deliver(runtime, sink, timedelta(seconds=32), pacer).sent == 1
    assert len(fake_slack.posts()) == 1


def test_network_errors_are_retried(runtime: Runtime, fake_slack: FakeSlack) -> None:
    text_alert(runtime, "notice:1", "hello")
    unreachable = SlackSink(
        make_web_client(fake_slack.token, "http://127.0.0.1:9/api/", rate_limit_retries=0, timeout=2)
    )
    report = deliver(runtime, unreachable, timedelta(0))
    assert report.retried == 1
    [row] = outbox.list_alerts(runtime.db)
    assert row["status"] == "pending" and "network error" in row["last_error"]
    # the 10 s backoff counts from the failed answer (the SDK's own reconnect attempt takes a moment)
    assert deliver(runtime, sink_for(fake_slack), timedelta(seconds=15)).sent == 1


def test_not_in_channel_is_one_log_line_a_visible_status_and_no_storm(
    runtime: Runtime, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    for n in range(3):
        text_alert(runtime, f"notice:{n}", f"notice {n}")
    fake_slack.refuse(CHANNEL, "not_in_channel")
    sink, pacer = sink_for(fake_slack), Pacer()
    with caplog.at_level(logging.INFO, logger="whisperer.delivery"):
        for second in range(6):
            deliver(runtime, sink, timedelta(seconds=second), pacer)
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    held = [r for r in caplog.records if "are held" in r.getMessage()]
    assert len(held) == 1
    assert "not_in_channel" in held[0].getMessage() and "/invite @Huawei Whisperer" in held[0].getMessage()
    sources = to_text(dispatch(make_context(runtime, NOW + timedelta(seconds=6)), "sources"))
    assert f"{CHANNEL}: not_in_channel" in sources and "/invite @Huawei Whisperer" in sources
    fake_slack.refuse(CHANNEL, None)  # someone invites the bot
    deliver(runtime, sink, timedelta(minutes=14), pacer)
    assert len(fake_slack.calls_to("chat.postMessage")) == 1  # not yet time to probe
    with caplog.at_level(logging.INFO, logger="whisperer.delivery"):
        for second in range(3):
            deliver(runtime, sink, timedelta(minutes=15, seconds=second), pacer)
    assert [p["text"] for p in fake_slack.posts(CHANNEL)] == ["notice 0", "notice 1", "notice 2"]
    assert blocks.blocked_targets(runtime.db) == []
    assert any("delivered again" in r.getMessage() for r in caplog.records)


def test_a_restart_retries_held_targets_at_once(runtime: Runtime, fake_slack: FakeSlack) -> None:
    text_alert(runtime, "notice:1", "hello")
    fake_slack.refuse(CHANNEL, "channel_not_found")
    deliver(runtime, sink_for(fake_slack), timedelta(0))
    [block] = blocks.blocked_targets(runtime.db)
    assert "channel ID" in block["fix"]
    fake_slack.refuse(CHANNEL, None)
    with transaction(runtime.db):
        assert blocks.clear_blocks(runtime.db, NOW + timedelta(seconds=1)) == 1
    assert deliver(runtime, sink_for(fake_slack), timedelta(seconds=1)).sent == 1


def test_a_feed_entry_cannot_ping_the_channel_or_forge_a_link(
    tmp_path: Path, server: FixtureServer, fake_slack: FakeSlack
) -> None:
    def feed(*titles: str) -> bytes:
        items = "".join(
            f"<item><guid>n{i}</guid><title>{t}</title><link>https://portal.example/n{i}</link></item>"
            for i, t in enumerate(titles)
        )
        return f'<?xml version="1.0"?><rss version="2.0"><channel><title>N</title>{items}</channel></rss>'.encode()

    server.routes["/feed.xml"] = Response(200, feed("MDF open"), {"Content-Type": "application/rss+xml"})
    sources = f'[[sources]]\nid = "notices"\nkind = "feed"\nurl = "{server.url("/feed.xml")}"\n'
    rt = open_runtime(load_config(write_config(tmp_path, sources), env={}), NOW)
    try:
        poll(rt, NOW)
        evil = "&lt;!channel&gt; &lt;https://evil.example|click&gt;"
        server.routes["/feed.xml"] = Response(200, feed("MDF open", evil), {"Content-Type": "application/rss+xml"})
        [outcome] = poll(rt, NOW + timedelta(hours=1))
        assert outcome.summaries == ["New entry: '<!channel> <https://evil.example|click>'"]  # stored as the page said
        deliver(rt, sink_for(fake_slack), timedelta(hours=1))
        [post] = fake_slack.posts(CHANNEL)
        text = text_of(post)
        assert "<!channel>" not in text and "<https://evil.example" not in text
        assert "&lt;!channel&gt; &lt;https://evil.example|click&gt;" in text
    finally:
        rt.close()


def test_a_dm_to_a_person_is_resolved_by_email_once(runtime: Runtime, fake_slack: FakeSlack) -> None:
    fake_slack.users_by_email["dewi@acme.example"] = "U0DEWI"
    with transaction(runtime.db):
        person = people.upsert_person(runtime.db, "Dewi", NOW, email="dewi@acme.example")
        for n in (1, 2):
            outbox.enqueue_alert(
                runtime.db,
                f"reminder:{n}",
                "reminder",
                {
                    "person_id": person,
                    "heading": "HCIE-Cloud expires soon",
                    "text": f"Reminder {n}: renew by 2027-01-31.",
                },
                NOW,
            )
    sink, pacer = sink_for(fake_slack), Pacer()
    assert deliver(runtime, sink, timedelta(0), pacer).sent == 1  # one per second to the same person
    assert deliver(runtime, sink, timedelta(seconds=1), pacer).sent == 1
    assert len(fake_slack.calls_to("users.lookupByEmail")) == 1  # then remembered
    assert people.get_person(runtime.db, person)["slack_id"] == "U0DEWI"  # type: ignore[index]
    assert [c.args["users"] for c in fake_slack.calls_to("conversations.open")] == ["U0DEWI", "U0DEWI"]
    posts = fake_slack.posts("DU0DEWI")
    assert len(posts) == 2
    assert posts[0]["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "HCIE-Cloud expires soon"},
    }
    assert "renew by 2027-01-31" in text_of(posts[0])


def test_a_dm_to_someone_without_a_slack_account_fails_clearly(runtime: Runtime, fake_slack: FakeSlack) -> None:
    with transaction(runtime.db):
        person = people.upsert_person(runtime.db, "Budi", NOW, email="budi@partner.example")
        outbox.enqueue_alert(runtime.db, "reminder:1", "reminder", {"person_id": person, "text": "hi"}, NOW)
    assert deliver(runtime, sink_for(fake_slack), timedelta(0)).failed == 1
    [row] = outbox.list_alerts(runtime.db)
    assert row["status"] == "failed"
    assert row["last_error"] == "no Slack user has the email budi@partner.example (Budi)"
    assert fake_slack.posts() == []


def test_subscribers_get_one_dm_per_change(runtime: Runtime, server: FixtureServer, fake_slack: FakeSlack) -> None:
    with transaction(runtime.db):
        people.subscribe(runtime.db, "U0ALICE", "policy", NOW)
        people.subscribe(runtime.db, "U0BOB", "tiers", NOW)
    change_page(server, "/policy.html", "Growth threshold 25%")
    [change_id] = [c for o in poll(runtime, NOW + timedelta(hours=1)) for c in o.change_ids]
    sink, pacer = sink_for(fake_slack), Pacer()
    for second in range(4):
        deliver(runtime, sink, timedelta(hours=1, seconds=second), pacer)
    assert len(fake_slack.posts(CHANNEL)) == 1
    [dm] = fake_slack.posts("DU0ALICE")
    assert "subscribed to `policy`" in text_of(dm) and "/whisperer unsubscribe policy" in text_of(dm)
    assert fake_slack.posts("DU0BOB") == []  # subscribed to another topic
    keys = sorted(row["key"] for row in outbox.list_alerts(runtime.db))
    assert keys == [f"change:{change_id}", f"dm:{change_id}:U0ALICE"]


def test_posts_are_paced_per_channel(runtime: Runtime, fake_slack: FakeSlack) -> None:
    for n in range(3):
        text_alert(runtime, f"a:{n}", f"alerts {n}")
    text_alert(runtime, "b:0", "other 0", channel="C0OTHER")
    sink, pacer = sink_for(fake_slack), Pacer()
    assert deliver(runtime, sink, timedelta(0), pacer).sent == 2  # one per channel
    assert deliver(runtime, sink, timedelta(milliseconds=500), pacer).sent == 0
    assert deliver(runtime, sink, timedelta(seconds=1), pacer).sent == 1
    assert deliver(runtime, sink, timedelta(seconds=2), pacer).sent == 1
    assert [p["text"] for p in fake_slack.posts(CHANNEL)] == ["alerts 0", "alerts 1", "alerts 2"]


def test_no_alerts_channel_holds_alerts_with_the_fix(runtime: Runtime, fake_slack: FakeSlack) -> None:
    text_alert(runtime, "notice:1", "hello")
    report = deliver(runtime, sink_for(fake_slack), timedelta(0), channel=None)
    assert report.blocked == 1
    [block] = blocks.blocked_targets(runtime.db)
    assert block["target"] == NO_CHANNEL and "[bot] alerts_channel" in block["fix"]
    assert fake_slack.calls == []


def test_terminal_mode_prints_alerts_and_dms(runtime: Runtime, server: FixtureServer) -> None:
    with transaction(runtime.db):
        people.subscribe(runtime.db, "U0ALICE", "tiers", NOW)
    change_page(server)
    poll(runtime, NOW + timedelta(hours=1))
    lines: list[str] = []
    assert print_alerts(runtime, NOW + timedelta(hours=1), lines.append) == 2
    output = "\n".join(lines)
    assert f"[alert → {CHANNEL}]" in output and "[alert → DM U0ALICE]" in output
    assert "CSP tier ladder changed (tiers)" in output
    assert print_alerts(runtime, NOW + timedelta(hours=2), lines.append) == 0
