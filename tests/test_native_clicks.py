"""Buttons on change alerts, signed like Slack signs them, against the real HTTP endpoint and the fake Slack."""

from __future__ import annotations

import itertools
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from botserver import ADMIN, CHANNEL, USER, BotServer, text_of
from fakeslack import FakeSlack, slack_error

from bot.delivery.outbox import deliver_alerts
from bot.delivery.sinks import SlackSink
from bot.slack.limits import check_message, check_view
from bot.slack.render import to_text
from handlers.alerting.compose import compose_alert
from storage.db import transaction
from storage.outbox import alerts as outbox
from storage.outbox import ownership
from storage.team import people
from storage.watching import changes as store

OTHER = "U0OTHER"
SOURCES = """
[[sources]]
id = "cross-cloud-policy"
name = "Cross-cloud policy"
kind = "html"
url = "http://127.0.0.1:9/policy.html"
topic = "policy"
every = "1h"
"""
_triggers = itertools.count(1)


def interactive(bot: BotServer, payload: dict[str, Any]) -> httpx.Response:
    """A signed interactive request, form-encoded as `payload=<json>` the way Slack sends it."""
    return bot.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")


def click(
    bot: BotServer,
    element: dict[str, Any],
    user: str = USER,
    *,
    message: dict[str, Any] | None = None,
    view: dict[str, Any] | None = None,
) -> str:
    """Click a button (or pick a date) on a posted message or in a modal; returns the trigger id."""
    trigger = f"click-{next(_triggers)}"
    action = {
        "action_id": element["action_id"],
        "block_id": "b1",
        "type": element["type"],
        "action_ts": "1764100001.000100",
        **({"value": element["value"]} if "value" in element else {}),
        **({"selected_date": element["selected_date"]} if "selected_date" in element else {}),
    }
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": "T0ACME"},
        "api_app_id": "A0WHISPER",
        "token": "legacy-verification-token",
        "trigger_id": trigger,
        "team": {"id": "T0ACME", "domain": "acme"},
        "actions": [action],
    }
    if message is not None:
        payload |= {
            "container": {
                "type": "message",
                "message_ts": message["ts"],
                "channel_id": message["channel"],
                "is_ephemeral": False,
            },
            "channel": {"id": message["channel"], "name": "alerts"},
            "message": {"type": "message", "ts": message["ts"], "text": message["text"], "blocks": message["blocks"]},
            "response_url": bot.fake.response_url(trigger),
        }
    else:
        assert view is not None
        payload |= {"container": {"type": "view", "view_id": view["id"]}, "view": view}
    response = interactive(bot, payload)
    assert response.status_code == 200, response.text
    return trigger


def buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The message's interactive elements by intent ("ack", "diff", …)."""
    blocks = message["blocks"] if isinstance(message["blocks"], list) else json.loads(message["blocks"])
    return {
        element["action_id"].split("|")[0]: element
        for block in blocks
        if block["type"] == "actions"
        for element in block["elements"]
    }


def posted_change(bot: BotServer, diff_lines: int = 3) -> tuple[int, dict[str, Any]]:
    """A change of the policy page, delivered to the alerts channel; (change id, the message as Slack holds it)."""
    now = datetime.now(UTC)
    diff = "\n".join(f"+Clause {i}: partners must file the LOI 72 hours before the RFP" for i in range(diff_lines))
    with transaction(bot.db):
        change_id = store.add_change(
            bot.db, "cross-cloud-policy", now, kind="page", summary="Cross-Cloud Policy v3.3.0", diff=diff,
            old_hash=None, new_hash=None, added=diff_lines,
        )  # fmt: skip
        outbox.enqueue_alert(
            bot.db, f"change:{change_id}", "change", {"change_id": change_id}, now,
            source_id="cross-cloud-policy", change_id=change_id,
        )  # fmt: skip
    deliver_alerts(bot.db, SlackSink(bot.client), now, tz=bot.runtime.config.bot.tz, default_channel=CHANNEL)
    post = bot.fake.posts(CHANNEL)[-1]
    sent = outbox.list_alerts(bot.db, "sent", limit=1)[0]
    blocks = post["blocks"] if isinstance(post["blocks"], list) else json.loads(post["blocks"])
    return change_id, {"channel": CHANNEL, "ts": sent["ts"], "text": post["text"], "blocks": blocks}


