"""Threads: follow-up changes to a source go in the thread of its first alert, which then says "N more in thread"."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from botserver import CHANNEL, text_of, write_config
from conftest import NOW, FixtureServer, Response
from fakeslack import FakeSlack, server_error, slack_error

from bot.cli.terminal import print_alerts
from bot.config.loading import load_config
from bot.delivery.outbox import DeliveryReport, Pacer, deliver_alerts
from bot.delivery.sinks import SlackSink
from bot.delivery.threads import ThreadedSink
from bot.process.runtime import Runtime, open_runtime, poll
from bot.slack.app import make_web_client
from storage.db import transaction
from storage.outbox import alerts as outbox
from storage.team import people

PAGE = "<html><body><main><h1>Notices</h1><p>{text}</p></main></body></html>"
SOURCES = """
[[sources]]
id = "notices"
name = "Partner notices"
kind = "html"
url = "{url}/notices.html"
selector = "main"
topic = "announcement"
every = "1h"

[[sources]]
id = "other"
kind = "html"
url = "{url}/other.html"
selector = "main"
topic = "policy"
every = "1h"
"""


def make_runtime(tmp_path: Path, server: FixtureServer, extra: str = "") -> Runtime:
    for path in ("/notices.html", "/other.html"):
        server.routes[path] = Response(200, PAGE.format(text="v0").encode(), {"Content-Type": "text/html"})
    config = load_config(write_config(tmp_path, SOURCES.format(url=server.url("")), extra=extra), env={})
    rt = open_runtime(config, NOW)
    poll(rt, NOW)
    return rt


@pytest.fixture
def runtime(tmp_path: Path, server: FixtureServer) -> Iterator[Runtime]:
    rt = make_runtime(tmp_path, server)
    yield rt
    rt.close()


def edit(rt: Runtime, server: FixtureServer, text: str, at: timedelta, path: str = "/notices.html") -> list[int]:
    server.routes[path] = Response(200, PAGE.format(text=text).encode(), {"Content-Type": "text/html"})
    return [c for o in poll(rt, NOW + at) for c in o.change_ids]


def slack_sink(rt: Runtime, fake_slack: FakeSlack) -> ThreadedSink:
    client = make_web_client(fake_slack.token, fake_slack.api_url, rate_limit_retries=0)
    return ThreadedSink(SlackSink(client), rt.config.bot.thread_hours, rt.config.bot.tz)


def deliver(rt: Runtime, sink: ThreadedSink, at: timedelta) -> DeliveryReport:
    return deliver_alerts(
        rt.db, sink, NOW + at, tz=rt.config.bot.tz, default_channel=CHANNEL, pacer=Pacer(interval=timedelta(0))
    )


def test_follow_ups_go_in_the_first_alerts_thread(
    runtime: Runtime, server: FixtureServer, fake_slack: FakeSlack
) -> None:
    sink = slack_sink(runtime, fake_slack)
    edit(runtime, server, "v1", timedelta(hours=1))
    deliver(runtime, sink, timedelta(hours=1))
    [first] = fake_slack.posts(CHANNEL)
    assert "thread_ts" not in first  # the first alert is top-level
    parent_ts = outbox.list_alerts(runtime.db, status="sent")[0]["ts"]

    edit(runtime, server, "v2", timedelta(hours=3))
    deliver(runtime, sink, timedelta(hours=3))
    reply = fake_slack.posts()[-1]
    assert reply["thread_ts"] == parent_ts
    assert reply["channel"] == "C0ALERTS"  # the channel ID Slack answered with, as threads need
    assert "v2" in text_of(reply)
    [update] = fake_slack.updates()
    assert (update["channel"], update["ts"]) == ("C0ALERTS", parent_ts)
    assert "🧵 1 more in thread" in text_of(update)
    assert "Partner notices" in text_of(update)  # the parent still says what it said

    edit(runtime, server, "v3", timedelta(hours=20))
    deliver(runtime, sink, timedelta(hours=20))
    assert fake_slack.posts()[-1]["thread_ts"] == parent_ts
    assert "🧵 2 more in thread" in text_of(fake_slack.updates()[-1])
    assert fake_slack.messages[("C0ALERTS", parent_ts)]["text"]  # the fake's copy of the parent was replaced
    assert "2 more in thread" in text_of(fake_slack.messages[("C0ALERTS", parent_ts)])

    # Past thread_hours (24 by default) after the first alert: a new top-level message starts a new thread.
    edit(runtime, server, "v4", timedelta(hours=26))
    deliver(runtime, sink, timedelta(hours=26))
    assert "thread_ts" not in fake_slack.posts()[-1]
    assert len(fake_slack.posts()) == 4 and len(fake_slack.updates()) == 2


def test_another_source_or_a_policy_version_posts_top_level(
    runtime: Runtime, server: FixtureServer, fake_slack: FakeSlack
) -> None:
    sink = slack_sink(runtime, fake_slack)
    [change_id] = edit(runtime, server, "v1", timedelta(hours=1))
    deliver(runtime, sink, timedelta(hours=1))
    edit(runtime, server, "other v1", timedelta(hours=2), path="/other.html")
    with transaction(runtime.db):  # what the policy-version extractor queues for a version bump
        outbox.enqueue_alert(
            runtime.db,
            "policy-version:99",
            "policy-version",
            {"heading": "Notices 1.0 → 2.0", "text": "moved to *2.0*", "source_id": "notices"},
            NOW + timedelta(hours=2),
            source_id="notices",
            change_id=change_id,
        )
    deliver(runtime, sink, timedelta(hours=2))
    posts = fake_slack.posts()
    assert len(posts) == 3
    assert all("thread_ts" not in p for p in posts)
    assert fake_slack.updates() == []


def test_a_parent_not_delivered_yet_is_no_parent(
    runtime: Runtime, server: FixtureServer, fake_slack: FakeSlack
) -> None:
    """Two changes queued together; the first fails for now: the second posts top-level, the first follows."""
    sink = slack_sink(runtime, fake_slack)
    edit(runtime, server, "v1", timedelta(hours=1))
    edit(runtime, server, "v2", timedelta(hours=1, minutes=30))
    fake_slack.fail_next("chat.postMessage", server_error(503))
    report = deliver(runtime, sink, timedelta(hours=2))
    assert (report.sent, report.retried) == (1, 1)
    assert "thread_ts" not in fake_slack.posts()[0] and "v2" in text_of(fake_slack.posts()[0])
    deliver(runtime, sink, timedelta(hours=2, minutes=1))
    assert len(fake_slack.posts()) == 2  # nothing lost, nothing doubled
    assert {r["status"] for r in outbox.list_alerts(runtime.db)} == {"sent"}


def test_a_deleted_parent_is_logged_once_and_the_reply_still_counts(
    runtime: Runtime, server: FixtureServer, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    sink = slack_sink(runtime, fake_slack)
    edit(runtime, server, "v1", timedelta(hours=1))
    deliver(runtime, sink, timedelta(hours=1))
    edit(runtime, server, "v2", timedelta(hours=2))
    fake_slack.fail_next("chat.update", slack_error("message_not_found"))
    with caplog.at_level(logging.INFO, logger="whisperer.delivery"):
        report = deliver(runtime, sink, timedelta(hours=2))
    assert report.sent == 1 and len(fake_slack.posts()) == 2
    assert [c.outcome for c in fake_slack.calls_to("chat.update")] == ["error:message_not_found"]
    assert sum("could not update alert" in r.getMessage() for r in caplog.records) == 1
    deliver(runtime, sink, timedelta(hours=2, minutes=5))
    assert len(fake_slack.calls_to("chat.update")) == 1  # not retried


def test_thread_hours_zero_never_threads(tmp_path: Path, server: FixtureServer, fake_slack: FakeSlack) -> None:
    rt = make_runtime(tmp_path, server, extra="thread_hours = 0")
    try:
        sink = slack_sink(rt, fake_slack)
        for hour, text in ((1, "v1"), (2, "v2")):
            edit(rt, server, text, timedelta(hours=hour))
            deliver(rt, sink, timedelta(hours=hour))
        assert len(fake_slack.posts()) == 2 and all("thread_ts" not in p for p in fake_slack.posts())
    finally:
        rt.close()


def test_subscriber_dms_are_never_threaded(tmp_path: Path, server: FixtureServer, fake_slack: FakeSlack) -> None:
    # Only urgent changes are DMed to subscribers: a rule makes these urgent.
    runtime = make_runtime(tmp_path, server, extra="[[importance]]\nwhen = 'v'\nlevel = 'urgent'\n")
    with transaction(runtime.db):
        people.subscribe(runtime.db, "U0DEWI", "announcement", NOW)
    sink = slack_sink(runtime, fake_slack)
    for hour, text in ((1, "v1"), (2, "v2")):
        edit(runtime, server, text, timedelta(hours=hour))
        deliver(runtime, sink, timedelta(hours=hour))
        deliver(runtime, sink, timedelta(hours=hour, seconds=1))  # the DMs fanned out by the first run
    dms = fake_slack.posts("DU0DEWI")
    assert len(dms) == 2 and all("thread_ts" not in p for p in dms)
    assert "thread_ts" in fake_slack.posts(CHANNEL)[-1]
    runtime.close()


def test_the_terminal_shows_threads_too(runtime: Runtime, server: FixtureServer) -> None:
    lines: list[str] = []
    edit(runtime, server, "v1", timedelta(hours=1))
    print_alerts(runtime, NOW + timedelta(hours=1), lines.append)
    edit(runtime, server, "v2", timedelta(hours=2))
    print_alerts(runtime, NOW + timedelta(hours=2), lines.append)
    first = outbox.list_alerts(runtime.db, status="sent")[-1]["id"]
    assert f"[alert → {CHANNEL}, in the thread of alert #{first}]" in "\n".join(lines)
    assert f"[alert #{first} updated: 🧵 1 more in thread]" in "\n".join(lines)
