"""The demo's people scene: "If Ana leaves…" — what it breaks, the plan that fixes it, and the departure itself."""

from __future__ import annotations

from datetime import datetime

from bot.cli.terminal import print_alerts
from bot.demo.team import Narrator
from bot.process.runtime import Runtime

LEAVES_ON = "2027-01-15"


def if_ana_leaves(n: Narrator, runtime: Runtime, now: datetime) -> None:
    n.say(
        "Renewal hinges on people. Who holds what, and where one person is all that stands between the partner "
        "and a missed KPI:"
    )
    n.command(runtime, now, "certs matrix")
    n.command(runtime, now, "coverage")
    n.say("Ana mentions she may move on in January. Before anyone panics, ask (read-only, nothing is stored):")
    n.command(runtime, now, f"whatif leave Ana {LEAVES_ON}")
    n.say("And if Dewi, who already holds the HCIP, sits the HCIE by then?")
    n.command(runtime, now, f"whatif leave Ana {LEAVES_ON}, pass Dewi HCIE-Cloud 2027-01-10")
    n.say("It is official. An admin records it; in Slack this opens a modal with the same consequences to confirm.")
    n.command(runtime, now, f"person leave Ana {LEAVES_ON} confirm")
    n.say("The plan now works around Ana: the fewest exams, who sits which, by when, and why.")
    n.command(runtime, now, "plan")
    n.say("The channel hears it once; Ana's own reminders stop.")
    print_alerts(runtime, now, n.out)
    n.say("Plans change: Ana stays after all. The departure is undone, and kept in the history.")
    n.command(runtime, now, "person return Ana")
    n.command(runtime, now, "person history Ana")
