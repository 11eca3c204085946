"""The new subcommands as pure handlers: source add|remove|pause|resume, subscribe|unsubscribe, the Home tab."""

from __future__ import annotations

from datetime import UTC

import pytest
from conftest import NOW

from bot.slack.render import to_text
from handlers.alerting.compose import compose_alert
from handlers.overview.home import home
from handlers.registry import Context, dispatch
from handlers.reply import Heading, Reply
from storage.database import Database
from storage.db import transaction
from storage.outbox import alerts as outbox
from storage.outbox import delivery as blocks
from storage.team import people
from storage.watching import changes as store
from storage.watching import sources as state

ADMIN = "U0ADMIN"


def ctx(db: Database, user: str | None = ADMIN, operator: bool = False) -> Context:
    return Context(db=db, now=NOW, tz=UTC, user_id=user, admins=(ADMIN,), operator=operator, partner={"name": "Acme"})


def say(db: Database, text: str, user: str | None = ADMIN, operator: bool = False) -> tuple[Reply, str]:
    reply = dispatch(ctx(db, user, operator), text)
    return reply, to_text(reply)


def config_source(db: Database, source_id: str = "csp-tiers", topic: str = "tiers") -> None:
    with transaction(db):
        state.sync_sources(
            db, [{"id": source_id, "kind": "html", "url": "https://example.com/t", "topic": topic, "every": 3600}], NOW
        )


def test_source_add_stores_a_slack_source(db: Database) -> None:
    reply, text = say(db, "source add hcpn-notices feed <https://example.com/feed.xml?a=1&amp;b=2|feed> policy 2h")
    assert not reply.error
    assert reply.effects == ("reload-sources",)
    assert "Now watching hcpn-notices (feed, policy) every 2h" in text
    [spec] = state.stored_specs(db, "slack")
    assert (spec["id"], spec["kind"], spec["url"], spec["topic"], spec["every"]) == (
        "hcpn-notices",
        "feed",
        "https://example.com/feed.xml?a=1&b=2",
        "policy",
        7200,
    )
    reply, text = say(db, "source add hcpn-notices html https://example.com/other")
    assert reply.error and "already exists" in text
    say(db, "source add second html https://example.com/second")
    assert [s["id"] for s in state.stored_specs(db, "slack")] == ["hcpn-notices", "second"]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("source", "Tell me what to do: add, remove, pause or resume."),
        ("source ad x html https://e.com", "'ad' is not something I can do to a source. Did you mean 'add'?"),
        ("source add x html", "source add needs an id, a kind and a URL."),
        ("source add Bad_ID html https://e.com", "'Bad_ID' is not a usable source id"),
        (
            "source add x htlm https://e.com",
            "'htlm' is not a kind of source; use html, feed, json, pdf, browser. Did you mean",
        ),
        ("source add x file /etc/passwd", "Sources of kind 'file' read the bot's own disk"),
        ("source add x html ftp://e.com/x", "'ftp://e.com/x' is not an http(s) URL"),
        ("source add x html https://e.com polcy", "Did you mean 'policy'?"),
        (
            "source add x html https://e.com 1m tiers",
            "Every 1m is too often for someone else's portal; use 5m or more.",
        ),
        ("source pause", "source pause takes one source id."),
        ("source pause csp-tirs", "There is no source 'csp-tirs'. Did you mean csp-tiers?"),
    ],
)
def test_source_mistakes_are_named(db: Database, line: str, problem: str) -> None:
    config_source(db)
    reply, text = say(db, line)
    assert reply.error
    assert problem in " ".join(text.split())
    assert state.stored_specs(db, "slack") == []


def test_only_admins_change_sources(db: Database) -> None:
    reply, text = say(db, "source add x html https://example.com", user="U0SOMEONE")
    assert reply.error and "Only admins can use /whisperer source" in text
    reply, _ = say(db, "source add x html https://example.com", user=None, operator=True)  # the terminal's operator
    assert not reply.error


