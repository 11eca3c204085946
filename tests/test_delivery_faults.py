"""Slack and disk faults during delivery: channels stay independent, nothing is posted twice, work resumes.

These run the real scheduler on the real clock against the fake Slack; assertions are about counts, order
and the fake's recorded times (a 429's answer vs the next call), never about how long something took.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botserver import ADMIN, CHANNEL, BotServer, text_of, write_config
from fakeslack import FakeSlack
from smalldisk import SmallDisk, small_disk  # noqa: F401  (the fixture)

from bot.config.loading import load_config
from bot.delivery.outbox import Pacer, deliver_alerts
from bot.delivery.sinks import SlackSink
from bot.process.connections import Connections
from bot.process.runtime import Runtime, open_runtime
from bot.process.scheduler import Scheduler
from bot.slack.app import make_web_client
from storage.db import transaction
from storage.outbox import alerts as outbox

HUNG, LIMITED = "C0HUNG", "C0LIMITED"


def queue(db: Any, texts: dict[str | None, list[str]]) -> None:
    """Alerts with these texts, per channel (None: the alerts channel), interleaved the way polls write them."""
    now = datetime.now(UTC)
    with transaction(db):
        for i in range(max(len(v) for v in texts.values())):
            for channel, items in texts.items():
                if i < len(items):
                    outbox.enqueue_alert(db, f"t:{channel}:{i}", "notice", {"text": items[i]}, now, channel=channel)


def delivery_sink(fake: FakeSlack, timeout: int = 60) -> SlackSink:
    """The sink `whisperer run` builds for delivery: no SDK retry on 429 (delivery holds the target itself)."""
    return SlackSink(make_web_client(fake.token, fake.api_url, rate_limit_retries=0, timeout=timeout))


@pytest.fixture
def make_scheduler() -> Iterator[Callable[[Runtime, SlackSink], Scheduler]]:
    made: list[tuple[Scheduler, Connections]] = []

    def make(runtime: Runtime, sink: SlackSink) -> Scheduler:
        connections = Connections(runtime)
        scheduler = Scheduler(connections, sink)
        made.append((scheduler, connections))
        scheduler.start()
        return scheduler

    yield make
    for scheduler, connections in made:
        scheduler.shutdown()
        connections.close()
        connections.base.close()


def texts_to(fake: FakeSlack, channel: str) -> list[str]:
    return [str(p["text"]) for p in fake.posts(channel)]


def test_a_hung_and_a_rate_limited_channel_hold_only_their_own_alerts(
    tmp_path: Path,
    fake_slack: FakeSlack,
    make_scheduler: Callable[[Runtime, SlackSink], Scheduler],
    caplog: pytest.LogCaptureFixture,
) -> None:
    runtime = open_runtime(load_config(write_config(tmp_path), env={}), datetime.now(UTC))  # closed by the fixture
    good = [f"good {i}" for i in range(5)]
    queue(runtime.db, {None: good, HUNG: ["hung 0", "hung 1"], LIMITED: ["limited 0", "limited 1"]})
    fake_slack.channel_mode(HUNG, "hang")
    fake_slack.channel_mode(LIMITED, "429", retry_after=2)
    with caplog.at_level(logging.WARNING):
        scheduler = make_scheduler(runtime, delivery_sink(fake_slack, timeout=30))
        fake_slack.wait_for(lambda: len(fake_slack.posts(CHANNEL)) == len(good), timeout=60)
        fake_slack.wait_for(
            lambda: len(fake_slack.calls_to("chat.postMessage")) and len(calls(fake_slack, LIMITED)) >= 2
        )

    # The good channel drained in order, at its own pace (never faster than ~1/s), while the others were stuck.
    assert texts_to(fake_slack, CHANNEL) == good
    arrivals = [c.at for c in calls(fake_slack, CHANNEL)]
    assert all(later - earlier >= 0.5 for earlier, later in itertools.pairwise(arrivals))  # no bursts
    assert [c.outcome for c in calls(fake_slack, HUNG)] == ["hung"]  # one call in flight; nothing piled up behind it
    limited = calls(fake_slack, LIMITED)
    assert {c.outcome for c in limited} == {"http:429"}
    for answered, following in itertools.pairwise(limited):
        assert answered.answered is not None
        assert following.at - answered.answered >= 2.0, "a call came sooner than Retry-After after the 429"
    assert {c.args["text"] for c in limited} == {"limited 0"}  # its later alert waits behind the first
    assert "maximum number of running instances" not in caplog.text

    fake_slack.channel_mode(LIMITED, None)  # Slack lets go: that channel catches up, once each
    fake_slack.wait_for(lambda: len(fake_slack.posts(LIMITED)) == 2, timeout=30)
    assert texts_to(fake_slack, LIMITED) == ["limited 0", "limited 1"]
    assert scheduler.delivery.fault is None
    fake_slack.channel_mode(HUNG, None)  # the hung call answers (500), so shutting down need not wait for it


def calls(fake: FakeSlack, channel: str) -> list[Any]:
    return [c for c in fake.calls_to("chat.postMessage") if c.args.get("channel") == channel]


@pytest.mark.parametrize("mode", ["500", "reset"])
def test_a_failing_channel_is_retried_once_it_answers_and_posts_once(
    tmp_path: Path, fake_slack: FakeSlack, mode: str
) -> None:
    runtime = open_runtime(load_config(write_config(tmp_path), env={}), datetime.now(UTC))
    try:
        queue(runtime.db, {None: ["to the good channel"], "C0BAD": ["to the bad channel"]})
        fake_slack.channel_mode("C0BAD", mode)
        sink, pacer, now = delivery_sink(fake_slack, timeout=10), Pacer(), datetime.now(UTC)

        def run(after: float) -> Any:
            return deliver_alerts(
                runtime.db, sink, now + timedelta(seconds=after), tz=UTC, default_channel=CHANNEL, pacer=pacer
            )

        report = run(0)
        assert (report.sent, report.retried) == (1, 1)
        assert texts_to(fake_slack, CHANNEL) == ["to the good channel"]
        fake_slack.channel_mode("C0BAD", None)
        assert run(5).sent == 0  # backing off
        assert run(20).sent == 1  # the 10 s backoff counts from the answer (the SDK may reconnect once first)
        assert texts_to(fake_slack, "C0BAD") == ["to the bad channel"]
        assert run(60).sent == 0
    finally:
        runtime.close()


def test_a_full_disk_holds_delivery_posts_nothing_twice_and_resumes(
    fake_slack: FakeSlack,
    small_disk: SmallDisk,  # noqa: F811
    make_scheduler: Callable[[Runtime, SlackSink], Scheduler],
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = load_config(write_config(small_disk.path), env={})
    bot = BotServer(config, fake_slack)  # the Slack endpoint, on the same database
    try:
        alerts = [f"change {i}" for i in range(4)]
        queue(bot.db, {None: alerts[:2], "C0OTHER": alerts[2:]})
        small_disk.fill()
        # the root logger: Bolt resets the level of the "whisperer" logger (its app name) on every request
        with caplog.at_level(logging.INFO):
            scheduler = make_scheduler(bot.runtime, delivery_sink(fake_slack))
            fake_slack.wait_for(lambda: "alert delivery paused" in caplog.text, timeout=30)
            held = len(fake_slack.posts())
            assert held <= 2  # at most the one post per channel that was in flight when the disk filled
            time.sleep(3)  # three delivery ticks on a full disk: nothing more, and nothing again
            assert len(fake_slack.posts()) == held

            # Reading commands still answer, and say nothing about the disk.
            answer = bot.ask("help")
            assert "database" not in text_of(answer).lower()
            # One that needs a write says so plainly (no traceback, no HTTP 500).
            changed = bot.ask("source add extra html https://portal.example/extra", user=ADMIN)
            assert "I can't write to my database right now: the disk is full" in text_of(changed)

            small_disk.free()
            fake_slack.wait_for(lambda: len(fake_slack.posts()) == len(alerts), timeout=30)
            fake_slack.wait_for(lambda: "alert delivery resumes" in caplog.text, timeout=30)
        assert sorted(str(p["text"]) for p in fake_slack.posts()) == sorted(alerts)  # each exactly once
        assert caplog.text.count("alert delivery paused") == 1
        assert "Traceback" not in caplog.text
        assert (
            f"the disk is full (SQLite could not write). Fix: free space on the disk that holds {small_disk.path}"
            in (caplog.text)
        )
        fake_slack.wait_for(lambda: outbox.alert_counts(bot.db).get("sent") == len(alerts), timeout=10)
        assert scheduler.delivery.fault is None
        scheduler.shutdown()
    finally:
        bot.stop()
