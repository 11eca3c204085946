"""Deadlines from every origin, in date order, with `deadline add/remove` and the calendar export."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import icalendar
import pytest
from conftest import NOW, FixtureServer, Response
from knowledge_support import ask, html, poll_at, run, source, write_config

PAGE = (
    "<p>MDF claims for Q4 2026 close on 15 January 2027. Plan ahead.</p>"
    "<p>Submit the annual review by March 31, 2027.</p>"
    "<p>请于2027年2月28日前完成年度审核。</p>"
    "<p>Reconciliation starts within 5 working days of the next month.</p>"
    "<p>Partner Center maintenance on 2026-11-14.</p>"
)
FEED = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>Notices</title>'
    "<item><guid>n1</guid><title>Cross-cloud policy v3.3.0 takes effect on 2027-01-01</title>"
    "<description>Growth threshold rises to 25%.</description></item></channel></rss>"
)
REBATE = """
[[rebates]]
id = "cross-cloud"
name = "Cross-cloud rebate"
claim_opens = 2027-01-01
claim_closes = 2027-02-15
"""


@pytest.fixture
def config(server: FixtureServer, tmp_path: Path) -> Path:
    server.routes["/deadlines.html"] = html(PAGE)
    server.routes["/feed.xml"] = Response(200, FEED.encode(), {"Content-Type": "application/rss+xml"})
    return write_config(
        tmp_path,
        source(server, "mdf-rules", "/deadlines.html", "deadlines", 'name = "MDF rules"')
        + f"""
[[sources]]
id = "notices"
kind = "feed"
url = "{server.url("/feed.xml")}"
topic = "announcement"
extract_deadlines = true
"""
        + REBATE,
    )


def test_one_list_from_every_origin_in_date_order(
    config: Path, server: FixtureServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    poll_at(config, NOW)
    csv_file = tmp_path / "certs.csv"
    csv_file.write_text("name,slack_id,certification,passed\nDewi,U0DEWI,HCIP-Cloud,2023-12-03\n", encoding="utf-8")
    run(capsys, config, "certs", "import", str(csv_file))
    out = ask(capsys, config, "deadline add 2026-12-20 Submit the Q1 MDF application", as_of="2026-11-26")
    assert "Added #" in out and "2026-12-20 (in 24 days) — Submit the Q1 MDF application." in out

    out = ask(capsys, config, "deadlines 200", as_of="2026-11-26")
    assert "Deadlines in the next 200 days (Asia/Jakarta)" in out
    lines = [line.strip() for line in out.splitlines() if line.strip().startswith("•")]
    assert [line.split(" ")[1] for line in lines] == [
        "2026-12-03",
        "2026-12-20",
        "2027-01-01",
        "2027-01-01",
        "2027-01-15",
        "2027-02-15",
        "2027-02-28",
        "2027-03-31",
        "2027-03-31",
    ]
    assert "2026-12-03 (in 7 days) — Dewi's HCIP-Cloud expires · certifications #1" in lines[0]
    assert "Cross-cloud policy v3.3.0 takes effect on 2027-01-01 · notices (http" in out
    assert "2027-01-15 (in 50 days) — MDF claims for Q4 2026 close on 15 January 2027. · MDF rules (" in out
    assert "请于2027年2月28日前完成年度审核。" in out
    assert "Claim window for Cross-cloud rebate closes · [[rebates]] cross-cloud" in out
    assert "Acme Cloud's partner status (Premier) expires · [partner] status_expires" in out
    assert "working days" not in out and "2026-11-14" not in out  # relative dates are not guessed; past ones gone

    out = ask(capsys, config, "deadlines", as_of="2026-11-26")
    assert "2027-03-31" not in out and "2027-02-15" in out  # 90 days by default

    # The page stops stating a date: it leaves the list. A source deadline removed by hand stays removed.
    server.routes["/deadlines.html"] = html(PAGE.replace("<p>Submit the annual review by March 31, 2027.</p>", ""))
    poll_at(config, NOW + timedelta(hours=1))
    out = ask(capsys, config, "deadlines 200", as_of="2026-11-26")
    assert "annual review" not in out
    deadline_id = next(line for line in out.splitlines() if "MDF claims" in line).rsplit("#", 1)[1]
    out = ask(capsys, config, f"deadline remove {deadline_id}", user="U0DEWI")
    assert "Only admins can remove deadlines that others added or that sources state." in out
    out = ask(capsys, config, f"deadline remove {deadline_id}", user="U0ADMIN")
    assert "it stays removed even if the page keeps saying it" in out
    server.routes["/deadlines.html"] = html(PAGE + "<p>One more line.</p>")
    poll_at(config, NOW + timedelta(hours=2))
    out = ask(capsys, config, "deadlines 200", as_of="2026-11-26")
    assert "MDF claims" not in out and "annual review by March 31, 2027" in out


def test_deadline_add_checks_its_input_and_empty_lists_say_so(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "'soon' is not a date; write it as YYYY-MM-DD" in ask(capsys, config, "deadline add soon Do it")
    out = ask(capsys, config, "deadline add 2026-01-01 Too late", as_of="2026-11-26")
    assert "2026-01-01 has already passed (today is 2026-11-26)" in out
    out = ask(capsys, config, "deadline add 2026-12-01 Renew the cookie", as_of="2026-11-26", user="U0ANA")
    assert "Added #1" in out
    out = ask(capsys, config, "deadline add 2026-12-01 renew the cookie", as_of="2026-11-26", user="U0ANA")
    assert "already on the list as #1" in out
    out = ask(capsys, config, "deadline remove 1", user="U0ANA")  # the one who added it may remove it
    assert "Removed #1: Renew the cookie." in out
    out = ask(capsys, config, "deadlines 3", as_of="2026-11-26")
    assert "No deadlines in the next 3 days. Enjoy it while it lasts." in out


def test_calendar_export(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    poll_at(config, NOW)
    code, out = run(capsys, config, "deadlines", "--ics", "--days", "200", "--as-of", "2026-11-26")
    assert code == 0
    calendar = icalendar.Calendar.from_ical(out)
    events = {str(e["summary"]): e for e in calendar.walk("VEVENT")}
    annual = events["Submit the annual review by March 31, 2027."]
    assert annual.decoded("dtstart") == date(2027, 3, 31)
    assert annual.decoded("dtend") == date(2027, 4, 1)
    assert str(annual["uid"]).startswith("source:mdf-rules:2027-03-31:")
    assert "From: MDF rules" in str(annual["description"])
    assert "Acme Cloud's partner status (Premier) expires" in events
    assert len(events) == 7
    code, out = run(capsys, config, "deadlines", "--days", "0")
    assert code == 2 and "--days 0 is out of range" in out
