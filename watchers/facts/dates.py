"""Absolute dates in English and Chinese text: "31 March 2027", "March 31, 2027", "2027-03-31", "2027年3月31日".

Only unambiguous forms are read. "31/03/2027" (day or month first?) and relative dates ("next Friday",
"within 90 days") are left alone: a wrong deadline is worse than a missing one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache

from watchers.patterns import lazy_pattern

_MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10,
    "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d{2})"


@cache
def _patterns() -> tuple[re.Pattern[str], ...]:
    """Compiled at the first date read, not at import (commands that read no page never pay for them)."""
    return (
        # 2027-03-31, 2027/03/31
        re.compile(r"(?<![\d.])(?P<year>(?:19|20)\d{2})([-/])(?P<month>\d{1,2})\2(?P<day>\d{1,2})(?![\d])"),
        # 2027年3月31日 (also 号), spaces allowed
        re.compile(r"(?P<year>(?:19|20)\d{2})\s*年\s*(?P<month>\d{1,2})\s*月\s*(?P<day>\d{1,2})\s*[日号]"),
        # 31 March 2027, 31st Mar. 2027, 31 March, 2027
        re.compile(rf"(?<![\w]){_DAY}\s+{_MONTH}(?![a-z]),?\s+{_YEAR}(?!\d)", re.IGNORECASE),
        # March 31, 2027, Mar 31 2027
        re.compile(rf"(?<![\w]){_MONTH}(?<![a-z]\.)\s+{_DAY}(?!\d),?\s+{_YEAR}(?!\d)", re.IGNORECASE),
    )


@dataclass(frozen=True)
class FoundDate:
    day: date
    start: int
    end: int
    text: str


def _month(value: str) -> int:
    return int(value) if value.isdigit() else _MONTHS[value.lower().rstrip(".")]


def find_dates(text: str) -> list[FoundDate]:
    """Every absolute date in the text, in order; impossible ones (31 February) are skipped."""
    found: list[FoundDate] = []
    for pattern in _patterns():
        for match in pattern.finditer(text):
            try:
                day = date(int(match.group("year")), _month(match.group("month")), int(match.group("day")))
            except ValueError:
                continue
            if any(f.start < match.end() and match.start() < f.end for f in found):
                continue
            found.append(FoundDate(day, match.start(), match.end(), match.group(0)))
    return sorted(found, key=lambda f: f.start)


def parse_day(text: str) -> date | None:
    """The text is exactly one date in a form we read (for arguments and CSV cells), else None."""
    text = text.strip()
    found = find_dates(text)
    if len(found) == 1 and found[0].start == 0 and found[0].end == len(text.rstrip(".")):
        return found[0].day
    return None


@dataclass(frozen=True)
class DatedSentence:
    day: date
    sentence: str


_SENTENCE_END = lazy_pattern(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])|(?<=[。！？；])")


def sentences(text: str) -> list[str]:
    out: list[str] = []
    for line in text.splitlines():
        out.extend(part.strip() for part in _SENTENCE_END().split(line) if part.strip())
    return out


def dated_sentences(text: str) -> list[DatedSentence]:
    """Each sentence that names an absolute date, once per date it names."""
    out = []
    for sentence in sentences(text):
        seen = set()
        for found in find_dates(sentence):
            if found.day not in seen:
                seen.add(found.day)
                out.append(DatedSentence(found.day, sentence))
    return out
