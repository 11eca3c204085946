"""Metric watches, pure: a number read from a source's text, its zone, and what a move means."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from watchers.patterns import lazy_pattern
from watchers.sources import MetricWatch

ZONE_MARKS = {"red": "🔴", "yellow": "🟡", "green": "🟢"}
_THOUSANDS = lazy_pattern(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")


class MetricUnreadable(ValueError):
    """The pattern found nothing, or not a number: a warning, never a zero."""


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def parse_number(text: str) -> float:
    """ "73.8", "1,234.5", "73,8", "-2", "25%" → a float; ValueError otherwise."""
    cleaned = text.strip().rstrip("%").replace("\u00a0", "").replace(" ", "")
    if _THOUSANDS().match(cleaned):
        cleaned = cleaned.replace(",", "")
    elif cleaned.count(",") == 1 and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")  # a decimal comma
    return float(cleaned)


def read_metric(watch: MetricWatch, text: str) -> float:
    """The first capture group of the watch's pattern, as a number; MetricUnreadable says why not."""
    match = _compiled(watch.pattern).search(text)
    if match is None:
        raise MetricUnreadable(f"metric {watch.name}: its pattern found nothing on the page; check it still shows")
    raw = match.group(1)
    if raw is None:
        raise MetricUnreadable(f"metric {watch.name}: the pattern matched but its first group captured nothing")
    try:
        return parse_number(raw)
    except ValueError:
        raise MetricUnreadable(f"metric {watch.name}: {raw.strip()[:40]!r} is not a number") from None


def falling(watch: MetricWatch) -> bool:
    """True when higher is worse (red's bound above yellow's, e.g. escalations)."""
    bounds = dict(watch.zones)
    return "red" in bounds and "yellow" in bounds and bounds["red"] > bounds["yellow"]


def zone_of(watch: MetricWatch, value: float) -> str | None:
    """red / yellow / green, or None when the watch has no zones."""
    if not watch.zones:
        return None
    if falling(watch):
        for zone, bound in watch.zones:  # red first
            if value >= bound:
                return zone
        return "green"
    for zone, bound in watch.zones:  # red first: the lowest bound
        if value < bound:
            return zone
    return "green"


def crossed(thresholds: Sequence[float], old: float, new: float) -> list[float]:
    """The thresholds lying between the old and the new value (the line itself counts as reached)."""
    return [t for t in thresholds if (old < t) != (new < t)]


def show(watch: MetricWatch, value: float) -> str:
    number = f"{value:g}"
    return f"{number}{watch.unit}" if watch.unit in ("%", "") else f"{number} {watch.unit}"


def describe_move(watch: MetricWatch, old: float, new: float) -> str | None:
    """ "EMI fell from 73.8 (green) to 68.1 (yellow)" when a zone changed or a threshold was crossed, else None."""
    old_zone, new_zone = zone_of(watch, old), zone_of(watch, new)
    lines = crossed(watch.thresholds, old, new)
    if old_zone == new_zone and not lines:
        return None
    verb = "rose" if new > old else "fell"
    before = show(watch, old) + (f" ({old_zone})" if old_zone else "")
    after = show(watch, new) + (f" ({new_zone})" if new_zone else "")
    text = f"{watch.title} {verb} from {before} to {after}"
    if lines:
        marks = " and ".join(show(watch, t) for t in lines)
        text += f", {'crossing' if len(lines) == 1 else 'crossing the lines at'} {marks}"
    return text
