"""What an alert means, end to end: the bundled sample portal (a real local HTTP server), the bot in HTTP mode,
the fake Slack. A threshold moves 20 → 25 with a KPI and a rebate following it; a Chinese page changes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botserver import ADMIN, CHANNEL, BotServer, text_of, write_config
from conftest import NOW, FixtureServer, Response
from fakeslack import FakeSlack

from bot.config.loading import load_config
from bot.delivery.outbox import Pacer, deliver_alerts
from bot.delivery.sinks import SlackSink
from bot.demo.portal import Portal
from bot.process.runtime import make_context, open_runtime, poll
from bot.slack.app import make_web_client
from bot.slack.render import to_text
from handlers.registry import dispatch
from storage.watching import facts as kept
from watchers.facts.impact import urgent_reasons

HTML = {"Content-Type": "text/html; charset=utf-8"}
PATTERN = "at least (\\d+)% year on year"
SOURCES = """
[partner]
name = "Acme Cloud"
tier = "Premier"
status_expires = {renewal}

[renewal]
consequence = "Provisional until Q3"

[[renewal.kpis]]
id = "cloud_growth"
label = "Cloud consumption growth (YoY)"
metric = "cloud_growth"
min = 30
unit = "%"
follow = {{ source = "cross-cloud-policy", pattern = '{pattern}' }}

[[rebates]]
id = "cross-cloud"
name = "Cross-cloud growth rebate"
source = "cross-cloud-policy"
min_metrics = {{ cloud_growth = {{ follow = "renewal" }} }}

[[sources]]
id = "cross-cloud-policy"
name = "Cross-cloud policy"
kind = "html"
url = "{url}/partner/policies/cross-cloud.html"
selector = "main"
topic = "policy"
twin = "cross-cloud-policy-cn"

