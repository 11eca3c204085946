"""Deal registration: the last moment (72 hours before the RFP by default), too late, the checklist, deadlines."""

from __future__ import annotations

from pathlib import Path

import icalendar
import pytest
from knowledge_support import ask, run, write_config


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path, "")


def test_last_moment_checklist_and_deadline(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = ask(capsys, config, "dealreg 2026-12-10 PT Nusantara Logistics", as_of="2026-11-26")
    assert "Deal registration: PT Nusantara Logistics" in out
    assert (
        "Register by Monday 2026-12-07 00:00 Asia/Jakarta (that is, by the end of Sunday 2026-12-06) — "
        "10 days 15 hours from now, 72 hours before the RFP release 2026-12-10 00:00 (time not given: 00:00 assumed)."
    ) in out
    assert "☐ A signed LOI from the prospect's CIO (not their IT manager)" in out
    assert "☐ The deal aligns with the current quarterly GTM priorities" in out
    assert "Added to /whisperer deadlines as #1." in out
    again = ask(capsys, config, "dealreg 2026-12-10 PT Nusantara Logistics", as_of="2026-11-27")
    assert "Already in /whisperer deadlines as #1." in again

    out = ask(capsys, config, "deadlines", as_of="2026-11-26")
    assert (
        "2026-12-07 00:00 (in 11 days) — Register the deal with PT Nusantara Logistics (RFP out 2026-12-10 00:00)"
        in out
    )
    assert "deal registration #1" in out


def test_a_given_time_and_other_date_forms(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = ask(capsys, config, "dealreg 10 December 2026 14:30 Acme Retail", as_of="2026-11-26")
    assert "Register by Monday 2026-12-07 14:30 Asia/Jakarta" in out and "Deal registration: Acme Retail" in out
    assert "assumed" not in out
    out = ask(capsys, config, "dealreg 2026-12-10T14:30+07:00", as_of="2026-11-26")
    assert "Register by Monday 2026-12-07 14:30 Asia/Jakarta" in out


def test_too_late(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = ask(capsys, config, "dealreg 2026-11-28 Late Corp", as_of="2026-11-26")
    assert "Too late. Registration had to be in by Wednesday 2026-11-25 00:00 Asia/Jakarta" in out
    assert "1 day 9 hours ago" in out
    assert "Checklist" not in out
    assert "No deadlines in the next 90 days" in ask(capsys, config, "deadlines", as_of="2026-11-26")
    out = ask(capsys, config, "dealreg soon", as_of="2026-11-26")
    assert "'soon' is not a date; write the RFP release date as 2027-01-15" in out


def test_hours_and_checklist_are_configuration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, '[dealreg]\nhours_before = 96\nrfp_time = "09:00"\nchecklist = ["Signed LOI"]\n')
    out = ask(capsys, config, "dealreg 2026-12-10", as_of="2026-11-26")
    assert "Register by Sunday 2026-12-06 09:00 Asia/Jakarta" in out and "96 hours before" in out
    assert "☐ Signed LOI" in out and "GTM" not in out


def test_a_deal_registration_is_a_timed_calendar_event(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ask(capsys, config, "dealreg 2026-12-10 14:30 Acme Retail", as_of="2026-11-26")
    _code, out = run(capsys, config, "deadlines", "--ics", "--as-of", "2026-11-26")
    [event] = [e for e in icalendar.Calendar.from_ical(out).walk("VEVENT") if "Acme Retail" in str(e["summary"])]
    assert event.decoded("dtstart").isoformat() == "2026-12-07T07:30:00+00:00"
    assert str(event["uid"]) == "dealreg:acme-retail:2026-12-10T14:30:00+07:00@huawei-whisperer"
