"""The demo's money scene: an MDF request around the year-end holidays, counted in two calendars."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from bot.process.money_reminders import mdf_reminders
from bot.process.runtime import Runtime, make_context
from bot.slack.render import to_text
from handlers.alerting.notices import compose_notice
from handlers.registry import dispatch


class Narrator(Protocol):
    out: Callable[[str], None]
    color: bool

    def say(self, text: str) -> None: ...


def ask(n: Narrator, runtime: Runtime, now: datetime, line: str, user: str) -> None:
    n.out(f"\n$ whisperer ask --user {user} '{line}'        (the same answer as /whisperer {line} in Slack)")
    reply = dispatch(make_context(runtime, now, user_id=user), line)
    n.out(textwrap.indent(to_text(reply, color=n.color), "  "))


def money_scene(n: Narrator, runtime: Runtime, now: datetime) -> None:
    n.say(
        "Budi plans a summit for 8 January. MDF must be applied for at least 10 working days before it: "
        "counted in Indonesia's calendar and in China's, his own duty takes the earlier date. Christmas, "
        "New Year and Isra' Mi'raj fall in between, and 2027's dates are not final yet, so the answer says so."
    )
    ask(n, runtime, now, 'mdf add "Jakarta Cloud Summit" 2027-01-08 2027-01-09 5000 USD', "U0BUDI")
    ask(n, runtime, now, "workdays 2027-01-08 -10", "U0BUDI")
    later = datetime(2026, 12, 15, 2, 0, tzinfo=UTC)
    n.out("")
    n.say(
        "On 15 December, five working days before the application is due, the daily sweep DMs him, once "
        "(the next DMs come 2 working days before and on the day). Previewed here without queueing it:"
    )
    for planned in mdf_reminders(runtime, later):
        n.out(f"\n[{planned.to}, {later.astimezone(runtime.config.bot.tz):%Y-%m-%d %H:%M}]")
        n.out(textwrap.indent(to_text(compose_notice(planned.payload), color=n.color), "  "))
