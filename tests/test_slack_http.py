"""HTTP mode end to end: signed requests to POST /slack/events, answers through the fake's response_url."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

from botserver import ADMIN, BotServer, text_of
from conftest import NOW
from fakeslack import sign, slash_body

from bot.slack.app import DUPLICATE_HEADER
from storage.db import transaction
from storage.team import people
from storage.watching import changes as store
from storage.watching import sources as state


def add_change(bot: BotServer, source_id: str = "csp-tiers", summary: str = "1 line added: 'Certified Plus'") -> int:
    with transaction(bot.db):
        state.sync_sources(
            bot.db,
            [{"id": source_id, "kind": "html", "url": "https://example.com/tiers", "topic": "tiers", "every": 3600}],
            NOW,
        )
        return store.add_change(
            bot.db,
            source_id,
            NOW,
            kind="page",
            summary=summary,
            diff="-Premier\n+Certified Plus",
            old_hash=None,
            new_hash=None,
        )


def test_help_is_acknowledged_at_once_and_answered_privately(bot: BotServer) -> None:
    response, trigger = bot.command("help")
    assert response.status_code == 200
    assert response.text == ""  # the ack carries nothing; the answer comes through response_url
    answer = bot.answer(trigger)
    assert answer["response_type"] == "ephemeral"
    assert "/whisperer changes" in text_of(answer)
    assert any(block["type"] == "header" for block in answer["blocks"])


def test_changes_lists_stored_changes(bot: BotServer) -> None:
    change_id = add_change(bot)
    text = text_of(bot.ask("changes"))
    assert f"#{change_id}" in text
    assert "Certified Plus" in text


def test_share_posts_for_everyone_but_errors_stay_private(bot: BotServer) -> None:
    add_change(bot)
    shared = bot.ask("changes share")
    assert shared["response_type"] == "in_channel"
    assert "Latest changes" in text_of(shared)
    refused = bot.ask("chnages share")
    assert refused["response_type"] == "ephemeral"
    assert "Did you mean `changes`?" in text_of(refused)


def test_bad_arguments_name_the_problem(bot: BotServer) -> None:
    text = text_of(bot.ask("diff banana"))
    assert "'banana' is not a change number" in text
    assert "/whisperer diff 42" in text


def test_forged_signature_is_rejected(bot: BotServer) -> None:
    body = slash_body("help", "U0USER", bot.fake.response_url("forged"), "trigger-forged")
    headers = {**sign(body, secret="not-the-signing-secret"), "Content-Type": "application/x-www-form-urlencoded"}
    response = bot.http.post(bot.url, content=body.encode(), headers=headers)
    assert response.status_code == 401
    old = {**sign(body, timestamp=int(time.time()) - 301), "Content-Type": "application/x-www-form-urlencoded"}
    assert bot.http.post(bot.url, content=body.encode(), headers=old).status_code == 401
    unsigned = bot.http.post(
        bot.url, content=body.encode(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert unsigned.status_code == 401
    # A real request afterwards is answered, and the forged ones never reached a listener.
    bot.ask("help")
    assert bot.fake.responses("forged") == []
    assert bot.db.execute("SELECT COUNT(*) FROM handled_requests WHERE key LIKE '%forged%'").fetchone()[0] == 0


def test_a_retried_command_acts_once(bot: BotServer) -> None:
    url = "https://example.com/notices.xml"
    first, trigger = bot.command(f"source add notices feed {url} policy 1h", user=ADMIN)
    assert first.status_code == 200
    assert DUPLICATE_HEADER not in first.headers
    assert "Now watching" in text_of(bot.answer(trigger))
    retry, _ = bot.command(
        f"source add notices feed {url} policy 1h",
        user=ADMIN,
        trigger=trigger,
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    assert retry.status_code == 200
    assert retry.headers[DUPLICATE_HEADER] == "1"
    bot.ask("sources")  # a later command is answered, and still only one answer went to the first trigger
    assert len(bot.fake.responses(trigger)) == 1
    assert [s["id"] for s in state.stored_specs(bot.db, "slack")] == ["notices"]
    assert bot.effects == [("reload-sources",)]


def test_admin_commands_need_an_admin(bot: BotServer) -> None:
    refused = text_of(bot.ask("source add notices feed https://example.com/n.xml"))
    assert "Only admins can use /whisperer source" in refused
    assert state.get_source(bot.db, "notices") is None
    added = text_of(bot.ask("source add notices feed <https://example.com/n.xml> 2h", user=ADMIN))
    assert "Now watching notices (feed, announcement) every 2h" in added
    row = state.get_source(bot.db, "notices")
    assert row is not None
    assert (row["origin"], row["url"], row["every"]) == ("slack", "https://example.com/n.xml", 7200)
    assert "paused" in text_of(bot.ask("source pause notices", user=ADMIN)).lower()
    assert state.get_source(bot.db, "notices")["paused"] == 1  # type: ignore[index]


def test_subscribe_from_slack(bot: BotServer) -> None:
    assert "Subscribed" in text_of(bot.ask("subscribe policy", user="U0ALICE"))
    assert people.subscriptions_of(bot.db, "U0ALICE") == ["policy"]
    assert "Unsubscribed" in text_of(bot.ask("unsubscribe policy", user="U0ALICE"))
    assert people.subscriptions_of(bot.db, "U0ALICE") == []


def test_a_database_deleted_under_the_bot_is_said_and_no_new_history_starts(bot: BotServer) -> None:
    assert "Subscribed" in text_of(bot.ask("subscribe policy", user="U0ALICE"))
    database = bot.runtime.config.database
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    answer = text_of(bot.ask("subscribe tiers", user="U0ALICE"))  # a write that would vanish with the file
    assert "the database file was deleted while the bot was running" in answer
    assert "restore the file from a backup" in answer
    assert not database.exists()


def test_home_tab_shows_changes_and_sources_once_per_event(bot: BotServer) -> None:
    add_change(bot)
    event = {"type": "app_home_opened", "user": "U0ALICE", "channel": "D0HOME", "tab": "home"}
    assert bot.event(event, "Ev0001").status_code == 200
    published = bot.fake.wait_for(lambda: bot.fake.calls_to("views.publish"))
    assert published[0].args["user_id"] == "U0ALICE"
    view = published[0].args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["type"] == "home"
    home_text = text_of(view)
    assert "Latest changes" in home_text and "Certified Plus" in home_text
    assert "csp-tiers" in home_text  # the sources section
    retry = bot.event(event, "Ev0001", headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"})
    assert retry.headers[DUPLICATE_HEADER] == "1"
    bot.event({**event, "tab": "messages"}, "Ev0002")  # the Messages tab publishes nothing
    bot.event(event, "Ev0003")
    bot.fake.wait_for(lambda: len(bot.fake.calls_to("views.publish")) == 2)
    assert len(bot.fake.calls_to("views.publish")) == 2


def test_url_verification_is_answered(bot: BotServer) -> None:
    body = json.dumps(
        {"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}
    )
    response = bot.post(body, "application/json")
    assert response.status_code == 200
    assert "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in response.text


def test_answers_are_fast(bot: BotServer) -> None:
    """Not a benchmark: a generous bound that only a blocking listener (no early ack) would break."""
    add_change(bot)
    started = time.monotonic()
    response, trigger = bot.command("changes")
    acked = time.monotonic() - started
    bot.answer(trigger)
    assert response.status_code == 200
    assert timedelta(seconds=acked) < timedelta(seconds=2.5)
