"""The demo's opportunity-ledger scene: a deal submitted two weeks ago whose validation window is about to close."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.demo.team import Narrator
from bot.process.runtime import Runtime


def deal_scene(n: Narrator, runtime: Runtime, now: datetime) -> None:
    """Added and submitted 13 days ago; Huawei has 10 working days to validate it, so it runs out tomorrow."""
    then = now - timedelta(days=13)
    n.say(
        "Two weeks ago sales registered an opportunity with Huawei. Huawei validates a partner-originated "
        "opportunity within 10 working days, or it is rejected by default: counted in Indonesia's and China's "
        "calendars, and for Huawei's side the later of the two dates."
    )
    n.command(runtime, then, "deal add PT Nusantara Logistics 2027-01-20 250k USD")
    n.command(runtime, then, "deal submit 1")
    n.say("Today, nobody has heard back. The ledger puts it at the top:")
    n.command(runtime, now, "deals")
    n.command(runtime, now, "deal check 1 1")
    n.say("The daily sweep below chases it (the deal has no owner in the terminal, so the channel hears).")
