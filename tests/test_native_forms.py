"""Certification DM buttons, forms (view_submission), the global shortcut, and clicks over Socket Mode."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from botserver import ADMIN, CHANNEL, USER, BotServer, text_of
from fakeslack import APP_TOKEN, FakeSlack
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from test_native_clicks import OTHER, SOURCES, answer, buttons, click, interactive, posted_change

from bot.delivery.outbox import deliver_alerts
from bot.delivery.sinks import SlackSink
from bot.process.reminders import plan_sweep, run_reminder_sweep
from storage.db import transaction
from storage.outbox import alerts as outbox
from storage.outbox import ownership
from storage.programme import deadlines
from storage.team import certifications as certs
from storage.team import holds
from storage.watching import sources as state

_views = itertools.count(1)


def local_today(bot: BotServer) -> date:
    return datetime.now(UTC).astimezone(bot.runtime.config.bot.tz).date()


def submit(bot: BotServer, view: dict[str, Any], values: dict[str, dict[str, Any]], user: str = USER) -> Any:
    """Send a filled-in modal back, as Slack's view_submission; returns Bolt's JSON answer (or None)."""
    payload = {
        "type": "view_submission",
        "team": {"id": "T0ACME", "domain": "acme"},
        "user": {"id": user, "username": user.lower(), "team_id": "T0ACME"},
        "api_app_id": "A0WHISPER",
        "token": "legacy-verification-token",
        "trigger_id": f"submit-{next(_views)}",
        "view": {
            **view,
            "id": f"V0FORM{next(_views)}",
            "hash": "h1",
            "state": {"values": {block: {"value": state} for block, state in values.items()}},
        },
    }
    response = interactive(bot, payload)
    assert response.status_code == 200, response.text
    return response.json() if response.content else None


def picked(day: date) -> dict[str, Any]:
    return {"type": "datepicker", "selected_date": day.isoformat()}


def typed(text: str) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": text}


def chosen(value: str) -> dict[str, Any]:
    return {"type": "static_select", "selected_option": {"value": value, "text": {"type": "plain_text", "text": value}}}


@pytest.fixture
def cert_bot(make_bot: Any) -> BotServer:
    """A bot whose database knows U0USER's HCIE, expiring in 20 days."""
    bot: BotServer = make_bot(SOURCES)
    expires = local_today(bot) + timedelta(days=20)
    text = text_of(
        bot.ask(f'cert add {USER} "HCIE-Cloud Service Solutions Architect" 2023-01-10 expires={expires}', ADMIN)
    )
    assert "Added #1" in text
    return bot


def reminder_dm(bot: BotServer) -> dict[str, Any]:
    """Run the reminder sweep, deliver its DM through the fake Slack; the DM as Slack holds it."""
    now = datetime.now(UTC)
    planned = run_reminder_sweep(bot.runtime, now)
    assert "cert-reminder" in [p.kind for p in planned]
    at = max(p.deliver_at for p in planned)
    deliver_alerts(bot.db, SlackSink(bot.client), at, tz=bot.runtime.config.bot.tz, default_channel=CHANNEL)
    post = bot.fake.posts(f"D{USER}")[-1]
    blocks = post["blocks"] if isinstance(post["blocks"], list) else json.loads(post["blocks"])
    sent = next(a for a in outbox.list_alerts(bot.db, "sent") if a["kind"] == "cert-reminder")
    return {"channel": f"D{USER}", "ts": sent["ts"], "text": post["text"], "blocks": blocks}


def cert_planned(bot: BotServer, at: datetime) -> list[str]:
    return [
        p.key for p in plan_sweep(bot.runtime, at) if p.key.startswith(("cert-reminder", "cert-exam", "cert-snoozed"))
    ]


def test_booking_the_exam_pauses_reminders_then_asks_how_it_went(cert_bot: BotServer, fake_slack: FakeSlack) -> None:
    dm = reminder_dm(cert_bot)
    assert set(buttons(dm)) == {"cert-booked", "cert-snooze", "cert-renewed"}
    exam = local_today(cert_bot) + timedelta(days=10)
    picker = {**buttons(dm)["cert-booked"], "selected_date": exam.isoformat()}
    trigger = click(cert_bot, picker, USER, message=dm)
    assert f"exam on {exam}" in answer(cert_bot, trigger)
    [update] = fake_slack.wait_for(fake_slack.updates)
    assert update["ts"] == dm["ts"] and buttons(update) == {} and "✓" in text_of(update)  # buttons traded for "done"
    again = click(cert_bot, picker, USER, message=dm)  # a double pick
    assert "Already noted" in answer(cert_bot, again)
    assert len(fake_slack.updates()) == 1
    hold = holds.get_hold(cert_bot.db, 1)
    assert hold is not None and (hold["kind"], hold["until"]) == ("booked", exam.isoformat())
    now = datetime.now(UTC)
    assert cert_planned(cert_bot, now + timedelta(days=5)) == []  # paused until the exam
    assert cert_planned(cert_bot, now + timedelta(days=11)) == [f"cert-exam:1:{exam}"]


