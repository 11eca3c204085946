"""Working days: one pure date helper for every rule that counts them, in the partner's calendar and Huawei's.

python-holidays supplies both calendars (offline): public holidays, each country's weekend (Friday–Saturday in
Saudi Arabia and some Malaysian states) and China's adjusted working weekends (调休, `weekend_workdays`). No
page says which calendar Huawei counts in, so a rule is counted in both: the partner's own duties take the
earlier date, Huawei's response times the later, and the answer names the calendar that decided.

A year the library does not know yet is *provisional*: one with an estimated holiday (Islamic dates computed
ahead), or, for a country that publishes adjusted working weekends each year (China, each November), a year
after the last one it has them for.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache, lru_cache
from typing import Any, Literal

DayType = Literal["working", "calendar"]
Whose = Literal["partner", "huawei"]
DAY_TYPES: tuple[DayType, ...] = ("working", "calendar")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_SPAN = 3660  # days a count may walk (ten years): a typo like 10000 must not hang the bot


@dataclass(frozen=True)
class CalendarSettings:
    """[calendar]: the partner's country (ISO 3166 code, optional subdivision) and the one Huawei counts in."""

    country: str = "ID"
    subdivision: str | None = None
    huawei: str = "CN"


@dataclass(frozen=True)
class Skipped:
    day: date
    reason: str  # "Saturday", "Eid al-Fitr"


@dataclass(frozen=True)
class Count:
    """One calendar's answer: `days` working days from `start` (negative: back) land on `day`."""

    calendar: str  # "Indonesia (ID)"
    start: date
    days: int
    day: date
    skipped: tuple[Skipped, ...] = ()
    worked_weekends: tuple[date, ...] = ()  # weekend days counted as working (调休)
    provisional_years: tuple[int, ...] = ()

    @property
    def provisional(self) -> bool:
        return bool(self.provisional_years)


@dataclass(frozen=True)
class Due:
    """A deadline from a rule: its day, the day type, which calendar decided, and each calendar's count."""

    day: date
    day_type: DayType
    calendar: str  # "China (CN)", "both calendars", or "calendar days"
    counts: tuple[Count, ...] = ()
    whose: Whose = "partner"

    @property
    def provisional(self) -> bool:
        return any(c.provisional for c in self.counts)

    @property
    def basis(self) -> str:
        """ "working days, China (CN) calendar (provisional)" — what to print after the date."""
        if self.day_type == "calendar":
            return "calendar days"
        text = f"working days, {self.calendar}"
        if self.provisional:
            years = sorted({y for c in self.counts for y in c.provisional_years})
            text += f" (provisional: {', '.join(map(str, years))} not yet published)"
        return text


class CalendarError(ValueError):
    """A country or subdivision python-holidays does not know."""


def library_version() -> str:
    import holidays

    return str(getattr(holidays, "__version__", "unknown"))


@cache
def supported() -> dict[str, tuple[str, ...]]:
    """Country code → its subdivision codes."""
    import holidays

    return {code: tuple(subs) for code, subs in holidays.list_supported_countries().items()}


@cache
def country_name(code: str) -> str:
    """ID → Indonesia, SA → SaudiArabia → "Saudi Arabia"; the code itself when the library has no name."""
    import holidays

    for names in holidays.registry.COUNTRIES.values():
        if code in names[1:]:
            return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", names[0])
    return code