def test_pause_resume_and_remove(db: Database) -> None:
    config_source(db)
    say(db, "source add notices feed https://example.com/n.xml")
    reply, text = say(db, "source pause csp-tiers")
    assert reply.effects == ("reload-sources",) and "Paused csp-tiers" in text
    assert state.get_source(db, "csp-tiers")["paused"] == 1  # type: ignore[index]
    assert "already paused" in say(db, "source pause csp-tiers")[1]
    assert "Resumed csp-tiers" in say(db, "source resume csp-tiers")[1]
    assert state.get_source(db, "csp-tiers")["paused"] == 0  # type: ignore[index]
    reply, text = say(db, "source remove csp-tiers")
    assert reply.error and "defined in whisperer.toml" in text and "/whisperer source pause csp-tiers" in text
    reply, text = say(db, "source remove notices")
    assert not reply.error and "Stopped watching notices" in text
    assert state.stored_specs(db, "slack") == []
    assert "There is no source 'notices'" in say(db, "source pause notices")[1]


def test_subscribe_and_unsubscribe(db: Database) -> None:
    user = "U0ALICE"
    reply, text = say(db, "subscribe Policy", user=user)
    assert not reply.error and "you will get a DM when a policy source changes urgently" in text
    assert "already subscribed" in say(db, "subscribe policy", user=user)[1]
    say(db, "subscribe tiers", user=user)
    listing = say(db, "subscribe", user=user)[1]
    assert "policy" in listing and "tiers" in listing
    assert people.subscribers(db, "policy") == [user]
    reply, text = say(db, "subscribe polcy", user=user)
    assert reply.error and "Did you mean 'policy'?" in text
    assert "Unsubscribed from policy" in say(db, "unsubscribe policy", user=user)[1]
    assert "were not subscribed" in say(db, "unsubscribe policy", user=user)[1]
    assert people.subscriptions_of(db, user) == ["tiers"]


def test_subscribe_needs_a_slack_user(db: Database) -> None:
    reply, text = say(db, "subscribe policy", user=None, operator=True)
    assert reply.error and "--user U0123ABC" in text


def test_sources_shows_blocked_alert_targets(db: Database) -> None:
    config_source(db)
    assert "Alerts not delivered" not in say(db, "sources")[1]
    with transaction(db):
        blocks.block_target(db, "C0ALERTS", "not_in_channel", "invite the bot", NOW, NOW)
    text = say(db, "sources")[1]
    assert "Alerts not delivered" in text and "C0ALERTS: not_in_channel since just now — invite the bot" in text


def test_generic_alerts_carry_a_heading_and_subscription_dms_say_why(db: Database) -> None:
    config_source(db, "policy-page", "policy")
    with transaction(db):
        change_id = store.add_change(
            db, "policy-page", NOW, kind="page", summary="v3.3.0", diff="+v3.3.0", old_hash=None, new_hash=None
        )
        outbox.enqueue_alert(db, "n:1", "notice", {"heading": "Portal news", "text": "Read-only on Saturday"}, NOW)
        outbox.enqueue_alert(db, "dm:1", "change", {"change_id": change_id, "subscription": "policy"}, NOW)
    generic, dm = outbox.pending_alerts(db)
    message = compose_alert(db, generic, UTC)
    assert message is not None and message.blocks[0] == Heading("Portal news") and not message.ephemeral
    assert "Read-only on Saturday" in to_text(message)
    dm_message = compose_alert(db, dm, UTC)
    assert dm_message is not None
    assert "You get this DM because you subscribed to policy. Stop with /whisperer unsubscribe policy." in to_text(
        dm_message
    )


def test_home_shows_changes_sources_and_subscriptions(db: Database) -> None:
    config_source(db)
    with transaction(db):
        store.add_change(
            db, "csp-tiers", NOW, kind="page", summary="Premier renamed", diff="", old_hash=None, new_hash=None
        )
        people.subscribe(db, "U0ALICE", "tiers", NOW)
    text = to_text(home(ctx(db, "U0ALICE")))
    assert "Acme" in text and "Premier renamed" in text and "csp-tiers" in text
    assert "Your DM subscriptions: tiers" in text
    assert "/whisperer subscribe policy" in to_text(home(ctx(db, "U0BOB")))
