"""Exactly once, even when killed mid-post: Slack has the post but the bot dies before hearing so. After a
restart the alert is found in the channel by the key in its message metadata, and is not posted again."""

from __future__ import annotations

import signal
from datetime import timedelta
from pathlib import Path

import pytest
from botserver import CHANNEL, write_config
from conftest import NOW, FixtureServer
from fakeslack import SECRET, FakeSlack
from test_slack_process import Bot, alerts, clean_env, setup_change, wait_until

from bot.delivery.outbox import Delivery, Pacer
from bot.delivery.sinks import METADATA_EVENT, SlackSink
from bot.slack.app import make_web_client
from storage.db import open_db, transaction
from storage.outbox import alerts as outbox


@pytest.fixture(autouse=True)
def _in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)


def test_a_bot_killed_after_slack_accepted_the_post_does_not_post_it_again(
    tmp_path: Path, server: FixtureServer, fake_slack: FakeSlack
) -> None:
    config = setup_change(tmp_path, server)
    [alert] = alerts(tmp_path)
    env = clean_env(SLACK_BOT_TOKEN=fake_slack.token, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=fake_slack.api_url)
    args = ["--config", str(config), "run", "--http", "--port", "0"]

    fake_slack.channel_mode(CHANNEL, "accept-hang")  # Slack keeps the post; its answer never arrives …
    first = Bot(args, tmp_path, env)
    try:
        fake_slack.wait_for(lambda: fake_slack.accepted_posts(CHANNEL), 30)
        first.proc.kill()  # … because the bot is SIGKILLed first
        assert first.proc.wait(10) == -signal.SIGKILL
    finally:
        first.close()
    fake_slack.channel_mode(CHANNEL, None)
    [posted] = fake_slack.accepted_posts(CHANNEL)
    assert posted["metadata"] == {"event_type": METADATA_EVENT, "event_payload": {"key": alert["key"]}}
    [unanswered] = alerts(tmp_path)
    assert (unanswered["status"], unanswered["attempts"]) == ("pending", 1)  # counted before it was sent
    assert unanswered["attempt_started_at"] is not None

    second = Bot(args, tmp_path, env)
    try:
        wait_until(lambda: alerts(tmp_path)[0]["status"] == "sent", 30, "the alert marked sent")
        second.line(r"was posted by an attempt whose answer was not recorded", stream="err")
        assert second.stop() == 0
    finally:
        second.close()
    assert len(fake_slack.accepted_posts()) == 1  # posted once, across the kill and the restart
    [looked] = fake_slack.calls_to("conversations.history")
    assert looked.args["channel"] == CHANNEL and str(looked.args["include_all_metadata"]).lower() in ("1", "true")
    [sent] = alerts(tmp_path)
    ts = next(ts for (channel, ts) in fake_slack.messages if channel == CHANNEL)
    assert (sent["ts"], sent["posted_channel"], sent["attempts"]) == (ts, CHANNEL, 2)
    assert sent["attempt_started_at"] is None


def test_an_unanswered_attempt_that_never_reached_slack_is_posted_after_the_look(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    """In process: a row left unanswered (to a #name), and nothing in the channel: one look, then one post.
    The channel's ID comes from conversations.list, as no earlier post named it."""
    write_config(tmp_path)
    db = open_db(tmp_path / "whisperer.db")
    try:
        with transaction(db):
            outbox.enqueue_alert(db, "notice:1", "notice", {"text": "hello"}, NOW, channel="#partner-news")
            db.execute("UPDATE alerts SET attempts = 1, attempt_started_at = ?", [(NOW).isoformat()])
        fake_slack.channels["partner-news"] = "C0PARTNERNEWS"
        sink = SlackSink(make_web_client(fake_slack.token, fake_slack.api_url))
        report = Delivery(sink, pacer=Pacer()).run(db, NOW + timedelta(minutes=1), tz=NOW.tzinfo, default_channel=None)  # type: ignore[arg-type]
        assert report.sent == 1
        [history] = fake_slack.calls_to("conversations.history")
        assert history.args["channel"] == "C0PARTNERNEWS"
        assert len(fake_slack.posts()) == 1
        [row] = outbox.list_alerts(db)
        assert (row["status"], row["attempts"], row["attempt_started_at"]) == ("sent", 2, None)

        # A second row to the same #name: its ID is now known from the first post, no list needed.
        with transaction(db):
            outbox.enqueue_alert(db, "notice:2", "notice", {"text": "again"}, NOW, channel="#partner-news")
            db.execute(
                "UPDATE alerts SET attempts = 1, attempt_started_at = ? WHERE key = 'notice:2'", [NOW.isoformat()]
            )
        Delivery(sink, pacer=Pacer()).run(db, NOW + timedelta(minutes=2), tz=NOW.tzinfo, default_channel=None)  # type: ignore[arg-type]
        assert len(fake_slack.calls_to("conversations.list")) == 1
        assert len(fake_slack.posts()) == 2
    finally:
        db.conn.close()


def test_a_timeout_keeps_the_row_marked_so_the_next_try_looks_first(tmp_path: Path, fake_slack: FakeSlack) -> None:
    """A 500 after Slack may have taken the post: the retry looks in the channel before posting."""
    db = open_db(tmp_path / "whisperer.db")
    try:
        with transaction(db):
            outbox.enqueue_alert(db, "notice:1", "notice", {"text": "hello"}, NOW, channel=CHANNEL)
        fake_slack.channel_mode(CHANNEL, "500")
        sink = SlackSink(make_web_client(fake_slack.token, fake_slack.api_url))
        pacer = Pacer()
        assert Delivery(sink, pacer=pacer).run(db, NOW, tz=NOW.tzinfo, default_channel=None).retried == 1  # type: ignore[arg-type]
        [row] = outbox.list_alerts(db)
        assert (row["attempts"], row["attempt_started_at"]) == (1, NOW.isoformat())
        assert fake_slack.calls_to("conversations.history") == []  # the first try had nothing to look for
        fake_slack.channel_mode(CHANNEL, None)
        later = NOW + timedelta(minutes=5)
        assert Delivery(sink, pacer=pacer).run(db, later, tz=NOW.tzinfo, default_channel=None).sent == 1  # type: ignore[arg-type]
        assert len(fake_slack.calls_to("conversations.history")) == 1
        [row] = outbox.list_alerts(db)
        assert (row["status"], row["attempts"], row["attempt_started_at"]) == ("sent", 2, None)
    finally:
        db.conn.close()