[[sources]]
id = "cross-cloud-policy-cn"
name = "Cross-cloud policy (Chinese)"
kind = "html"
url = "{url}/cn/partner/policies/cross-cloud.html"
selector = "main"
topic = "policy"
twin = "cross-cloud-policy"
"""


@pytest.fixture
def portal() -> Iterator[Portal]:
    with Portal() as running:
        yield running


@pytest.fixture
def bot(tmp_path: Path, fake_slack: FakeSlack, portal: Portal) -> Iterator[BotServer]:
    renewal = (datetime.now(UTC) + timedelta(days=120)).date()
    sources = SOURCES.format(url=portal.url, renewal=renewal, pattern=PATTERN)
    server = BotServer(load_config(write_config(tmp_path, sources), env={}), fake_slack)
    yield server
    server.stop()


def _deliver(bot: BotServer, fake_slack: FakeSlack, now: datetime) -> list[dict[str, Any]]:
    before = len(fake_slack.posts(CHANNEL))
    sink = SlackSink(make_web_client(fake_slack.token, fake_slack.api_url, rate_limit_retries=0))
    deliver_alerts(bot.db, sink, now, tz=bot.runtime.config.bot.tz, default_channel=CHANNEL, pacer=Pacer(timedelta(0)))
    return fake_slack.posts(CHANNEL)[before:]


def _edit(portal: Portal, threshold: int, cn: int | None = None) -> None:
    with portal.lock:
        portal.state.growth_threshold = threshold
        portal.state.cn_threshold = threshold if cn is None else cn


def test_a_followed_threshold_moves_and_the_alert_says_what_it_means(
    bot: BotServer, portal: Portal, fake_slack: FakeSlack
) -> None:
    poll(bot.runtime, datetime.now(UTC))  # first snapshots: the page says 20%, which replaces the configured 30
    assert "needs ≥ 20%" in text_of(bot.ask("renewal"))
    assert "27%" in text_of(bot.ask("metric set cloud_growth 27", user=ADMIN))
    _edit(portal, 25, cn=20)  # the English page moves first; the Chinese twin has not caught up
    with portal.lock:  # page text in a fact's label stays inert in Slack
        portal.state.policy_updated = "&lt;!channel&gt; Q4 2026"  # the page shows "<!channel>"
    poll(bot.runtime, datetime.now(UTC))
    posts = _deliver(bot, fake_slack, datetime.now(UTC))
    english = next(text_of(p) for p in posts if "Cross-cloud policy changed" in text_of(p))
    assert "at least … year on year: 20% → *25%*" in english
    assert "You are at 27%: still met, margin down from 7 to 2 points." in english
    assert "🔴 *urgent*: moves your renewal KPI" in english  # the impact makes the level, and the alert says why
    assert "Its twin Cross-cloud policy (Chinese) has not caught up yet: it does not show 20% → 25%" in english
    assert english.index("20% → *25%*") < english.index("2 lines added")  # facts lead; the line count is detail
    assert "Updated &lt;!channel&gt;: Q2 2024 → *Q4 2026*" in english and "<!channel>" not in english

    renewal = text_of(bot.ask("renewal"))
    assert "27% (needs ≥ 25%) — met" in renewal
    assert "Threshold read from cross-cloud-policy on" in renewal
    assert "('at least 25% year on year'; was 20 before)" in renewal  # where it came from, and its history
    rebate = text_of(bot.ask("rebate"))
    assert "needs ≥ 25%" in rebate and "threshold read from cross-cloud-policy" in rebate  # one number, not two

    change = bot.runtime.db.execute("SELECT id FROM changes WHERE source_id = 'cross-cloud-policy'").fetchone()[0]
    impacts = kept.meaning_of(bot.runtime.db, change)["impacts"]
    assert urgent_reasons(impacts) == ["moves your renewal KPI", "moves a criterion of the Cross-cloud growth rebate"]
    history = kept.threshold_history(bot.runtime.db, "cross-cloud-policy", PATTERN)
    assert [row["value"] for row in history] == [25.0, 20.0]


def test_a_threshold_that_now_misses_puts_the_renewal_at_risk(
    bot: BotServer, portal: Portal, fake_slack: FakeSlack
) -> None:
    poll(bot.runtime, datetime.now(UTC))
    bot.ask("metric set cloud_growth 27", user=ADMIN)
    _edit(portal, 30)
    poll(bot.runtime, datetime.now(UTC))
    posts = [text_of(p) for p in _deliver(bot, fake_slack, datetime.now(UTC))]
    english = next(p for p in posts if "Cross-cloud policy changed" in p)
    renewal = (datetime.now(UTC) + timedelta(days=120)).date()
    assert f"Now missed by 3 points: the renewal on {renewal} is at risk (Provisional until Q3)." in english
    assert "you no longer qualify for the Cross-cloud growth rebate" in english
    chinese = next(p for p in posts if "(Chinese) changed" in p)
    assert "The same change is on its twin Cross-cloud policy" in chinese  # both moved in the same poll
    assert "missed" in text_of(bot.ask("renewal"))


def test_a_chinese_page_change_shows_the_term_gloss(bot: BotServer, portal: Portal, fake_slack: FakeSlack) -> None:
    poll(bot.runtime, datetime.now(UTC))
    _edit(portal, 20, cn=25)
    poll(bot.runtime, datetime.now(UTC))
    posts = [text_of(p) for p in _deliver(bot, fake_slack, datetime.now(UTC))]
    chinese = next(p for p in posts if "(Chinese) changed" in p)
    assert "云消费同比增长不低于: 20% → *25%*" in chinese
    assert "Term gloss, not a translation" in chinese
    assert "同比 year on year" in chinese and "不低于 at least" in chinese
    assert "Its twin Cross-cloud policy has not caught up yet" in chinese
    diff = text_of(bot.ask("diff 1"))
    assert "同比 year on year" in diff and "20% → *25%*" in diff


def test_a_threshold_followed_after_the_page_was_read_comes_from_its_snapshot(
    tmp_path: Path, server: FixtureServer
) -> None:
    page = "<html><body><main><p>Growth must be at least {p}% year on year.</p><p>Claims close on {d}.</p></main>"
    server.routes["/policy.html"] = Response(200, page.format(p=20, d="15 Jan 2027").encode(), HTML)
    plain = f'[[sources]]\nid = "policy"\nkind = "html"\nurl = "{server.url("/policy.html")}"\nselector = "main"\n'
    first = open_runtime(load_config(write_config(tmp_path, plain), env={}), NOW)
    poll(first, NOW)  # snapshotted before anything followed it
    first.close()

    knowledge = (
        '\n[partner]\nstatus_expires = 2027-03-31\n[[renewal.kpis]]\nid = "cloud_growth"\nmetric = "cloud_growth"\n'
        'min = 30\nunit = "%"\nfollow = { source = "policy", pattern = \'at least (\\d+)% year on year\' }\n'
        '[[rebates]]\nid = "growth"\nclaim_closes = 2027-01-15\n'
    )
    rt = open_runtime(load_config(write_config(tmp_path, plain + knowledge), env={}), NOW)
    try:
        ctx = make_context(rt, NOW + timedelta(minutes=1), operator=True)
        assert "(needs ≥ 20%)" in to_text(dispatch(ctx, "renewal"))  # read from the stored snapshot, not 30
        dispatch(ctx, "metric set cloud_growth 27")
        server.routes["/policy.html"] = Response(200, page.format(p=25, d="31 Jan 2027").encode(), HTML)
        (outcome,) = poll(rt, NOW + timedelta(hours=1))
        meaning = kept.meaning_of(rt.db, outcome.change_ids[0])
        assert [i["sentence"] for i in meaning["impacts"]] == [
            "You are at 27%: still met, margin down from 7 to 2 points.",
            "Claims close 16 days later: 2027-01-31.",
        ]
        assert urgent_reasons(meaning["impacts"]) == ["moves your renewal KPI", "moves one of your deadlines"]
        history = kept.threshold_history(rt.db, "policy", "at least (\\d+)% year on year")
        assert [row["value"] for row in history] == [25.0, 20.0]
    finally:
        rt.close()
