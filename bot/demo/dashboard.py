"""The demo's Slack-native scenes: a follow-up change in its thread, the weekly digest, the App Home tab."""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta

from bot.cli.terminal import print_alerts
from bot.demo.portal import Portal
from bot.demo.team import Narrator
from bot.process.digest import build_digest
from bot.process.runtime import Runtime, make_context, poll
from bot.slack.render import to_text
from handlers.overview.home import home


def follow_up_thread(n: Narrator, portal: Portal, runtime: Runtime, now: datetime) -> datetime:
    """A second notice two hours later: it goes in the thread of the feed's first alert."""
    later = now + timedelta(hours=2)
    with portal.lock:
        portal.state.announcements.insert(
            0,
            {
                "id": "notice-2026-035",
                "title": "Correction: the v3.3.0 growth threshold applies from Q1 2027 billing",
                "date": "Thu, 26 Nov 2026 04:00:00 GMT",
                "text": "The 25% YoY threshold is measured on Q1 2027 bills onwards.",
            },
        )
    n.say(
        f"Within [bot] thread_hours ({runtime.config.bot.thread_hours:g}) of its first alert, a change to the same "
        "source goes in that alert's thread, and the first alert is updated to say how many followed. Tier "
        "renames and policy versions always post top-level."
    )
    for outcome in poll(runtime, later, ["announcements"]):
        for change_id, summary in zip(outcome.change_ids, outcome.summaries, strict=True):
            n.out(f"  ✓ {outcome.source_id}: {summary}  (#{change_id})")
    print_alerts(runtime, later, n.out)
    return later


def weekly_digest(n: Narrator, runtime: Runtime, now: datetime) -> None:
    digest = runtime.config.digest
    n.say(
        f"Every {digest.day_name.capitalize()} at {digest.at:%H:%M} the channel gets one message with the week. "
        "`/whisperer digest` shows it on demand; `whisperer digest --dry-run` prints it:"
    )
    n.out("\n$ whisperer digest --dry-run")
    n.out(textwrap.indent(to_text(build_digest(runtime, now)), "  "))


def home_tab(n: Narrator, runtime: Runtime, now: datetime, user: str = "U0DEWI") -> None:
    n.say(f"What {user} sees on the bot's Home tab in Slack (published when they open it), as text:")
    n.out(textwrap.indent(to_text(home(make_context(runtime, now, user_id=user))), "  "))