def test_remind_me_in_a_week_snoozes(cert_bot: BotServer) -> None:
    dm = reminder_dm(cert_bot)
    trigger = click(cert_bot, buttons(dm)["cert-snooze"], USER, message=dm)
    until = local_today(cert_bot) + timedelta(days=7)
    assert f"again on {until}" in answer(cert_bot, trigger)
    now = datetime.now(UTC)
    assert cert_planned(cert_bot, now + timedelta(days=3)) == []
    assert cert_planned(cert_bot, now + timedelta(days=7, hours=1))  # once more, a week later


def test_ive_renewed_opens_a_form_whose_errors_show_on_the_field(cert_bot: BotServer, fake_slack: FakeSlack) -> None:
    dm = reminder_dm(cert_bot)
    refused = click(cert_bot, buttons(dm)["cert-renewed"], OTHER, message=dm)  # not the holder, not an admin
    assert "Only admins can mark someone else's certification" in answer(cert_bot, refused)
    assert fake_slack.calls_to("views.open") == []
    click(cert_bot, buttons(dm)["cert-renewed"], USER, message=dm)
    [view] = fake_slack.wait_for(lambda: fake_slack.views("views.open"))
    assert view["callback_id"] == "form:cert-renewed" and view["title"]["text"] == "I've renewed"
    past = submit(cert_bot, view, {"expires": picked(local_today(cert_bot) - timedelta(days=1))})
    assert past["response_action"] == "errors" and "expires after today" in past["errors"]["expires"]
    new_expiry = local_today(cert_bot) + timedelta(days=3 * 365)
    done = submit(cert_bot, view, {"expires": picked(new_expiry), "number": typed("HCIE-0042")})
    assert done["response_action"] == "update" and "now expires on" in text_of(done["view"])
    row = certs.get_certification(cert_bot.db, 1)
    assert row is not None and (row["expires"], row["number"]) == (new_expiry.isoformat(), "HCIE-0042")
    [update] = fake_slack.wait_for(fake_slack.updates)
    assert update["ts"] == dm["ts"] and buttons(update) == {}
    again = submit(cert_bot, view, {"expires": picked(new_expiry), "number": typed("HCIE-0042")})  # resubmitted
    assert "already recorded" in text_of(again["view"]) and len(fake_slack.updates()) == 1


def test_a_click_on_a_removed_certification_answers_politely(cert_bot: BotServer, fake_slack: FakeSlack) -> None:
    dm = reminder_dm(cert_bot)
    with transaction(cert_bot.db):
        certs.remove_certification(cert_bot.db, 1)
    for intent in ("cert-snooze", "cert-renewed"):
        trigger = click(cert_bot, buttons(dm)[intent], USER, message=dm)
        assert "There is no certification #1 any more" in answer(cert_bot, trigger)
    assert fake_slack.calls_to("views.open") == [] and fake_slack.updates() == []


def test_deadline_add_without_arguments_opens_a_form_and_validates_on_the_field(
    cert_bot: BotServer, fake_slack: FakeSlack
) -> None:
    response, _trigger = cert_bot.command("deadline add")
    assert response.status_code == 200
    [view] = fake_slack.wait_for(lambda: fake_slack.views("views.open"))
    assert view["callback_id"] == "form:deadline-add" and len(view["title"]["text"]) <= 24
    bad = submit(cert_bot, view, {"date": picked(local_today(cert_bot) - timedelta(days=2)), "text": typed("MDF")})
    assert bad == {"response_action": "errors", "errors": {"date": bad["errors"]["date"]}}
    assert "has passed" in bad["errors"]["date"]
    due = local_today(cert_bot) + timedelta(days=30)
    good = submit(cert_bot, view, {"date": picked(due), "text": typed("Submit the Q1 MDF application")})
    assert good["response_action"] == "update" and "Added #" in text_of(good["view"])
    rows = deadlines.live_deadlines(cert_bot.db)
    assert [r["title"] for r in rows if r["origin"] == "manual"] == ["Submit the Q1 MDF application"]


def test_the_add_a_deadline_shortcut_opens_the_same_form(cert_bot: BotServer, fake_slack: FakeSlack) -> None:
    payload = {
        "type": "shortcut",
        "callback_id": "add_deadline",
        "trigger_id": "shortcut-1",
        "user": {"id": USER, "username": "u0user", "team_id": "T0ACME"},
        "team": {"id": "T0ACME", "domain": "acme"},
        "token": "legacy-verification-token",
        "action_ts": "1764100002.000100",
    }
    assert interactive(cert_bot, payload).status_code == 200
    [view] = fake_slack.wait_for(lambda: fake_slack.views("views.open"))
    assert view["callback_id"] == "form:deadline-add"
    assert fake_slack.calls_to("views.open")[0].args["trigger_id"] == "shortcut-1"