class WorkCalendar:
    """One country's (or subdivision's) working days. Safe to share between threads."""

    def __init__(self, country: str, subdivision: str | None = None) -> None:
        import holidays

        country = country.upper()
        known = supported()
        if country not in known:
            raise CalendarError(f"python-holidays has no calendar for the country code {country!r}")
        if subdivision and subdivision not in known[country]:
            raise CalendarError(f"python-holidays knows no subdivision {subdivision!r} of {country}")
        self.country = country
        self.subdivision = subdivision
        self._lock = threading.Lock()
        self._days: Any = holidays.country_holidays(country, subdiv=subdivision, language="en_US")
        name = country_name(country)
        self.label = f"{name} ({country}{f'-{subdivision}' if subdivision else ''})"
        label = str(getattr(self._days, "estimated_label", "") or "%s (estimated)")
        self._estimated = str(self._days.tr(label)).replace("%s", "").strip() or "(estimated)"
        self._adjusts_until = self._last_adjusted_year()
        self._provisional: dict[int, bool] = {}

    def _last_adjusted_year(self) -> int | None:
        """The last year with adjusted working weekends, for a country that publishes them yearly."""
        specials = getattr(self._days, "special_public_holidays", None) or {}
        years = sorted(y for y in specials if isinstance(y, int))
        if not years:
            return None
        latest = years[-1]
        self._days.__contains__(date(latest, 1, 1))  # loads the year
        if any(d.year == latest for d in self._days.weekend_workdays):
            return latest
        return None

    def _name(self, day: date) -> str | None:
        with self._lock:
            found = self._days.get(day)
        return None if found is None else str(found)

    def is_working_day(self, day: date) -> bool:
        with self._lock:
            return bool(self._days.is_working_day(day))

    def off_reason(self, day: date) -> str | None:
        """Why `day` is not a working day ("Saturday", "Eid al-Fitr"), or None if it is one."""
        if self.is_working_day(day):
            return None
        return self._name(day) or WEEKDAYS[day.weekday()]

    def worked_weekend(self, day: date) -> bool:
        with self._lock:
            return bool(self._days._is_weekend(day) and day in self._days.weekend_workdays)

    def provisional(self, year: int) -> bool:
        """True when the library does not know `year` for sure (estimated dates, or no 调休 published yet)."""
        if year not in self._provisional:
            if self._adjusts_until is not None and year > self._adjusts_until:
                answer = True
            else:
                with self._lock:
                    self._days.__contains__(date(year, 1, 1))  # loads the year
                    names = [str(n) for d, n in self._days.items() if d.year == year]
                answer = any(self._estimated in n for n in names)
            self._provisional[year] = answer
        return self._provisional[year]

    def shift(self, start: date, days: int) -> Count:
        """`days` working days after `start` (before it when negative); `start` itself is not counted."""
        step = 1 if days >= 0 else -1
        day, left, walked = start, abs(days), 0
        skipped: list[Skipped] = []
        worked: list[date] = []
        while left:
            day += timedelta(days=step)
            walked += 1
            if walked > MAX_SPAN:
                raise CalendarError(f"{days} working days is more than ten years; give a smaller number")
            reason = self.off_reason(day)
            if reason:
                skipped.append(Skipped(day, reason))
                continue
            if self.worked_weekend(day):
                worked.append(day)
            left -= 1
        years = sorted({y for y in range(min(start, day).year, max(start, day).year + 1) if self.provisional(y)})
        return Count(self.label, start, days, day, tuple(skipped), tuple(worked), tuple(years))


@cache
def work_calendar(country: str, subdivision: str | None = None) -> WorkCalendar:
    """Built once per process: python-holidays fills years lazily as they are asked for."""
    return WorkCalendar(country, subdivision)


@dataclass(frozen=True)
class Calendars:
    """The two calendars of [calendar]; `due` is the one function every working-day rule goes through."""

    settings: CalendarSettings = field(default_factory=CalendarSettings)

    @property
    def partner(self) -> WorkCalendar:
        return work_calendar(self.settings.country.upper(), self.settings.subdivision)

    @property
    def huawei(self) -> WorkCalendar:
        return work_calendar(self.settings.huawei.upper(), None)

    def due(self, start: date, days: int, day_type: DayType = "working", whose: Whose = "partner") -> Due:
        """The day `days` days from `start` (negative: before it). Working days are counted in both calendars:
        the partner's own duties take the earlier date, Huawei's response times the later."""
        return _due(self, start, days, day_type, whose)

    def count(self, start: date, days: int, day_type: DayType, whose: Whose) -> Due:
        if day_type == "calendar":
            return Due(start + timedelta(days=days), "calendar", "calendar days", (), whose)
        counts = [self.partner.shift(start, days)]
        if self.huawei.label != self.partner.label:
            counts.append(self.huawei.shift(start, days))
        pick = min if whose == "partner" else max
        day = pick(c.day for c in counts)
        deciding = [c.calendar for c in counts if c.day == day]
        calendar = f"{deciding[0]} calendar" if len(deciding) == 1 else "both calendars"
        return Due(day, "working", calendar, tuple(counts), whose)

    def provisional_years(self, today: date, ahead: int = 2) -> list[tuple[str, int]]:
        """(calendar, year) pairs from this year to `ahead` years on that the library does not know yet."""
        found = []
        for cal in dict.fromkeys((self.partner, self.huawei)):
            found += [(cal.label, y) for y in range(today.year, today.year + ahead + 1) if cal.provisional(y)]
        return found


@lru_cache(maxsize=65536)
def _due(calendars: Calendars, start: date, days: int, day_type: DayType, whose: Whose) -> Due:
    """Answers are pure (the holiday data is fixed for the process's life), so a thousand requests that share
    start dates count each one once."""
    return calendars.count(start, days, day_type, whose)
