"""The demo's partner-knowledge scenes: the team's own data, the questions people ask, the reminder sweep."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from bot.cli.terminal import print_alerts
from bot.process.reminders import run_reminder_sweep
from bot.process.runtime import Runtime
from bot.slack.render import to_text
from handlers.team.certificates import import_certs, import_reply, parse_cert_csv

KNOWLEDGE_TOML = """
[renewal]
consequence = "Provisional until Q3"

# The growth threshold follows the cross-cloud policy page: 25 is only the fallback until the page is read.
[[renewal.kpis]]
id = "cloud_growth"
label = "Cloud consumption growth (YoY)"
metric = "cloud_growth"
min = 25
unit = "%"
follow = { source = "cross-cloud-policy", pattern = 'at least (\\d+)% year on year' }

[[renewal.kpis]]
id = "certified_architects"
label = "Certified architects"
certified = "architects"
min = 3

[[renewal.kpis]]
id = "licence_escalations"
label = "Licence-misuse escalations"
metric = "licence_escalations"
max = 0

[[rebates]]
id = "cross-cloud"
name = "Cross-cloud growth rebate"
source = "cross-cloud-policy"
min_tier = "Advanced"
no_overdue_bills = true
min_metrics = { cloud_growth = { follow = "renewal" } }   # the renewal KPI's threshold: one number, read once
min_certified = { architects = 3 }
claim_opens = 2027-01-01
claim_closes = 2027-03-31
"""

TEAM_CSV = """\
name,email,slack_id,tz,certification,number,passed
Ana Lima,ana@acme.example,U0ANA,Asia/Jakarta,HCIE-Cloud,HCIE-0042,2024-02-01
Budi Santoso,budi@acme.example,U0BUDI,Asia/Jakarta,HCCDE,HCCDE-0107,2025-06-10
Chen Wei,chen@acme.example,,Europe/Berlin,HCIE-CSSA,HCIE-0311,2025-09-01
Chen Wei,chen@acme.example,,Europe/Berlin,HCIA-Datacom,,2023-12-30
Dewi Lestari,dewi@acme.example,U0DEWI,Asia/Jakarta,HCIP-Cloud Service Solutions Architect,HCIP-2210,2023-12-03
Eko Prasetyo,eko@acme.example,U0EKO,Asia/Jakarta,HCIA-Cloud Service,,2023-12-24
Fajar,fajar@acme.example,fajar,,HCIA-AI,,2025-03-01
"""

SETUP = (
    "metric set cloud_growth 27 Q3 finance report",
    "metric set licence_escalations 0",
    "metric set overdue_bills 0",
    "rebate confirm cross-cloud",
)
QUESTIONS = (
    "tier Premier",
    "dealreg 2026-12-10 PT Nusantara Logistics",
    "deadlines 150",
    "renewal",
    "rebate",
    "whatis ROMA",
)


class Narrator(Protocol):
    out: Callable[[str], None]

    def title(self, text: str) -> None: ...

    def say(self, text: str) -> None: ...

    def command(self, runtime: Runtime, now: datetime, line: str) -> None: ...


def seed_team(n: Narrator, runtime: Runtime, workdir: Path, now: datetime) -> None:
    """People, certifications and the numbers only the team knows."""
    csv_file = workdir / "team-certs.csv"
    csv_file.write_text(TEAM_CSV, encoding="utf-8")
    n.say(
        "Certifications come from a spreadsheet export. One row has a typo in its Slack ID: it is reported with "
        "its line number and the fix, and the other rows are imported anyway."
    )
    n.out(f"\n$ whisperer certs import {csv_file.name}")
    parsed = import_certs(runtime.db, parse_cert_csv(TEAM_CSV, runtime.config.knowledge.certifications), now)
    n.out(textwrap.indent(to_text(import_reply(parsed, csv_file.name)), "  "))
    n.out("")
    n.say("KPI numbers are not on any public page, so an admin records them (history is kept):")
    for line in SETUP:
        n.command(runtime, now, line)


def ask_around(n: Narrator, runtime: Runtime, now: datetime) -> None:
    for line in QUESTIONS:
        n.command(runtime, now, line)


def reminder_sweep(n: Narrator, runtime: Runtime, now: datetime) -> None:
    n.say(
        "The scheduler runs this once a day; `whisperer reminders --as-of DATE --dry-run` previews it. Each "
        "message is queued once (restarts included) and DMs wait for the holder's working hours."
    )
    run_reminder_sweep(runtime, now)
    print_alerts(runtime, now, n.out)
    later = now + timedelta(hours=12)
    n.out(f"\n(later, in the other holders' working hours: by {later.astimezone(runtime.config.bot.tz):%H:%M} here)")
    print_alerts(runtime, later, n.out)
