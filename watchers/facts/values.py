"""Values in a line of text, in any language: percentages, money, dates, versions, numbers with units, counts.

Pure and regex-only. Each value keeps its place in the line, so the words around it can be its label."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from watchers.patterns import lazy_pattern

# Month names: English, Indonesian, Portuguese (full and the usual abbreviations).
_MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10,
    "nov": 11, "dec": 12,
    "januari": 1, "februari": 2, "maret": 3, "mei": 5, "juni": 6, "juli": 7, "agustus": 8, "oktober": 10,
    "desember": 12, "agu": 8, "agt": 8, "okt": 10, "des": 12,
    "janeiro": 1, "fevereiro": 2, "março": 3, "marco": 3, "abril": 4, "maio": 5, "junho": 6, "julho": 7,
    "agosto": 8, "setembro": 9, "outubro": 10, "novembro": 11, "dezembro": 12,
    "fev": 2, "abr": 4, "mai": 5, "ago": 8, "set": 9, "out": 10, "dez": 12,
}  # fmt: skip
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th|º)?"
_YEAR = r"(?P<year>(?:19|20)\d{2})"
_LEFT = r"(?<![A-Za-z0-9_./\-])"  # not glued to a word, a path or an id ("HCIE-0042", "build/1234")
_RIGHT = r"(?![A-Za-z0-9_])"

_DATES = (
    lazy_pattern(rf"{_LEFT}(?P<year>(?:19|20)\d{{2}})-(?P<month>\d{{1,2}})-(?P<day>\d{{1,2}})(?![\d:T])"),
    lazy_pattern(r"(?P<year>(?:19|20)\d{2})\s*年\s*(?P<month>\d{1,2})\s*月\s*(?P<day>\d{1,2})\s*[日号]"),
    # 15 Jan 2027, 15 Januari 2027, 15 de janeiro de 2027
    lazy_pattern(rf"{_LEFT}{_DAY}\s+(?:de\s+)?{_MONTH}(?![a-zç]),?\s+(?:de\s+)?{_YEAR}(?!\d)", re.IGNORECASE),
    # January 15, 2027
    lazy_pattern(rf"{_LEFT}{_MONTH}\s+{_DAY}(?!\d),?\s+{_YEAR}(?!\d)", re.IGNORECASE),
)
_NUMBER = r"\d{1,3}(?:[,.\u00a0]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?"
_SCALE = r"(?:[KkMB](?![A-Za-z])|bn|mn|million|billion|juta|miliar|ribu|mil|milhões|milhão|bilhões|bilhão|万|亿|千)"
_CODES = r"USD|US\$|CNY|RMB|IDR|SAR|BRL|EUR|HKD|SGD|MYR|THB|AED|JPY|GBP|R\$|Rp\.?|\$|¥|￥|€|£"
_MONEY = (
    lazy_pattern(rf"(?<![A-Za-z])(?:{_CODES})\s?(?:{_NUMBER})(?:\s?{_SCALE})?"),
    lazy_pattern(
        rf"{_LEFT}(?:{_NUMBER})(?:\s?{_SCALE})?\s?(?:USD|CNY|RMB|IDR|SAR|BRL|EUR|元|美元|人民币|rupiah|reais|riyals?)"
    ),
)
_PERCENT = lazy_pattern(rf"{_LEFT}(?:{_NUMBER})\s?[%％]|百分之[\d.]+")
_VERSION = lazy_pattern(
    r"(?<![A-Za-z0-9_.\-])[vV]?\d+(?:\.\d+){1,3}(?!\.?\d)(?![A-Za-z])|(?<![A-Za-z0-9_])[vV]\d+(?![\w.])"
)
_PERIOD = lazy_pattern(r"(?<![A-Za-z0-9_])(?:Q[1-4]|H[12]|FY)\s?(?:19|20)\d{2}(?!\d)|(?:19|20)\d{2}\s?年?\s?Q[1-4]")
_UNITS = (
    r"days?|hours?|hrs?|weeks?|months?|years?|minutes?|mins?|seconds?|business days|working days|"
    r"hari|jam|minggu|bulan|tahun|dias?|horas?|semanas?|meses|mês|anos?|"
    r"GB|TB|MB|vCPUs?|cores?|users?|seats?|partners?|people|persons?|engineers?|architects?|customers?|deals?|"
    r"certifications?|certificates?|pessoas|orang|"
    r"天|日|小时|个月|月|周|年|名|人|个|家|次|万|亿|千"
)
_WITH_UNIT = lazy_pattern(rf"{_LEFT}(?P<number>{_NUMBER})\s?(?:{_SCALE}\s?)?(?:{_UNITS})(?![A-Za-z])")
_SCALED = lazy_pattern(rf"{_LEFT}(?:{_NUMBER})\s?(?:{_SCALE})")
_COUNT = lazy_pattern(rf"{_LEFT}(?:{_NUMBER})(?![A-Za-z0-9_\-])")
_YEARISH = lazy_pattern(r"(?:19|20)\d{2}")
_TIME = lazy_pattern(r"(?:19|20)\d{2}-\d{2}-\d{2}T[\d:.]+Z?|\d{1,2}:\d{2}(?::\d{2})?")


@dataclass(frozen=True)
class Value:
    kind: str  # "date" | "money" | "percent" | "version" | "period" | "quantity" | "count"
    text: str
    start: int
    end: int
    number: float | None = None
    day: date | None = None

    @property
    def key(self) -> str:
        """What makes two values the same: "25 %" and "25%", "Jan" and "January" on the same day."""
        if self.day is not None:
            return self.day.isoformat()
        return re.sub(r"\s+", "", self.text).casefold()


def _month(value: str) -> int:
    return int(value) if value.isdigit() else _MONTHS[value.lower().rstrip(".")]


def parse_amount(text: str) -> float | None:
    """ "1,234.5", "1.234,5", "5.000.000", "27" → a float; None when it is not one number."""
    match = re.search(_NUMBER, text)
    if match is None:
        return None
    raw = match.group(0).replace("\u00a0", "")
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", raw):
        raw = raw.replace(",", "")
    elif re.fullmatch(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?", raw):
        raw = raw.replace(".", "").replace(",", ".")  # Indonesian and Portuguese: dots group, comma decimals
    elif raw.count(",") == 1 and "." not in raw:
        raw = raw.replace(",", ".")
    try:
        return float(raw)
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def find_values(line: str) -> tuple[Value, ...]:
    """Every value in the line, in order, never overlapping: dates first, then money, percentages, versions…"""
    found: list[Value] = []

    def free(start: int, end: int) -> bool:
        return all(v.end <= start or end <= v.start for v in found)

    if not any(ch.isdigit() for ch in line):
        return ()
    for m in _TIME().finditer(line):  # times of day are not facts; mark them taken
        if free(m.start(), m.end()):
            found.append(Value("time", m.group(0), m.start(), m.end()))
    for pattern in _DATES if _YEARISH().search(line) else ():  # no year, no date: skip the costly patterns
        for m in pattern().finditer(line):
            try:
                day = date(int(m.group("year")), _month(m.group("month")), int(m.group("day")))
            except (ValueError, KeyError):
                continue
            if free(m.start(), m.end()):
                found.append(Value("date", m.group(0), m.start(), m.end(), day=day))
    for kind, patterns in (
        ("period", (_PERIOD,)),
        ("money", _MONEY),
        ("percent", (_PERCENT,)),
        ("version", (_VERSION,)),
        ("quantity", (_WITH_UNIT, _SCALED)),
        ("count", (_COUNT,)),
    ):
        for pattern in patterns:
            for m in pattern().finditer(line):
                text = m.group(0).strip()
                if not text or not free(m.start(), m.end()):
                    continue
                if kind == "version" and not (text[0] in "vV" or text.count(".") >= 2):
                    continue  # "3.5" is a number, "3.5.1" and "v3" are versions
                number = None if kind in ("version", "period") else parse_amount(text)
                if kind == "percent" and text.startswith("百分之"):
                    number = parse_amount(text[3:])
                found.append(Value(kind, text, m.start(), m.start() + len(text), number=number))
    return tuple(sorted((v for v in found if v.kind != "time"), key=lambda v: v.start))
