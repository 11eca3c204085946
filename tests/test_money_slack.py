"""MDF requests, settlements and funds end to end: signed slash commands and clicks against the fake Slack, on an
injected clock; DMs through the reminder sweep (fresh processes) and the outbox."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from botserver import CHANNEL, USER, BotServer, text_of, write_config
from fakeslack import FakeSlack
from knowledge_support import run

from bot.config.loading import load_config
from bot.delivery.outbox import deliver_alerts
from bot.delivery.sinks import SlackSink
from bot.process.runtime import make_context
from bot.slack.render import to_blocks
from handlers.registry import dispatch
from storage.db import open_db
from storage.outbox.alerts import list_alerts
from storage.programme import money as store

T0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # Thursday 09:00 in Jakarta
MONEY = """
[partner]
name = "Acme Cloud"

[[mdf.quota]]
period = "2027"
amount = 20000
currency = "USD"

[[rebates]]
id = "cross-cloud"
name = "Cross-cloud rebate"
period = "monthly"
finance_owner = "U0FIN"
"""
_clicks = itertools.count(1)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def bot(tmp_path: Path, fake_slack: FakeSlack, clock: Clock) -> Any:
    server = BotServer(load_config(write_config(tmp_path, extra=MONEY), env={}), fake_slack, clock=clock)
    yield server
    server.stop()


def said(message: dict[str, Any]) -> str:
    """What a person reads, without Slack's markup (bold, code)."""
    return text_of(message).replace("*", "").replace("`", "")


