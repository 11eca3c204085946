"""Policy version strings (v3.2.1, Version 3.3, V2.0, 版本 3.3) and "updated" stamps (Q2 2024, a date)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from watchers.facts.dates import find_dates
from watchers.patterns import lazy_pattern

_NUMBER = r"(\d{1,3}(?:\.\d{1,4}){0,3})"
_PATTERNS = (
    # v3.2.1, V2.0 — a bare "v" needs at least one dot, so "v2" in prose or "mv8" are not versions
    lazy_pattern(r"(?<![\w.])[vV](\d{1,3}(?:\.\d{1,4}){1,3})(?![\w]|\.\d)"),
    lazy_pattern(rf"\b(?:version|ver\.|rev(?:ision)?)\s*[:：]?\s*[vV]?{_NUMBER}(?![\w]|\.\d)", re.IGNORECASE),
    lazy_pattern(rf"(?:版本|版本号)\s*[:：]?\s*[vV]?{_NUMBER}(?![\w]|\.\d)"),
)
_UPDATED = lazy_pattern(
    r"(?:last\s+)?(?:updated|revised|effective|update\s+date|更新(?:时间|日期|于)?|修订(?:日期|于)?)"
    r"\s*(?:on|in|:|：)?\s*(?P<rest>.{0,40})",
    re.IGNORECASE,
)
_QUARTER = lazy_pattern(
    r"^(?:Q(?P<q1>[1-4])\s*[-/ ]?\s*(?P<y1>(?:19|20)\d{2})"
    r"|(?P<y2>(?:19|20)\d{2})\s*年?\s*(?:Q(?P<q2>[1-4])|第\s*(?P<q3>[1-4一二三四])\s*季度))"
)
_CN_DIGITS = {"一": "1", "二": "2", "三": "3", "四": "4"}


@dataclass(frozen=True, order=True)
class Version:
    parts: tuple[int, ...]

    @classmethod
    def parse(cls, number: str) -> Version:
        return cls(tuple(int(p) for p in number.split(".")))

    @property
    def key(self) -> tuple[int, ...]:
        """For comparison: 3.3 and 3.3.0 are the same version."""
        parts = list(self.parts)
        while len(parts) > 1 and parts[-1] == 0:
            parts.pop()
        return tuple(parts)

    def __str__(self) -> str:
        return "v" + ".".join(str(p) for p in self.parts)


def find_version(text: str) -> Version | None:
    """The first version string in the text (a policy page names its own version first, in its title)."""
    best: tuple[int, str] | None = None
    for pattern in _PATTERNS:
        match = pattern().search(text)
        if match and (best is None or match.start() < best[0]):
            best = (match.start(), match.group(1))
    return Version.parse(best[1]) if best else None


def same_version(a: Version, b: Version) -> bool:
    return a.key == b.key


def find_updated(text: str) -> str | None:
    """When the page says it was updated: "Q2 2024", or a date as 2024-06-01; None if it does not say."""
    for match in _UPDATED().finditer(text):
        rest = match.group("rest").strip()
        quarter = _QUARTER().match(rest)
        if quarter:
            q = quarter.group("q1") or quarter.group("q2") or quarter.group("q3")
            return f"Q{_CN_DIGITS.get(q, q)} {quarter.group('y1') or quarter.group('y2')}"
        dates = find_dates(rest)
        if dates and dates[0].start <= 3:
            return dates[0].day.isoformat()
    return None
