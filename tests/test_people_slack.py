"""People end to end through signed Slack requests and the fake Slack: the leave modal and its confirmation,
the channel message, no reminder for the leaver afterwards; and `whisperer ask` giving the same answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botserver import ADMIN, CHANNEL, USER, BotServer, text_of
from fakeslack import FakeSlack
from test_native_forms import local_today, picked, submit, typed

from bot.delivery.outbox import deliver_alerts
from bot.delivery.sinks import SlackSink
from bot.process.reminders import plan_sweep
from bot.process.runtime import make_context
from bot.slack.render import to_text
from handlers.registry import dispatch
from storage.team import departures


@pytest.fixture
def team_bot(make_bot: Any) -> BotServer:
    """Three architects; Ana's HCIE-Cloud expires in 20 days (her reminder is due), the others' in years."""
    bot: BotServer = make_bot()
    today = local_today(bot)
    for who, cert, expires in (
        (USER, "HCIE-Cloud", today + timedelta(days=20)),
        ("U0BUDI", "HCCDE", today + timedelta(days=900)),
        ("U0CHEN", "HCIE-CSSA", today + timedelta(days=900)),
    ):
        said = text_of(bot.ask(f"cert add {who} {cert} {today - timedelta(days=400)} expires={expires}", ADMIN))
        assert "Added" in said
    return bot


def reminders_for(bot: BotServer, user: str) -> list[str]:
    return [p.key for p in plan_sweep(bot.runtime, datetime.now(UTC)) if p.user_id == user]


def test_leave_modal_confirmation_channel_message_and_no_more_reminders(
    team_bot: BotServer, fake_slack: FakeSlack
) -> None:
    bot = team_bot
    assert any(k.startswith("cert-reminder:1:") for k in reminders_for(bot, USER))
    refused = text_of(bot.ask(f"person leave {USER} {local_today(bot)}", USER))
    assert "Only admins can leave people." in refused
    assert fake_slack.views("views.open") == []

    day = local_today(bot) + timedelta(days=3)
    bot.command(f"person leave {USER} {day}", ADMIN)
    [view] = fake_slack.wait_for(lambda: fake_slack.views("views.open"))
    assert view["callback_id"] == "form:person-leave" and view["submit"]["text"] == "Confirm departure"
    summary = view["blocks"][0]["text"]["text"]
    assert "KPI Certified architects (needs ≥ 3)" in summary and f"flips on {day}" in summary
    person = next(b for b in view["blocks"] if b.get("block_id") == "person")
    date_field = next(b for b in view["blocks"] if b.get("block_id") == "date")
    assert date_field["element"]["initial_date"] == day.isoformat()
    assert departures.open_departures(bot.db) == {}  # nothing recorded before the confirmation

    empty = submit(bot, view, {"person": typed(""), "date": picked(day)}, ADMIN)
    assert empty["response_action"] == "errors" and "Who is leaving?" in empty["errors"]["person"]
    name = person["element"]["initial_value"]
    done = submit(bot, view, {"person": typed(name), "date": picked(day)}, ADMIN)
    assert done["response_action"] == "update"
    shown = "\n".join(str(b.get("text", {}).get("text", "")) for b in done["view"]["blocks"])
    assert f"Recorded: {name} leaves on {day}." in shown and "Reminders to them stop." in shown
    assert list(departures.open_departures(bot.db).values()) == [day]

    deliver_alerts(
        bot.db, SlackSink(bot.client), datetime.now(UTC), tz=bot.runtime.config.bot.tz, default_channel=CHANNEL
    )
    [post] = [p for p in fake_slack.posts(CHANNEL) if "leaving" in text_of(p)]
    message = text_of(post)
    assert "A certified colleague is leaving" in message and f"{day}" in message
    assert "Certified architects" in message and "flips on" in message
    assert reminders_for(bot, USER) == []  # no reminder for the leaver afterwards
    again = submit(bot, view, {"person": typed(name), "date": picked(day)}, ADMIN)  # confirmed twice
    assert again["response_action"] == "update"
    deliver_alerts(
        bot.db, SlackSink(bot.client), datetime.now(UTC), tz=bot.runtime.config.bot.tz, default_channel=CHANNEL
    )
    assert len([p for p in fake_slack.posts(CHANNEL) if "leaving" in text_of(p)]) == 1  # a double submit: one message
    assert "Already recorded" in "\n".join(str(b.get("text", {}).get("text", "")) for b in again["view"]["blocks"])


def _lines(text: str) -> list[str]:
    """What a person reads, line by line, without markup, bullets, underlines or spaces."""
    out = []
    for line in text.splitlines():
        bare = "".join(ch for ch in line if ch not in "*`•= \u00a0")
        if bare:
            out.append(bare)
    return out


def test_whatif_plan_and_coverage_answer_the_same_in_slack_and_the_terminal(team_bot: BotServer) -> None:
    bot = team_bot
    for line in ("whatif leave U0BUDI", "plan", "coverage", "certs matrix", "whatif nonsense", "person history U0BUDI"):
        in_slack = "".join(_lines(text_of(bot.ask(line, ADMIN))))
        in_terminal = to_text(dispatch(make_context(bot.runtime, datetime.now(UTC), user_id=ADMIN), line))
        assert len(_lines(in_terminal)) >= 2
        for read in _lines(in_terminal):
            assert read in in_slack, (line, read)
    said = text_of(bot.ask("plan", ADMIN))
    assert "recertifies HCIE-Cloud" in said and "lapse on" in said


def test_person_leave_alone_opens_the_empty_form_and_binding_is_for_admins(
    team_bot: BotServer, fake_slack: FakeSlack
) -> None:
    bot = team_bot
    bot.command("person leave", ADMIN)
    [view] = fake_slack.wait_for(lambda: fake_slack.views("views.open"))
    assert view["callback_id"] == "form:person-leave"
    assert [b.get("block_id") for b in view["blocks"] if b["type"] == "input"] == ["person", "date"]
    assert "initial_value" not in view["blocks"][0]["element"]
    refused = submit(bot, view, {"person": typed(USER), "date": picked(local_today(bot))}, USER)
    assert refused["response_action"] == "errors" and "Only admins" in refused["errors"]["person"]
    assert departures.open_departures(bot.db) == {}
    assert "Only admins can unbind people." in text_of(bot.ask(f"person unbind {USER}", USER))
    assert "is marked unbound" in text_of(bot.ask(f"person unbind {USER}", ADMIN))
    assert "Would count once bound" in text_of(bot.ask("renewal", USER))
