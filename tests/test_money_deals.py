"""The opportunity ledger, pure parts and the terminal: amounts, steps, clocks in two calendars, CSV round trips."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from knowledge_support import ask, run

from handlers.money.deal_rules import DealError, deal_clocks, parse_amount, split_money, step_problem
from handlers.settings import DealRegSettings, DealSettings
from handlers.workdays import Calendars, CalendarSettings

JAKARTA = ZoneInfo("Asia/Jakarta")


@pytest.mark.parametrize(
    ("text", "value"),
    [("120000", 120000), ("120,000", 120000), ("120k", 120000), ("1.2M", 1_200_000), ("5万", 50000), ("abc", None)],
)
def test_amounts_are_read_as_people_write_them(text: str, value: float | None) -> None:
    assert parse_amount(text) == value


def test_a_trailing_value_and_currency_come_off_the_customer_name() -> None:
    assert split_money(["PT", "Nusantara", "120000", "USD"]) == (["PT", "Nusantara"], 120000, "USD")
    assert split_money(["PT", "Nusantara", "USD", "120k"]) == (["PT", "Nusantara"], 120000, "USD")
    assert split_money(["Bank", "Sentosa"]) == (["Bank", "Sentosa"], None, None)
    with pytest.raises(DealError, match="USD needs an amount"):
        split_money(["PT", "Nusantara", "USD"])


def test_a_step_that_does_not_follow_names_the_ones_that_do() -> None:
    draft = {"id": 3, "state": "draft"}
    assert step_problem(draft, "submit") is None
    problem = step_problem(draft, "won")
    assert problem is not None and "can't become won" in problem and "submit" in problem
    closed = step_problem({"id": 4, "state": "won"}, "lost")
    assert closed is not None and "it is closed" in closed


def _clock(state: str, began: datetime, settings: CalendarSettings) -> tuple[date, date | None, str]:
    deal = {"id": 1, "customer": "X", "state": state, "state_at": began.isoformat(), "rfp": None}
    [clock] = deal_clocks(deal, DealSettings(), DealRegSettings(), Calendars(settings), JAKARTA)
    return clock.due, clock.warn_from, clock.basis


def test_huaweis_validation_window_counts_to_the_later_calendar_across_chinas_golden_week() -> None:
    # Submitted Monday 2026-09-28: Indonesia works through October, China is off 1–7 October and works
    # Saturday 10 October (调休). Ten working days end on 12 October in Indonesia, 16 October in China;
    # Huawei's response time takes the later date, and says which calendar decided.
    due, warn, basis = _clock("submitted", datetime(2026, 9, 28, 3, tzinfo=UTC), CalendarSettings("ID", None, "CN"))
    assert due == date(2026, 10, 16)
    assert "China (CN) calendar" in basis
    assert warn == date(2026, 10, 14)  # two working days before, in the partner's (earlier) reckoning


def test_accepting_huaweis_offer_is_the_partners_duty_so_the_earlier_calendar_decides() -> None:
    due, _warn, basis = _clock("offered", datetime(2026, 9, 28, 3, tzinfo=UTC), CalendarSettings("ID", None, "CN"))
    assert due == date(2026, 10, 1)  # Indonesia: Tue, Wed, Thu; China would make it 9 October
    assert "Indonesia (ID) calendar" in basis


def test_a_saudi_partners_friday_is_not_a_working_day() -> None:
    # Submitted Wednesday 2026-11-04 in Riyadh's calendar only: Thursday, then Sunday (Friday–Saturday weekend).
    settings = CalendarSettings("SA", None, "SA")
    deal = {"id": 1, "customer": "X", "state": "offered", "state_at": "2026-11-04T06:00:00+00:00", "rfp": None}
    [clock] = deal_clocks(deal, DealSettings(accept_days=2), DealRegSettings(), Calendars(settings), JAKARTA)
    assert clock.due == date(2026, 11, 8)


def test_a_pre_registration_is_exclusive_for_fifteen_calendar_days() -> None:
    due, warn, basis = _clock("preregistered", datetime(2026, 12, 1, 3, tzinfo=UTC), CalendarSettings())
    assert (due, warn, basis) == (date(2026, 12, 16), date(2026, 12, 13), "15 calendar days")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "whisperer.toml"
    path.write_text(
        '[bot]\ndatabase = "w.db"\ntimezone = "Asia/Jakarta"\nalerts_channel = "#p"\n'
        '[calendar]\ncountry = "ID"\nhuawei = "CN"\n[deals]\nprereg_limit = 3\nprereg_warn = 2\n',
        encoding="utf-8",
    )
    return path


def test_the_terminal_follows_a_deal_from_draft_to_won(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    at = "2026-09-25T10:00"
    added = ask(capsys, config, "deal add PT Nusantara Logistics 2026-11-20 120000 USD", at, "U0ANA")
    assert "Added deal #1: PT Nusantara Logistics" in added and "72 hours before the RFP" in added
    assert "Huawei validates by Friday 2026-10-16" in ask(capsys, config, "deal submit 1", "2026-09-28T10:00")
    refused = ask(capsys, config, "deal won 1", "2026-09-29T10:00")
    assert "can't become won" in refused and "validate" in refused
    assert "submitted since 2026-09-28" in ask(capsys, config, "deal show 1", "2026-09-29T10:00")  # nothing moved
    assert "submitted → validated" in ask(capsys, config, "deal validate 1", "2026-10-05T10:00")
    assert "☑ 1." in ask(capsys, config, "deal check 1 1", "2026-10-05T10:00")
    assert "validated → won" in ask(capsys, config, "deal won 1", "2026-10-20T10:00")
    shown = ask(capsys, config, "deal show 1", "2026-10-20T10:00")
    for step in ("draft by @U0ANA", "submitted by terminal", "validated by terminal", "won by terminal"):
        assert step in shown
    assert "☑ Submitted at least 72 hours before the RFP" in shown
    assert "No open deals" in ask(capsys, config, "deals", "2026-10-20T10:00")
    assert "#1" in ask(capsys, config, "deals won", "2026-10-20T10:00")


def test_bad_deal_input_is_named_and_stores_nothing(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    at = "2026-12-07T10:00"
    assert "USD needs an amount" in ask(capsys, config, "deal add PT Nusantara USD", at)
    assert "is in the past" in ask(capsys, config, "deal add PT Nusantara 2026-01-15", at)
    assert "Which customer?" in ask(capsys, config, "deal add 120000 USD", at)
    assert "don't know the deal step 'fly'" in ask(capsys, config, "deal fly 1", at)
    assert "There is no deal #9" in ask(capsys, config, "deal submit 9", at)
    assert "No open deals" in ask(capsys, config, "deals", at)


def test_pre_registrations_warn_near_the_limit_and_stop_at_it(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    at = "2026-12-07T10:00"
    assert "pending" not in ask(capsys, config, "deal prereg A", at)
    assert "2 of at most 3 pre-registrations are now pending" in ask(capsys, config, "deal prereg B", at)
    assert "Pre-registered deal #3" in ask(capsys, config, "deal prereg C", at)
    refused = ask(capsys, config, "deal prereg D", at)
    assert "at most 3 at once" in refused and "deal submit ID" in refused
    # Sixteen days on, the first three have lapsed: room again.
    assert "Pre-registered deal #4" in ask(capsys, config, "deal prereg D", "2026-12-23T10:00")


def test_the_ledger_goes_out_and_back_in_as_csv(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    at = "2026-12-07T10:00"
    ask(capsys, config, "deal add PT Nusantara 2027-01-15 09:30 120k USD", at, "U0ANA")
    ask(capsys, config, "deal submit 1", at)
    ask(capsys, config, "deal offered Bank Sentosa 5万 CNY", at)
    ask(capsys, config, "deal prereg PT Samudra", at)
    exported = tmp_path / "deals.csv"
    code, out = run(capsys, config, "deals", "export", str(exported))
    assert code == 0 and "Wrote 3 deals" in out
    other = tmp_path / "other.toml"
    other.write_text(config.read_text(encoding="utf-8").replace('"w.db"', '"other.db"'), encoding="utf-8")
    code, out = run(capsys, other, "deals", "import", str(exported))
    assert code == 0 and "3 deals added" in out
    code, again = run(capsys, other, "deals", "export")
    assert again.strip().splitlines()[1:] == exported.read_text(encoding="utf-8").strip().splitlines()[1:]
    code, out = run(capsys, other, "deals", "import", str(exported))  # twice: nothing doubled
    assert code == 0 and "0 deals added, 3 already in the ledger" in out


def test_a_csv_with_bad_rows_keeps_the_good_ones_and_names_each_bad_line(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "customer,state,since,value,currency,colour\n"
        "PT Good,submitted,2026-12-01,10,USD,red\n"
        ",draft,,,,\n"
        "PT Flying,flying,,,,\n"
        "PT Euro,draft,,,EUR,\n"
        "PT Month,draft,2026-13-01,,,\n",
        encoding="utf-8",
    )
    code, out = run(capsys, config, "deals", "import", str(bad))
    assert code == 1
    assert "1 deal added, 4 rows skipped" in out
    for line, problem in (
        (3, "no customer"),
        (4, "state 'flying' is not a deal state"),
        (5, "currency EUR has no value"),
        (6, "since '2026-13-01' is not a date"),
    ):
        assert f"line {line}: {problem}" in out
    assert "Ignored columns: colour" in out
    assert "PT Good" in ask(capsys, config, "deals", "2026-12-07T10:00")
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    code, out = run(capsys, config, "deals", "import", str(tmp_path / "empty.csv"))
    assert code == 2 and "the file is empty" in out
