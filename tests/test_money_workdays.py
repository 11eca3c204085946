"""Working days on known calendars: python-holidays' real data, no stand-ins."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.config.loading import load_config
from bot.config.validation import ConfigError
from handlers.workdays import CalendarError, Calendars, CalendarSettings, library_version, work_calendar

ID_CN = Calendars(CalendarSettings("ID", None, "CN"))


def test_a_chinese_adjusted_working_saturday_counts() -> None:
    china = work_calendar("CN")
    saturday = date(2026, 2, 14)  # 调休: worked to bridge the Spring Festival
    assert saturday.weekday() == 5
    assert china.is_working_day(saturday)
    count = china.shift(date(2026, 2, 13), 1)  # Friday + 1 working day = that Saturday
    assert count.day == saturday
    assert count.worked_weekends == (saturday,)
    assert not china.is_working_day(date(2026, 2, 21))  # an ordinary Saturday is not


def test_indonesias_idul_fitri_does_not_count() -> None:
    indonesia = work_calendar("ID")
    assert not indonesia.is_working_day(date(2025, 3, 31))  # Monday, Eid al-Fitr
    count = indonesia.shift(date(2025, 3, 27), 2)  # Thu → Fri 28, then Wed 2 April
    assert count.day == date(2025, 4, 2)
    skipped = {s.day: s.reason for s in count.skipped}
    assert "Eid al-Fitr" in skipped[date(2025, 3, 31)]
    assert skipped[date(2025, 3, 30)] == "Sunday"


def test_saudi_arabias_friday_does_not_count_but_its_sunday_does() -> None:
    saudi = work_calendar("SA")
    assert not saudi.is_working_day(date(2026, 3, 6))  # Friday
    assert saudi.is_working_day(date(2026, 3, 8))  # Sunday
    count = saudi.shift(date(2026, 3, 5), 1)
    assert count.day == date(2026, 3, 8)
    assert [s.reason for s in count.skipped] == ["Friday", "Saturday"]


def test_a_malaysian_state_with_a_friday_weekend() -> None:
    kedah = work_calendar("MY", "02")
    assert not kedah.is_working_day(date(2026, 3, 6))  # Friday
    assert kedah.is_working_day(date(2026, 3, 8))  # Sunday
    assert work_calendar("MY", "14").is_working_day(date(2026, 3, 6))  # Kuala Lumpur works on Friday


def test_counting_back_skips_the_same_days() -> None:
    count = work_calendar("ID").shift(date(2025, 4, 2), -2)
    assert count.day == date(2025, 3, 27)
    assert count.days == -2


def test_an_unknown_year_is_provisional() -> None:
    china = work_calendar("CN")
    last_known = max(d.year for d in china._days.weekend_workdays)
    assert not china.provisional(last_known)
    assert china.provisional(last_known + 1)  # no 调休 published yet
    due = ID_CN.due(date(last_known + 1, 6, 1), 5)
    assert due.provisional
    assert "provisional" in due.basis
    assert not ID_CN.due(date(last_known, 6, 1), 5).provisional


def test_partner_duties_take_the_earlier_date_and_huawei_the_later() -> None:
    start = date(2026, 2, 12)  # before the Spring Festival: China stops for a week, Indonesia for a day
    mine = ID_CN.due(start, 3, whose="partner")
    theirs = ID_CN.due(start, 3, whose="huawei")
    assert mine.day == date(2026, 2, 18)
    assert mine.calendar == "Indonesia (ID) calendar"
    assert theirs.day == date(2026, 2, 24)
    assert theirs.calendar == "China (CN) calendar"
    assert {c.calendar for c in theirs.counts} == {"Indonesia (ID)", "China (CN)"}


def test_calendar_days_are_plain_days() -> None:
    due = ID_CN.due(date(2026, 1, 1), 90, "calendar")
    assert due.day == date(2026, 4, 1)
    assert due.basis == "calendar days"


def test_a_huge_count_is_refused_not_walked_forever() -> None:
    with pytest.raises(CalendarError, match="ten years"):
        work_calendar("ID").shift(date(2026, 1, 1), 100_000)


def test_library_version_is_known() -> None:
    assert library_version()[0].isdigit()


def _config(tmp_path: Path, calendar: str) -> Path:
    path = tmp_path / "whisperer.toml"
    path.write_text(f'[bot]\ndatabase = "w.db"\n\n[partner]\nname = "PT Contoh"\n\n[calendar]\n{calendar}\n')
    return path


def test_calendar_config_is_read_and_checked(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, 'country = "my"\nsubdivision = "02"\nhuawei = "CN"'), env={})
    assert config.knowledge.calendar == CalendarSettings("MY", "02", "CN")
    with pytest.raises(ConfigError, match=r"calendar\.country.*'XX'.*ISO 3166"):
        load_config(_config(tmp_path, 'country = "XX"'), env={})
    with pytest.raises(ConfigError, match=r"calendar\.subdivision.*no subdivision 'ZZ'.*use one of"):
        load_config(_config(tmp_path, 'country = "MY"\nsubdivision = "ZZ"'), env={})
    with pytest.raises(ConfigError, match=r"calendar\.contry.*unknown key.*country"):
        load_config(_config(tmp_path, 'contry = "ID"'), env={})


def test_doctor_names_the_library_version_and_warns_about_an_unknown_year(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from bot.cli.doctor import run_checks

    config = _config(tmp_path, 'country = "ID"')
    late_november = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    [check] = [c for c in run_checks(config, {}, late_november) if c.name == "calendar"]
    assert check.status == "warn"
    assert f"python-holidays {library_version()}" in check.detail
    assert "not yet known: " in check.detail and "China (CN) 2027" in check.detail
    assert "provisional" in check.detail
    assert "pip install --upgrade holidays" in check.fix
    [june] = [c for c in run_checks(config, {}, datetime(2026, 6, 1, tzinfo=UTC)) if c.name == "calendar"]
    assert june.status == "ok"
