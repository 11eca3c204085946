"""Metrics read from sources (metric watches): their definitions, a sparkline of the history, and the zone."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from handlers.settings import MetricDef
from watchers.facts.metrics import ZONE_MARKS, zone_of
from watchers.sources import MetricWatch

BARS = "▁▂▃▄▅▆▇█"


def metric_watches(sources: Sequence[Any]) -> dict[str, tuple[MetricWatch, str]]:
    """Every `[[sources.metrics]]` by name, with the id of the source it is read from."""
    found: dict[str, tuple[MetricWatch, str]] = {}
    for spec in sources:
        for watch in getattr(spec, "metrics", ()):
            found.setdefault(watch.name, (watch, spec.id))
    return found


def watch_def(watch: MetricWatch) -> MetricDef:
    return MetricDef(watch.name, watch.title, watch.unit)


def sparkline(values: Sequence[float]) -> str:
    """ "▅▆▇▃▁" — oldest first; a flat history is a flat line."""
    if not values:
        return ""
    low, high = min(values), max(values)
    if high == low:
        return BARS[3] * len(values)
    return "".join(BARS[round((v - low) / (high - low) * (len(BARS) - 1))] for v in values)


def zone_text(watch: MetricWatch, value: float) -> str:
    """ "🟡 yellow (red below 60, yellow below 70)" — or "" for a watch without zones."""
    zone = zone_of(watch, value)
    if zone is None:
        return ""
    word = (
        "at or above" if len(watch.zones) == 2 and dict(watch.zones)["red"] > dict(watch.zones)["yellow"] else "below"
    )
    rules = ", ".join(f"{name} {word} {bound:g}" for name, bound in watch.zones)
    return f"{ZONE_MARKS[zone]} {zone} ({rules}; green otherwise)"
