"""The App Home dashboard: published per user on app_home_opened (signed event), within Slack's Home limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from botserver import BotServer, text_of

from bot.process.runtime import make_context
from bot.slack.limits import check_view
from bot.slack.render import to_text
from handlers.overview.home import home
from storage.db import transaction
from storage.programme import deadlines
from storage.team import certifications as certs
from storage.team import people
from storage.watching import changes as store
from storage.watching import sources as state


def seed(bot: BotServer, now: datetime, changes: int = 3) -> None:
    today = now.date()
    with transaction(bot.db):
        state.sync_sources(
            bot.db,
            [
                {"id": "csp-tiers", "kind": "html", "url": "https://example.com/t", "topic": "tiers", "every": 3600},
                {"id": "portal", "kind": "html", "url": "https://example.com/p", "topic": "policy", "every": 3600},
            ],
            now,
            origin="slack",
        )
        state.record_failure(bot.db, "portal", now, "HTTP 503 Service Unavailable")
        for i in range(changes):
            store.add_change(
                bot.db,
                "csp-tiers",
                now - timedelta(hours=i),
                kind="page",
                summary=f"tier change {i}",
                diff="-Premier\n+Certified Plus",
                old_hash=None,
                new_hash=None,
            )
        ana = people.upsert_person(bot.db, "Ana Lima", now, slack_id="U0ANA")
        certs.upsert_certification(
            bot.db,
            ana,
            "HCIE-Cloud",
            now,
            level="HCIE",
            number="HCIE-0042",
            passed=None,
            expires=today + timedelta(days=20),
            expires_given=True,
        )
        budi = people.upsert_person(bot.db, "Budi Santoso", now, slack_id="U0BUDI")
        certs.upsert_certification(
            bot.db,
            budi,
            "HCCDE",
            now,
            level="HCCDE",
            number=None,
            passed=None,
            expires=today + timedelta(days=400),
            expires_given=True,
        )
        deadlines.add_deadline(bot.db, "d1", today + timedelta(days=5), "Submit MDF claims", "manual", now)
        deadlines.add_deadline(bot.db, "d2", today + timedelta(days=45), "Beyond the dashboard", "manual", now)


def mine_of(text: str) -> str:
    """The "Your certifications" section of a dashboard's text."""
    return text.split("Your certifications")[1].split("Latest changes")[0]


def published_view(bot: BotServer, user: str, event_id: str) -> dict[str, Any]:
    event = {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home"}
    assert bot.event(event, event_id).status_code == 200
    calls = bot.fake.wait_for(lambda: [c for c in bot.fake.calls_to("views.publish") if c.args.get("user_id") == user])
    view = calls[-1].args["view"]
    return json.loads(view) if isinstance(view, str) else dict(view)


def test_each_person_sees_their_own_dashboard(bot: BotServer) -> None:
    seed(bot, datetime.now(UTC))
    view = published_view(bot, "U0ANA", "EvHome1")
    assert view["type"] == "home" and check_view(view) == []
    text = text_of(view)
    assert "Renewal" in text and "KPIs met" in text
    assert "Next deadlines" in text and "Submit MDF claims" in text and "Beyond the dashboard" not in text
    mine = mine_of(text)
    assert "HCIE-Cloud" in mine and "HCCDE" not in mine  # Ana's only
    assert "Latest changes" in text and "tier change 0" in text and "nobody on it yet" in text
    assert "Failing sources (1)" in text and "portal" in text and "HTTP 503" in text
    budi = text_of(published_view(bot, "U0BUDI", "EvHome2"))
    assert "HCCDE" in mine_of(budi) and "HCIE-Cloud" not in mine_of(budi)
    stranger = text_of(published_view(bot, "U0NOBODY", "EvHome3"))
    assert "I don't know you yet" in stranger and "/whisperer cert add me" in stranger


def test_a_busy_home_stays_a_dashboard(bot: BotServer) -> None:
    now = datetime.now(UTC)
    seed(bot, now, changes=300)
    with transaction(bot.db):
        for i in range(120):
            deadlines.add_deadline(
                bot.db, f"many:{i}", now.date() + timedelta(days=1 + i % 20), f"Task {i}", "manual", now
            )
    view = published_view(bot, "U0ANA", "EvHome4")
    assert check_view(view) == [] and len(view["blocks"]) < 100
    text = text_of(view)
    assert "tier change 4" in text and "tier change 5" not in text  # the five latest changes
    assert "…and " in text and "more" in text
    buttons = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert {"deadlines", "diff 1", "renewal", "sources", "digest"} <= {e.get("value") for e in buttons}
    # Ana's certification expires in 20 days: the same buttons as its reminder DM, on her Home tab.
    assert {"cert-booked", "cert-snooze", "cert-renewed"} <= {e["action_id"].split("|")[0] for e in buttons}


def test_home_as_text_is_the_same_dashboard(bot: BotServer) -> None:
    now = datetime.now(UTC)
    seed(bot, now)
    as_text = to_text(home(make_context(bot.runtime, now, user_id="U0ANA")))
    assert "🎓 Your certifications" in as_text and "HCIE-Cloud · expires" in as_text
    assert bot.ask("home", user="U0ANA")["blocks"]