def test_source_add_form_is_for_admins_and_checks_each_field(cert_bot: BotServer, fake_slack: FakeSlack) -> None:
    assert "Only admins" in text_of(cert_bot.ask("source add", USER))
    assert fake_slack.calls_to("views.open") == []
    cert_bot.command("source add", ADMIN)
    [view] = fake_slack.wait_for(lambda: fake_slack.views("views.open"))
    assert view["callback_id"] == "form:source-add"
    values = {
        "id": typed("Bad Id"),
        "kind": chosen("feed"),
        "url": {"type": "url_text_input", "value": "ftp://example.com/x"},
        "topic": chosen("policy"),
        "every": typed("1m"),
    }
    bad = submit(cert_bot, view, values, ADMIN)
    assert bad["response_action"] == "errors" and set(bad["errors"]) == {"id", "url", "every"}
    assert state.get_source(cert_bot.db, "bad-id") is None
    values |= {
        "id": typed("hcpn-notices"),
        "url": {"type": "url_text_input", "value": "https://example.com/n.xml"},
        "every": typed("1h"),
    }
    assert submit(cert_bot, view, values, OTHER)["response_action"] == "errors"  # admins only, at submit too
    good = submit(cert_bot, view, values, ADMIN)
    assert good["response_action"] == "update" and "Now watching" in text_of(good["view"])
    row = state.get_source(cert_bot.db, "hcpn-notices")
    assert row is not None and (row["kind"], row["topic"]) == ("feed", "policy")
    assert ("reload-sources",) in cert_bot.effects


def test_cert_add_form_records_the_certification(cert_bot: BotServer, fake_slack: FakeSlack) -> None:
    cert_bot.command("cert add", OTHER)
    [view] = fake_slack.wait_for(lambda: fake_slack.views("views.open"))
    person = next(b for b in view["blocks"] if b["block_id"] == "person")
    assert person["element"]["initial_user"] == OTHER
    values = {
        "person": {"type": "users_select", "selected_user": OTHER},
        "certification": typed("HCIP-Cloud Service Solutions Architect"),
        "passed": picked(local_today(cert_bot) + timedelta(days=3)),
    }
    assert "future" in submit(cert_bot, view, values, OTHER)["errors"]["passed"]
    values["passed"] = picked(local_today(cert_bot) - timedelta(days=3))
    assert submit(cert_bot, view, values, OTHER)["response_action"] == "update"
    assert [c["name"] for c in certs.list_certifications(cert_bot.db) if c["slack_id"] == OTHER] == [
        "HCIP-Cloud Service Solutions Architect"
    ]


class Socket:
    """Slack's end of the websocket: records the envelope acknowledgements."""

    logger = logging.getLogger("test.socket")

    def __init__(self) -> None:
        self.sent: list[SocketModeResponse] = []

    def send_socket_mode_response(self, response: SocketModeResponse) -> None:
        self.sent.append(response)


@pytest.fixture
def socket_handler(make_bot: Any) -> Iterator[tuple[BotServer, SocketModeHandler]]:
    bot: BotServer = make_bot(SOURCES)
    handler = SocketModeHandler(bot.app, app_token=APP_TOKEN)
    yield bot, handler
    handler.client.close()


def test_a_click_over_socket_mode_updates_the_message_once(
    socket_handler: tuple[BotServer, SocketModeHandler], fake_slack: FakeSlack
) -> None:
    bot, handler = socket_handler
    change_id, message = posted_change(bot)
    socket = Socket()
    for n in (1, 2):  # a double click: two envelopes, two trigger ids
        payload = {
            "type": "block_actions",
            "user": {"id": USER},
            "api_app_id": "A0WHISPER",
            "trigger_id": f"sock-click-{n}",
            "container": {"type": "message", "message_ts": message["ts"], "channel_id": CHANNEL},
            "message": {"ts": message["ts"], "blocks": message["blocks"]},
            "response_url": fake_slack.response_url(f"sock-click-{n}"),
            "actions": [{**buttons(message)["ack"], "block_id": "b1", "action_ts": "1"}],
        }
        handler.handle(socket, SocketModeRequest("interactive", f"env-{n}", payload))  # type: ignore[arg-type]
        fake_slack.wait_for(lambda n=n: fake_slack.responses(f"sock-click-{n}"))
    assert [r.envelope_id for r in socket.sent] == ["env-1", "env-2"]
    assert len(fake_slack.updates()) == 1 and f"<@{USER}> is on it" in text_of(fake_slack.updates()[0])
    assert ownership.owners_of(bot.db, [change_id]) == {change_id: USER}