def answer(bot: BotServer, trigger: str) -> str:
    return text_of(bot.fake.wait_for(lambda: bot.fake.responses(trigger))[0])


@pytest.fixture
def policy_bot(make_bot: Any) -> BotServer:
    bot: BotServer = make_bot(SOURCES)
    return bot


def test_a_change_alert_carries_its_actions_and_the_terminal_shows_them_as_commands(policy_bot: BotServer) -> None:
    change_id, message = posted_change(policy_bot)
    found = buttons(message)
    assert set(found) == {"diff", "ack", "subscribe", "mute", "ignore"}
    assert found["ignore"]["value"] == f"ignore {change_id}"  # Not important (admins)
    assert found["ack"]["value"] == f"ack {change_id}" and found["ack"]["action_id"] == f"ack|{change_id}"
    assert found["mute"]["value"] == "mute cross-cloud-policy 24h"
    alert = outbox.list_alerts(policy_bot.db, "sent", limit=1)[0]
    message_model = compose_alert(policy_bot.db, alert, UTC)
    assert message_model is not None
    text = to_text(message_model)
    assert f"→ /whisperer ack {change_id}   — I'm on it" in text
    assert "→ /whisperer subscribe policy" in text and f"→ /whisperer diff {change_id}" in text


def test_im_on_it_updates_the_alert_once_and_a_second_taker_is_refused_politely(
    policy_bot: BotServer, fake_slack: FakeSlack
) -> None:
    change_id, message = posted_change(policy_bot)
    first = click(policy_bot, buttons(message)["ack"], USER, message=message)
    assert "You're on change" in answer(policy_bot, first)
    [update] = fake_slack.wait_for(fake_slack.updates)
    assert update["channel"] == CHANNEL and update["ts"] == message["ts"]
    assert f"<@{USER}> is on it" in text_of(update) and "ack" not in buttons(update)  # the button is gone
    again = click(policy_bot, buttons(message)["ack"], USER, message=message)  # a double click
    assert "already on change" in answer(policy_bot, again)
    other = click(policy_bot, buttons(message)["ack"], OTHER, message=message)
    refusal = answer(policy_bot, other)
    assert f"<@{USER}> is already on change #{change_id}" in refusal
    assert fake_slack.responses(other)[0]["response_type"] == "ephemeral"
    assert len(fake_slack.updates()) == 1
    assert ownership.owners_of(policy_bot.db, [change_id]) == {change_id: USER}
    assert f"👤 <@{USER}>" in text_of(policy_bot.ask("changes"))


def test_full_diff_opens_a_modal_and_pages_past_its_limits(policy_bot: BotServer, fake_slack: FakeSlack) -> None:
    change_id, message = posted_change(policy_bot, diff_lines=400)
    click(policy_bot, buttons(message)["diff"], USER, message=message)
    [view] = fake_slack.wait_for(lambda: fake_slack.views("views.open"))
    assert view["title"]["text"] == f"Change #{change_id}" and len(view["blocks"]) <= 100
    first_page = text_of(view)
    assert "Clause 0:" in first_page and "Clause 399:" not in first_page and "Page 1 of 4" in first_page
    opened = fake_slack.calls_to("views.open")[0]
    modal = {**view, "id": "V0MODAL1", "hash": "h1"}
    click(policy_bot, buttons(view)["diff-page"], USER, view=modal)
    [update] = fake_slack.wait_for(lambda: fake_slack.calls_to("views.update"))
    assert update.args["view_id"] == "V0MODAL1" and update.args["hash"] == "h1"
    second = fake_slack.views("views.update")[0]
    assert "Page 2 of 4" in text_of(second) and "Clause 0:" not in text_of(second)
    assert opened.args["trigger_id"].startswith("click-")
    # The same page, typed:
    assert "Page 2 of 4" in text_of(policy_bot.ask(f"diff {change_id} 2"))


