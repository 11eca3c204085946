"""The opportunity ledger through Slack: signed /whisperer commands and clicks against the real endpoint, DMs
through the fake Slack. The bot reads the real clock, so every date is relative to today."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import holidays
import pytest
from botserver import CHANNEL, USER, BotServer, text_of, write_config
from fakeslack import FakeSlack
from test_native_clicks import answer, click

from bot.config.loading import load_config
from bot.delivery.outbox import deliver_alerts
from bot.delivery.sinks import SlackSink
from bot.process.reminders import plan_sweep, run_reminder_sweep
from bot.process.runtime import make_context, open_runtime
from bot.slack.render import to_text
from handlers.registry import dispatch
from storage.outbox import alerts as outbox

# Both calendars Indonesia's, so the test can count working days itself with python-holidays.
EXTRA = '[calendar]\ncountry = "ID"\nhuawei = "ID"\n'


@pytest.fixture
def bot(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[BotServer]:
    server = BotServer(load_config(write_config(tmp_path, extra=EXTRA), env={}), fake_slack)
    yield server
    server.stop()


def local_today(bot: BotServer) -> date:
    return datetime.now(UTC).astimezone(bot.runtime.config.bot.tz).date()


def working_days_between(start: date, end: date) -> int:
    """Indonesian working days after `start` up to and including `end`, counted independently of the bot."""
    off = holidays.country_holidays("ID", years=range(start.year, end.year + 2))
    return sum(
        1
        for n in range(1, (end - start).days + 1)
        if (day := start + timedelta(days=n)).weekday() < 5 and day not in off
    )


def element(message: dict[str, Any], label: str) -> dict[str, Any]:
    blocks = message["blocks"] if isinstance(message["blocks"], list) else json.loads(message["blocks"])
    for block in blocks:
        for found in block.get("elements", []) if block["type"] == "actions" else []:
            if found.get("text", {}).get("text") == label:
                return dict(found)
    raise AssertionError(f"no button {label!r} in {text_of(message)}")


def test_a_partner_originated_deal_is_chased_two_working_days_before_huawei_runs_out(
    bot: BotServer, fake_slack: FakeSlack
) -> None:
    assert "Added deal #1: PT Nusantara Logistics" in text_of(bot.ask("deal add PT Nusantara Logistics 250k USD"))
    submitted = text_of(bot.ask("deal submit 1"))
    found = re.search(r"Huawei validates by \S* ?\w+day (\d{4}-\d{2}-\d{2})", submitted)
    assert found is not None, submitted
    due = date.fromisoformat(found.group(1))
    today = local_today(bot)
    assert working_days_between(today, due) == 10  # 10 working days, counted by the holiday calendar itself

    start = datetime.now(UTC)
    warned_at = next(
        start + timedelta(days=n)
        for n in range(0, 30)
        if any(p.kind == "deal-reminder" for p in plan_sweep(bot.runtime, start + timedelta(days=n)))
    )
    warned = warned_at.astimezone(bot.runtime.config.bot.tz).date()
    assert working_days_between(warned, due) == 2  # the warning comes two working days before

    planned = [p for p in run_reminder_sweep(bot.runtime, warned_at) if p.kind == "deal-reminder"]
    assert [p.key for p in planned] == [f"deal:1:validation-warning:{due}"]
    deliver_at = max(p.deliver_at for p in planned)
    deliver_alerts(bot.db, SlackSink(bot.client), deliver_at, tz=bot.runtime.config.bot.tz, default_channel=CHANNEL)
    post = fake_slack.posts(f"D{USER}")[-1]  # the owner (who added it) gets the DM
    assert "Huawei has not validated this deal yet" in text_of(post) and "rejected by default" in text_of(post)

    # Once only: a second sweep, and a restarted process on the same database, queue nothing more.
    assert not [p for p in run_reminder_sweep(bot.runtime, warned_at) if p.kind == "deal-reminder"]
    restarted = open_runtime(bot.runtime.config, warned_at)
    try:
        assert not [p for p in run_reminder_sweep(restarted, warned_at) if p.kind == "deal-reminder"]
    finally:
        restarted.close()

    sent = next(a for a in outbox.list_alerts(bot.db, "sent") if a["kind"] == "deal-reminder")
    dm = {"channel": f"D{USER}", "ts": sent["ts"], "text": post["text"], "blocks": post["blocks"]}
    trigger = click(bot, element(dm, "Validated by Huawei"), USER, message=dm)
    assert "submitted → *validated*" in answer(bot, trigger)
    assert "validated since" in text_of(bot.ask("deal show 1"))
    later = warned_at + timedelta(days=1)
    assert not [p for p in plan_sweep(bot.runtime, later) if p.kind == "deal-reminder"]  # nothing left to chase


def test_the_same_customer_twice_states_the_conflict_rule(bot: BotServer) -> None:
    bot.ask("deal add PT Nusantara Logistics")
    bot.ask("deal submit 1")
    twice = text_of(bot.ask("deal add pt nusantara  logistics"))
    assert "Same customer twice" in twice and "#1 (submitted, partner-originated)" in twice
    assert "the first validated wins" in twice and "Partner Customer Engagement" in twice
    offered = text_of(bot.ask("deal offered PT Nusantara Logistics"))
    assert "earlier of the HO's creation and the PO's approval wins" in offered


def test_bad_steps_and_input_are_refused_in_slack_and_nothing_moves(bot: BotServer) -> None:
    bot.ask("deal add Bank Sentosa")
    refused = text_of(bot.ask("deal won 1"))
    assert "draft; it can't become won" in refused and "submit" in refused
    assert "draft since" in text_of(bot.ask("deal show 1"))
    assert "IDR needs an amount" in text_of(bot.ask("deal add PT Samudra IDR"))
    past = local_today(bot) - timedelta(days=3)
    assert "is in the past" in text_of(bot.ask(f"deal add PT Samudra {past}"))
    assert "PT Samudra" not in text_of(bot.ask("deals all"))


def test_whisperer_ask_gives_what_slack_gives(bot: BotServer) -> None:
    bot.ask("deal add PT Nusantara Logistics 120000 USD")
    bot.ask("deal offered Bank Sentosa")
    slack = text_of(bot.ask("deals")).replace("*", "")
    ctx = make_context(bot.runtime, datetime.now(UTC), user_id=USER)
    terminal = to_text(dispatch(ctx, "deals"))
    rows = [line.strip(" •") for line in terminal.splitlines() if line.strip().startswith("•")]
    assert len(rows) == 2
    for row in rows:
        assert row.replace("`", "") in slack.replace("`", "")
