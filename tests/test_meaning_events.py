"""One event, one post; and Not important teaching a rule. End to end: the sample portal, our bot in HTTP mode,
the fake Slack, clicks signed the way Slack signs them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botserver import ADMIN, CHANNEL, USER, BotServer, text_of, write_config
from conftest import FixtureServer, Response
from fakeslack import FakeSlack
from test_native_clicks import answer, buttons, click

from bot.config.loading import load_config
from bot.delivery.outbox import Pacer, deliver_alerts
from bot.delivery.sinks import SlackSink
from bot.delivery.threads import ThreadedSink
from bot.demo.loggedin import write_cookies
from bot.demo.portal import Portal
from bot.process.runtime import poll
from storage.outbox import alerts as outbox
from storage.watching import changes as store

START = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
PARTNER = '[partner]\nname = "Acme Cloud"\ntier = "Premier"\n'
PORTAL_SOURCES = """
[[sources]]
id = "csp-tiers"
kind = "html"
url = "{url}/partner/tiers.html"
selector = "table.tiers, p.meta"
tiers_selector = "table.tiers"
topic = "tiers"

[[sources]]
id = "partner-status"
kind = "json"
url = "{url}/partner/api/status.json"
select = "$.data"
cookies = "cookies.txt"
topic = "rebate"

[[sources.metrics]]
name = "emi"
pattern = 'data\\.emi\\.score: ([0-9.]+)'
zones = {{ red = 60, yellow = 70 }}
"""
DASHBOARD = """
[[sources]]
id = "partner-dashboard"
kind = "browser"
url = "{url}/partner/dashboard.html"
wait_for = "#emi"
selector = "#app"
cookies = "cookies.txt"
topic = "rebate"
"""


def start_bot(tmp_path: Path, fake_slack: FakeSlack, sources: str, extra: str = "") -> BotServer:
    config = load_config(write_config(tmp_path, sources, extra=PARTNER + extra), env={})
    return BotServer(config, fake_slack)


def deliver_all(bot: BotServer, now: datetime) -> None:
    """Delivery runs until the outbox is empty, as the scheduler's ticks would (pace: none, for the test)."""
    sink = ThreadedSink(SlackSink(bot.client), bot.runtime.config.bot.thread_hours, bot.runtime.config.bot.tz)
    for tick in range(20):
        deliver_alerts(
            bot.db, sink, now + timedelta(seconds=tick), tz=UTC, default_channel=CHANNEL, pacer=Pacer(timedelta(0))
        )
        if not outbox.pending_alerts(bot.db):
            return


def emi_event(tmp_path: Path, fake_slack: FakeSlack, portal: Portal, sources: str) -> BotServer:
    write_cookies(tmp_path / "cookies.txt", "127.0.0.1", portal.area.session, START)
    bot = start_bot(tmp_path, fake_slack, sources.format(url=portal.url))
    poll(bot.runtime, START)  # first snapshots
    with portal.lock:
        portal.state.tiers[portal.state.tiers.index("Premier")] = "Certified Plus"
        portal.area.tier, portal.area.emi = "Certified Plus", 68.1
    poll(bot.runtime, START + timedelta(hours=1))
    deliver_all(bot, START + timedelta(hours=1))
    return bot


def check_one_post(fake_slack: FakeSlack, expected_members: int) -> str:
    posts = fake_slack.posts(CHANNEL)
    top = [p for p in posts if not p.get("thread_ts")]
    assert len(top) == 1, [text_of(p)[:80] for p in top]
    replies = [p for p in posts if p.get("thread_ts")]
    assert len(replies) == expected_members
    head_update = fake_slack.updates()[-1]
    assert {p["thread_ts"] for p in replies} == {head_update["ts"]}
    return text_of(head_update)