def test_mute_is_checked_at_click_time_holds_the_sources_alerts_and_says_so(
    policy_bot: BotServer, fake_slack: FakeSlack
) -> None:
    _change_id, message = posted_change(policy_bot)
    refused = click(policy_bot, buttons(message)["mute"], USER, message=message)
    assert "Only admins can use /whisperer mute" in answer(policy_bot, refused)
    assert ownership.active_mutes(policy_bot.db, datetime.now(UTC)) == {}
    muted = click(policy_bot, buttons(message)["mute"], ADMIN, message=message)
    assert "Muted cross-cloud-policy" in answer(policy_bot, muted)
    [update] = fake_slack.wait_for(fake_slack.updates)
    assert "muted this source until" in text_of(update) and "mute" not in buttons(update)
    twice = click(policy_bot, buttons(message)["mute"], ADMIN, message=message)  # a double click
    assert "already muted" in answer(policy_bot, twice)
    assert len(fake_slack.updates()) == 1
    # A later change of the muted source is recorded, and its alert waits.
    posts_before = len(fake_slack.posts(CHANNEL))
    posted_change_id = _record_change(policy_bot)
    assert len(fake_slack.posts(CHANNEL)) == posts_before
    held = [a for a in outbox.pending_alerts(policy_bot.db) if a["change_id"] == posted_change_id]
    assert len(held) == 1 and held[0]["next_attempt_at"] > (datetime.now(UTC) + timedelta(hours=23)).isoformat()
    assert "unmuted" in text_of(policy_bot.ask("unmute cross-cloud-policy", ADMIN))
    deliver_alerts(policy_bot.db, SlackSink(policy_bot.client), datetime.now(UTC), tz=UTC, default_channel=CHANNEL)
    assert len(fake_slack.posts(CHANNEL)) == posts_before + 1


def _record_change(bot: BotServer) -> int:
    now = datetime.now(UTC)
    with transaction(bot.db):
        change_id = store.add_change(
            bot.db, "cross-cloud-policy", now, kind="page", summary="v3.3.1", diff="+x", old_hash=None,
            new_hash=None,
        )  # fmt: skip
        outbox.enqueue_alert(
            bot.db, f"change:{change_id}", "change", {"change_id": change_id}, now,
            source_id="cross-cloud-policy", change_id=change_id,
        )  # fmt: skip
    deliver_alerts(bot.db, SlackSink(bot.client), now, tz=UTC, default_channel=CHANNEL)
    return change_id


def test_subscribe_from_the_alert_is_idempotent(policy_bot: BotServer) -> None:
    _change_id, message = posted_change(policy_bot)
    for _ in range(2):
        trigger = click(policy_bot, buttons(message)["subscribe"], OTHER, message=message)
        answer(policy_bot, trigger)
    assert people.subscriptions_of(policy_bot.db, OTHER) == ["policy"]


def test_an_action_on_a_change_that_is_gone_answers_politely(policy_bot: BotServer, fake_slack: FakeSlack) -> None:
    _change_id, message = posted_change(policy_bot)
    gone = {"type": "button", "action_id": "ack|999", "value": "ack 999"}
    trigger = click(policy_bot, gone, USER, message=message)
    assert "There is no change #999 any more" in answer(policy_bot, trigger)
    diff = click(policy_bot, {"type": "button", "action_id": "diff|999", "value": "diff 999"}, USER, message=message)
    assert "There is no change #999" in answer(policy_bot, diff)
    assert fake_slack.updates() == [] and fake_slack.calls_to("views.open") == []