def elements(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every button of a reply, by its action_id ("mdf-step|1:approve")."""
    blocks = message["blocks"] if isinstance(message["blocks"], list) else json.loads(message["blocks"])
    return {e["action_id"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]}


def click(bot: BotServer, element: dict[str, Any], user: str = USER) -> dict[str, Any]:
    """Click a button on an ephemeral reply, signed as Slack signs it; returns what the bot answered."""
    trigger = f"click-{next(_clicks)}"
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": "T0ACME"},
        "api_app_id": "A0WHISPER",
        "token": "legacy-verification-token",
        "trigger_id": trigger,
        "team": {"id": "T0ACME", "domain": "acme"},
        "container": {"type": "message", "message_ts": "1764100000.000100", "channel_id": "C0GENERAL",
                      "is_ephemeral": True},
        "channel": {"id": "C0GENERAL", "name": "general"},
        "response_url": bot.fake.response_url(trigger),
        "actions": [{"action_id": element["action_id"], "block_id": "b1", "type": "button",
                     "value": element["value"], "action_ts": "1764100001.000100"}],
    }  # fmt: skip
    response = bot.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")
    assert response.status_code == 200, response.text
    return bot.answer(trigger)


def test_an_mdf_request_from_add_to_reimbursed_with_a_rejection_and_a_resubmission(
    bot: BotServer, clock: Clock
) -> None:
    added = bot.ask('mdf add "Jakarta Cloud Summit" 2027-01-20 2027-01-21 5000 USD')
    text = said(added)
    assert "MDF #1 Jakarta Cloud Summit: planned" in text
    assert "Apply for the MDF by Wed 2027-01-06" in text and "10 working days before the start" in text
    buttons = elements(added)
    assert buttons["mdf-step|1:apply"]["value"] == "mdf apply 1"  # the button is the command

    assert "MDF #1 Jakarta Cloud Summit: applied" in said(click(bot, buttons["mdf-step|1:apply"]))
    approved = bot.ask("mdf approve 1")
    assert "Jakarta Cloud Summit: approved" in said(approved)
    assert "Claim the reimbursement by Wed 2027-04-21" in said(approved)  # 90 calendar days after the end
    clock.now = datetime(2027, 1, 22, 3, 0, tzinfo=UTC)
    held = click(bot, elements(approved)["mdf-step|1:held"])
    for item in ("photos", "receipts"):
        click(bot, elements(held)[f"mdf-tick|1:{item}"])
    claimed = bot.ask("mdf claim 1")
    assert "Evidence not ticked yet: invoices, attendees. A claim needs it all." in said(
        claimed
    )  # a warning; the step is kept
    clock.now = datetime(2027, 2, 1, 3, 0, tzinfo=UTC)
    rejected = click(bot, elements(claimed)["mdf-step|1:reject"])
    assert "Resubmit after the rejection by Thu 2027-03-18" in said(rejected)  # 45 days
    clock.now = datetime(2027, 3, 1, 3, 0, tzinfo=UTC)  # 28 days later: within the 45
    resubmitted = click(bot, elements(rejected)["mdf-step|1:resubmit"])
    assert "Jakarta Cloud Summit: resubmitted" in said(resubmitted) and "Late" not in said(resubmitted)
    reimbursed = bot.ask("mdf reimbursed 1 paid in full")
    assert "Mail the invoicing form by Tue 2027-03-16" in said(reimbursed)
    done = click(bot, elements(reimbursed)["mdf-tick|1:invoice_form"])
    assert "Done: reimbursed, and nothing left to do." in said(done)

    history = [(s["state"], s["by"], s["at"][:10]) for s in store.steps(bot.db, 1)]
    assert history == [
        ("planned", USER, "2026-11-26"),
        ("applied", USER, "2026-11-26"),
        ("approved", USER, "2026-11-26"),
        ("held", USER, "2027-01-22"),
        ("claimed", USER, "2027-01-22"),
        ("rejected", USER, "2027-02-01"),
        ("resubmitted", USER, "2027-03-01"),
        ("reimbursed", USER, "2027-03-01"),
    ]
    assert store.steps(bot.db, 1)[-1]["note"] == "paid in full"
    quota = said(bot.ask("mdf quota"))
    assert "reimbursed 5,000 USD" in quota and "remaining 15,000 USD" in quota

    # Parity: the terminal's `whisperer ask` runs the same handler on the same data and draws the same blocks.
    slack = bot.ask("mdf show 1")
    ctx = make_context(bot.runtime, clock.now, user_id=USER)
    assert json.loads(json.dumps(to_blocks(dispatch(ctx, "mdf show 1")))) == slack["blocks"]


def test_a_late_resubmission_is_kept_and_flagged(bot: BotServer, clock: Clock) -> None:
    bot.ask("mdf add Webinar 2026-12-20")
    for verb in ("apply", "reject"):
        bot.ask(f"mdf {verb} 1")
    clock.now = T0 + timedelta(days=50)
    late = said(bot.ask("mdf resubmit 1"))
    assert "Late: resubmit after the rejection was due 2027-01-10" in late
    assert store.get_request(bot.db, 1)["state"] == "resubmitted"


def test_bad_input_is_refused_clearly_and_changes_nothing(bot: BotServer) -> None:
    bot.ask('mdf add "Jakarta Cloud Summit" 2027-01-20 2027-01-21 5000 USD')
    before = (store.list_requests(bot.db), store.steps(bot.db, 1))
    wrong_step = said(bot.ask("mdf claim 1"))
    assert "MDF #1 is planned, so it can't become claimed. Nothing was changed." in wrong_step
    assert "mdf apply 1" in wrong_step  # the way forward
    past = said(bot.ask("mdf add Roadshow 2026-10-01"))
    assert "The start 2026-10-01 is in the past (today is 2026-11-26)" in past
    no_amount = said(bot.ask("mdf add Roadshow 2027-02-01 USD"))
    assert "USD of how much? Give the amount before the currency, e.g. 5000 USD." in no_amount
    assert "Usage: /whisperer mdf add NAME START [END] [AMOUNT CURRENCY]" in no_amount
    backwards = said(bot.ask("mdf add Roadshow 2027-02-05 2027-02-01"))
    assert "The end 2027-02-01 is before the start 2027-02-05" in backwards
    assert "No evidence item 'foto'. Did you mean 'photos'?" in said(bot.ask("mdf tick 1 foto"))
    assert "There is no MDF request #9." in said(bot.ask("mdf approve 9"))
    assert (store.list_requests(bot.db), store.steps(bot.db, 1)) == before


def test_mdf_add_without_arguments_opens_a_form(bot: BotServer) -> None:
    response, _trigger = bot.command("mdf add")
    assert response.status_code == 200
    [view] = bot.fake.wait_for(lambda: bot.fake.views("views.open"))
    assert view["callback_id"] == "form:mdf-add"
    assert [b["block_id"] for b in view["blocks"]] == ["name", "start", "end", "amount", "currency"]


def test_settlements_show_each_stage_and_steps_are_recorded(bot: BotServer, clock: Clock) -> None:
    clock.now = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    text = said(bot.ask("settlements"))
    assert "2026-12 · running · reconciliation opens by Mon 2027-01-11" in text
    assert "2026-11 · reconciliation · confirm by Mon 2026-12-14 (in 7 days) — auto-confirmed then" in text
    assert "2026-10 · auto-confirmed · invoice by" in text
    refused = said(bot.ask("settlement paid 2026-11"))
    assert "record confirm first. Nothing was changed." in refused
    answer = bot.ask("settlements")
    confirmed = click(bot, elements(answer)["settle|cross-cloud:2026-11:confirm"], user="U0FIN")
    assert "2026-11 · confirmed · invoice by Mon 2026-12-14" in said(confirmed)
    assert "Not a" not in said(confirmed)
    bot.ask("settlement invoiced 2026-11")
    assert "2026-11 · invoiced · Huawei pays by Wed 2027-01-06" in said(bot.ask("settlements"))
    assert "'2026-13' is not a monthly period; write it like 2026-10." in said(bot.ask("settlement paid 2026-13"))
    deadlines = said(bot.ask("deadlines 60"))
    assert "Settlement Cross-cloud rebate 2026-11: Huawei pays by" in deadlines


def test_a_fund_shows_progress_and_what_is_missing(bot: BotServer) -> None:
    first = bot.ask("fund innovation")
    assert "Customer references 0 of 3" in said(first)
    click(bot, elements(first)["fund-tick|innovation:references"])
    bot.ask('fund tick innovation references "PT Maju Bersama"')
    bot.ask("fund tick innovation demo")
    text = said(bot.ask("fund innovation"))
    assert "Customer references 2 of 3" in text and "PT Maju Bersama" in text
    assert "Missing: 1 more joint solution validation; 1 more customer references." in text
    assert "Live demo 1 of 1" in text


def outbox_keys(config: Path, prefix: str) -> list[str]:
    db = open_db(config.parent / "whisperer.db")
    try:
        return [str(a["key"]) for a in reversed(list_alerts(db)) if str(a["key"]).startswith(prefix)]
    finally:
        db.conn.close()


def test_owner_dms_fire_once_per_offset_across_restarts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_slack: FakeSlack
) -> None:
    config = write_config(tmp_path, extra=MONEY)
    run(capsys, config, "ask", "mdf add Roadshow 2027-01-20", "--as-of", "2026-11-26", "--user", "U0OWN")
    # Apply by Wed 2027-01-06 (10 working days before, around Christmas and New Year); offsets 5, 2, 0 before it.
    days = ["2026-12-01", "2026-12-28", "2026-12-29", "2026-12-30", "2027-01-04", "2027-01-05", "2027-01-06",
            "2027-01-06", "2027-01-07"]  # fmt: skip
    for day in days:  # each run is a fresh process on the same database file
        run(capsys, config, "reminders", "--as-of", day)
    assert outbox_keys(config, "mdf-reminder") == [
        "mdf-reminder:mdf:1:apply:2027-01-06:5",
        "mdf-reminder:mdf:1:apply:2027-01-06:2",
        "mdf-reminder:mdf:1:apply:2027-01-06:0",
    ]
    db = open_db(config.parent / "whisperer.db")
    try:
        [first] = [a for a in list_alerts(db) if a["key"].endswith(":5")]
        assert first["user_id"] == "U0OWN"
        assert "Apply for the MDF by *Wednesday 2027-01-06*" in first["payload"]["text"]
        assert first["payload"]["actions"][0]["command"] == "mdf apply 1"
    finally:
        db.conn.close()


def test_the_finance_owner_is_reminded_before_auto_confirmation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_slack: FakeSlack
) -> None:
    config = write_config(tmp_path, extra=MONEY)
    # November's statement: opens by Mon 2026-12-07, auto-confirmed Mon 2026-12-14; reminders 3 and 1 working day
    for day in ("2026-12-08", "2026-12-09", "2026-12-10", "2026-12-11", "2026-12-11", "2026-12-14"):
        run(capsys, config, "reminders", "--as-of", day)
    assert outbox_keys(config, "settle-reminder") == [
        "settle-reminder:cross-cloud:2026-11:3",
        "settle-reminder:cross-cloud:2026-11:1",
    ]
    cfg = load_config(config, env={})
    db = open_db(cfg.database)
    try:
        from bot.slack.app import make_web_client

        client = make_web_client(fake_slack.token, fake_slack.api_url)
        for second in (0, 2):  # one post per target per second
            moment = datetime(2026, 12, 14, 3, 0, second, tzinfo=UTC)
            deliver_alerts(db, SlackSink(client), moment, tz=cfg.bot.tz, default_channel=CHANNEL)
    finally:
        db.conn.close()
    posts = [p for p in fake_slack.posts() if "auto-confirmed on" in said(p)]
    assert len(posts) == 2
    assert "Cross-cloud rebate" in said(posts[0]) and "Monday 2026-12-14" in said(posts[0])
    # Confirmed in time: no more reminders for that period.
    run(capsys, config, "ask", "settlement confirm 2026-11", "--as-of", "2026-12-14", "--user", "U0FIN")
    run(capsys, config, "reminders", "--as-of", "2026-12-14")
    assert len(outbox_keys(config, "settle-reminder")) == 2


def test_csv_round_trip_and_mixed_bad_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, extra=MONEY)
    for line in ('mdf add "Jakarta Cloud Summit" 2027-01-20 2027-01-21 5000 USD', "mdf add Webinar 2027-02-10",
                 "mdf apply 1", "mdf approve 1", "mdf held 1", "mdf tick 1 photos", "mdf owner 2 U0BUDI"):  # fmt: skip
        run(capsys, config, "ask", line, "--as-of", "2026-11-26")
    code, exported = run(capsys, config, "mdf", "export")
    assert code == 0
    assert exported.splitlines() == [
        "id,name,start,end,amount,currency,owner,state,evidence",
        "1,Jakarta Cloud Summit,2027-01-20,2027-01-21,5000,USD,,held,photos",
        "2,Webinar,2027-02-10,2027-02-10,,,U0BUDI,planned,",
    ]
    other = tmp_path / "other"
    other.mkdir()
    config2 = write_config(other, extra=MONEY)
    (other / "mdf.csv").write_text(exported, encoding="utf-8")
    code, out = run(capsys, config2, "mdf", "import", str(other / "mdf.csv"))
    assert code == 0 and "2 added, 0 updated." in out
    assert run(capsys, config2, "mdf", "export")[1] == exported  # the round trip

    (other / "bad.csv").write_text(
        "id,name,start,end,amount,currency,state\n"
        "1,Jakarta Cloud Summit,2027-01-20,2027-01-21,6000,USD,claimed\n"
        ",Roadshow,2027-13-01,,,,planned\n"
        ",Booth,2027-03-01,,,USD,planned\n"
        ",Dinner,2027-03-05,,200,IDR,partying\n"
        ",Meetup,2027-04-01,,,,\n",
        encoding="utf-8",
    )
    code, out = run(capsys, config2, "mdf", "import", str(other / "bad.csv"))
    assert code == 1
    assert "1 added, 1 updated." in out
    assert "line 3: start '2027-13-01' is not a date" in out
    assert "line 4: currency USD with no amount" in out
    assert "line 5: state 'partying' is not one of" in out
    lines = run(capsys, config2, "mdf", "export")[1].splitlines()
    assert lines[1] == "1,Jakarta Cloud Summit,2027-01-20,2027-01-21,6000,USD,,claimed,photos"
    assert lines[3] == "3,Meetup,2027-04-01,2027-04-01,,,,planned,"
    assert len(lines) == 4  # the bad rows added nothing


def test_mdf_deadlines_reach_the_calendar_export_home_and_the_digest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, extra=MONEY)
    run(capsys, config, "ask", 'mdf add "Jakarta Cloud Summit" 2027-01-08', "--as-of", "2026-11-26", "--user", "U0BUDI")
    due = "MDF #1 Jakarta Cloud Summit: Apply for the MDF"
    home = run(capsys, config, "ask", "home", "--as-of", "2026-12-01", "--user", "U0BUDI")[1]
    assert f"2026-12-22 (in 21 days) — {due}" in home
    digest = run(capsys, config, "digest", "--dry-run", "--as-of", "2026-12-14")[1]
    assert due in digest and "counted in the Indonesia (ID) calendar" in digest
    code, ics = run(capsys, config, "deadlines", "--ics", "--as-of", "2026-12-01")
    assert code == 0
    assert "SUMMARY:MDF #1 Jakarta Cloud Summit: Apply for the MDF" in ics.replace("\r\n ", "")
    assert "DTSTART;VALUE=DATE:20261222" in ics


def test_the_mdf_form_reads_back_into_the_command_and_names_bad_fields() -> None:
    from datetime import date

    from bot.slack.views import read_form

    def values(**fields: str) -> dict[str, Any]:
        return {k: {"value": {"selected_date" if k in ("start", "end") else "value": v}} for k, v in fields.items()}

    today = date(2026, 11, 26)
    command, errors = read_form("mdf-add", values(name="Jakarta Cloud Summit", start="2027-01-20", amount="5000",
                                                  currency="usd"), "", today)  # fmt: skip
    assert command == "mdf add 'Jakarta Cloud Summit' 2027-01-20 5000 USD" and errors == {}
    _command, errors = read_form("mdf-add", values(name="X", start="2026-01-20", currency="USD"), "", today)
    assert set(errors) == {"start", "amount"}
    assert errors["amount"] == "USD of how much? Give the amount."