def test_an_emi_move_seen_by_the_json_and_the_metric_with_a_tier_rename_is_one_post(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    with Portal() as portal:
        bot = emi_event(tmp_path, fake_slack, portal, PORTAL_SOURCES)
        try:
            head = check_one_post(fake_slack, expected_members=2)  # the JSON change and the metric zone
            assert "One event: Premier → Certified Plus · 73.8 → 68.1" in head
            assert "csp-tiers, partner-status, metric emi" in head
            assert "*urgent*: renames your tier (Premier → Certified Plus)" in head
            assert "renames the tier you hold" not in head  # the impact's reason for the same thing, not said twice
            # Nothing recorded is dropped: each change keeps its id, its alert and its buttons.
            changes = store.list_changes(bot.db)
            assert {c["source_id"] for c in changes} >= {"csp-tiers", "partner-status"}
            for reply in fake_slack.posts(CHANNEL)[1:]:
                if "changed (rebate)" in text_of(reply):
                    assert "diff" in buttons(reply) and "*urgent*: moves emi into the yellow zone" in text_of(reply)
        finally:
            bot.stop()


@pytest.mark.browser
def test_the_dashboard_joins_the_same_event(tmp_path: Path, fake_slack: FakeSlack) -> None:
    with Portal() as portal:
        bot = emi_event(tmp_path, fake_slack, portal, PORTAL_SOURCES + DASHBOARD)
        try:
            head = check_one_post(fake_slack, expected_members=3)
            assert "csp-tiers, partner-status, metric emi, partner-dashboard" in head
        finally:
            bot.stop()


def test_unrelated_changes_in_the_same_poll_stay_apart(tmp_path: Path, fake_slack: FakeSlack) -> None:
    with Portal() as portal:
        write_cookies(tmp_path / "cookies.txt", "127.0.0.1", portal.area.session, START)
        bot = start_bot(tmp_path, fake_slack, PORTAL_SOURCES.format(url=portal.url))
        try:
            poll(bot.runtime, START)
            with portal.lock:
                portal.state.tiers.append("Elite")  # a new tier, and an EMI move: two events
                portal.area.emi = 75.2
            poll(bot.runtime, START + timedelta(hours=1))
            deliver_all(bot, START + timedelta(hours=1))
            top = [p for p in fake_slack.posts(CHANNEL) if not p.get("thread_ts")]
            assert len(top) == 2
        finally:
            bot.stop()


NOTICE = "<html><body><main><h1>Partner news</h1><p>Webinars this month: {n}</p><p>{extra}</p></main></body></html>"
NEWS = """
[[sources]]
id = "news"
kind = "html"
url = "{url}/news.html"
selector = "main"
topic = "announcement"
"""


def message_of(bot: BotServer, post: dict[str, Any]) -> dict[str, Any]:
    sent = next(a for a in outbox.list_alerts(bot.db, "sent") if a["ts"] and a["kind"] == "change")
    blocks = post["blocks"] if isinstance(post["blocks"], list) else json.loads(post["blocks"])
    return {"channel": CHANNEL, "ts": sent["ts"], "text": post["text"], "blocks": blocks}


def test_not_important_proposes_a_rule_that_then_keeps_such_changes_out_of_the_channel(
    tmp_path: Path, server: FixtureServer, fake_slack: FakeSlack
) -> None:
    def page(n: int, extra: str = "Welcome") -> None:
        server.routes["/news.html"] = Response(200, NOTICE.format(n=n, extra=extra).encode(), {})

    page(12)
    bot = start_bot(tmp_path, fake_slack, NEWS.format(url=server.url("")))
    try:
        assert "Subscribed" in text_of(bot.ask("subscribe announcement", USER))
        now = datetime.now(UTC)
        poll(bot.runtime, now)
        page(13)
        [first] = [c for o in poll(bot.runtime, now + timedelta(minutes=1)) for c in o.change_ids]
        deliver_all(bot, now + timedelta(minutes=1))
        [post] = fake_slack.posts(CHANNEL)
        assert "*normal*: a change on a watched page" in text_of(post)
        assert fake_slack.posts(f"D{USER}") == []  # normal: the channel only, no DM to subscribers
        message = message_of(bot, post)
        assert buttons(message)["ignore"]["value"] == f"ignore {first}"

        refused = click(bot, buttons(message)["ignore"], USER, message=message)
        assert "Only admins can teach or remove importance rules" in answer(bot, refused)
        proposed = click(bot, buttons(message)["ignore"], ADMIN, message=message)
        proposal = bot.fake.wait_for(lambda: bot.fake.responses(proposed))[0]
        said = text_of(proposal)
        assert "Webinars this month" in said and "would have matched 1 past change" in said and f"#{first}" in said
        assert bot.db.execute("SELECT COUNT(*) FROM importance_rules").fetchone()[0] == 0  # nothing stored yet

        confirm = buttons({"blocks": proposal["blocks"]})["ignore-confirm"]
        confirmed = click(bot, confirm, ADMIN, message={**message, "blocks": proposal["blocks"]})
        assert "Stored rule #1" in answer(bot, confirmed)
        assert "*#1* *news* → low" in text_of(bot.ask("ignore list"))
        assert "Importance rules" in text_of(bot.ask("sources"))

        # The next such change is low: recorded, listed, never posted to the channel.
        page(14)
        [second] = [c for o in poll(bot.runtime, now + timedelta(minutes=2)) for c in o.change_ids]
        deliver_all(bot, now + timedelta(minutes=2))
        assert len(fake_slack.posts(CHANNEL)) == 1
        assert store.get_change(bot.db, second)["level"] == "low"  # type: ignore[index]
        assert f"#{second}" in text_of(bot.ask("changes"))
        [kept] = [a for a in outbox.list_alerts(bot.db) if a["change_id"] == second]
        assert kept["status"] == "low" and "ignore rule #1" in kept["last_error"]

        # A change the rule does not describe still posts; removing the rule restores the usual level.
        page(15, extra="New rebate: 5%")
        poll(bot.runtime, now + timedelta(minutes=3))
        deliver_all(bot, now + timedelta(minutes=3))
        assert len(fake_slack.posts(CHANNEL)) == 2
        assert "Removed rule #1" in text_of(bot.ask("ignore remove 1", ADMIN))
        assert "No taught rules" in text_of(bot.ask("ignore list"))
        page(16, extra="New rebate: 5%")
        poll(bot.runtime, now + timedelta(minutes=4))
        deliver_all(bot, now + timedelta(minutes=4))
        assert len(fake_slack.posts(CHANNEL)) == 3
    finally:
        bot.stop()


def test_ignore_answers_bad_input_clearly(tmp_path: Path, fake_slack: FakeSlack) -> None:
    bot = start_bot(tmp_path, fake_slack, "")
    try:
        assert "There is no change #99" in text_of(bot.ask("ignore 99", ADMIN))
        assert "takes one change number" in text_of(bot.ask("ignore confirm x", ADMIN))
        assert "There is no rule #4" in text_of(bot.ask("ignore remove 4", ADMIN))
        assert "Only admins" in text_of(bot.ask("ignore remove 4", USER))
    finally:
        bot.stop()