def test_a_message_that_cannot_be_updated_is_logged_once_and_not_retried(
    policy_bot: BotServer, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    _change_id, message = posted_change(policy_bot)
    fake_slack.fail_next("chat.update", slack_error("message_not_found"))
    with caplog.at_level(logging.WARNING, logger="whisperer.slack"):
        answer(policy_bot, click(policy_bot, buttons(message)["ack"], USER, message=message))
        fake_slack.wait_for(lambda: fake_slack.calls_to("chat.update"))
        answer(policy_bot, click(policy_bot, buttons(message)["mute"], ADMIN, message=message))
    assert len(fake_slack.calls_to("chat.update")) == 1  # the mute changed the message too, but it is gone
    warnings = [r for r in caplog.records if "could not update message" in r.getMessage()]
    assert len(warnings) == 1 and "message_not_found" in warnings[0].getMessage()


def test_an_unsigned_click_is_refused(policy_bot: BotServer, fake_slack: FakeSlack) -> None:
    body = urlencode({"payload": json.dumps({"type": "block_actions", "user": {"id": ADMIN}, "actions": []})})
    response = policy_bot.http.post(
        policy_bot.url,
        content=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Signature": "v0=forged"},
    )
    assert response.status_code == 401


def test_a_typed_ack_redraws_the_alert_too(policy_bot: BotServer, fake_slack: FakeSlack) -> None:
    change_id, message = posted_change(policy_bot)
    assert "You're on change" in text_of(policy_bot.ask(f"ack {change_id}", OTHER))
    [update] = fake_slack.wait_for(fake_slack.updates)
    assert (update["channel"], update["ts"]) == (message["channel"], message["ts"])
    assert f"<@{OTHER}> is on it" in text_of(update)
    policy_bot.ask(f"ack {change_id}", OTHER)  # nothing changed: nothing redrawn
    assert "Muted" in text_of(policy_bot.ask("mute cross-cloud-policy 6h", ADMIN))
    second = fake_slack.wait_for(lambda: fake_slack.updates()[1:])[0]
    assert "muted this source" in text_of(second) and f"<@{OTHER}> is on it" in text_of(second)
    assert len(fake_slack.updates()) == 2


def test_a_click_on_the_home_tab_answers_by_dm_and_refreshes_home(policy_bot: BotServer, fake_slack: FakeSlack) -> None:
    change_id, _message = posted_change(policy_bot)
    home = {"id": "V0HOME", "type": "home", "hash": "h1", "callback_id": ""}
    click(policy_bot, {"type": "button", "action_id": f"ack|{change_id}", "value": f"ack {change_id}"}, USER, view=home)
    [published] = fake_slack.wait_for(lambda: fake_slack.views("views.publish"))
    assert f"<@{USER}>" in text_of(published) and "ack" not in buttons(published)
    dm = fake_slack.wait_for(lambda: fake_slack.posts(USER))[0]
    assert "You're on change" in text_of(dm)


def test_every_view_and_message_the_clicks_make_fits_slacks_limits(
    policy_bot: BotServer, fake_slack: FakeSlack
) -> None:
    _change_id, message = posted_change(policy_bot, diff_lines=2000)
    click(policy_bot, buttons(message)["diff"], USER, message=message)
    click(policy_bot, buttons(message)["ack"], USER, message=message)
    policy_bot.command("source add", ADMIN)
    policy_bot.command("cert add", USER)
    views = fake_slack.wait_for(lambda: len(fake_slack.views("views.open")) == 3 and fake_slack.views("views.open"))
    fake_slack.wait_for(fake_slack.updates)
    for view in views:
        assert check_view(view) == [], view.get("callback_id")
    for update in fake_slack.updates():
        blocks = update["blocks"] if isinstance(update["blocks"], list) else json.loads(update["blocks"])
        assert check_message({**update, "blocks": blocks}) == []
    assert check_message({"text": message["text"], "blocks": message["blocks"]}) == []
