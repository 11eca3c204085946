"""The [[sources]] keys for logged-in and structured sources: select (json), cookies, logged_out_when, and
[[sources.metrics]] tables. Read by bot/config/sources.py through `Table`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bot.config.validation import ConfigError, Table
from watchers.reading.jsondoc import JsonError, compile_select
from watchers.sources import MetricWatch

ZONE_NAMES = ("red", "yellow")
_METRIC_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


def _regex(t: Table, name: str, value: str, groups: int | None = None) -> str:
    try:
        compiled = re.compile(value)
    except re.error as exc:
        raise ConfigError(
            t.key(name),
            f"invalid regular expression {value!r} ({exc})",
            "escape special characters such as ( [ . * with a backslash",
        ) from None
    if groups is not None and compiled.groups < groups:
        raise ConfigError(
            t.key(name),
            f"{value!r} has no capture group",
            r"put the number in parentheses, e.g. 'EMI\D{0,40}?([0-9]+(?:\.[0-9]+)?)'",
        )
    return value


def watch_keys(t: Table, kind: str, base: Path) -> dict[str, Any]:
    """select / cookies / logged_out_when / metrics, validated; the SourceSpec keyword arguments."""
    select = t.get("select", str, "") or None
    if select is not None:
        if kind != "json":
            raise ConfigError(
                t.key("select"),
                f"select is a JSONPath for kind = 'json', not for kind = {kind!r}",
                "use selector (CSS) for html pages",
            )
        try:
            compile_select(select)
        except JsonError as exc:
            raise ConfigError(t.key("select"), str(exc), "write a JSONPath such as '$.data.partner'") from None
    cookies = t.get("cookies", str, "") or None
    if cookies is not None:
        path = Path(cookies).expanduser()
        cookies = str(path if path.is_absolute() else base / path)
    logged_out_when = t.get("logged_out_when", str, "") or None
    if logged_out_when is not None:
        _regex(t, "logged_out_when", logged_out_when)
    raw = t.get("metrics", list, [], "write each metric as a [[sources.metrics]] table")
    metrics = tuple(_metric(Table(t.file, f"{t.where}.metrics[{i}]", item)) for i, item in enumerate(raw))
    names = [m.name for m in metrics]
    if len(set(names)) != len(names):
        raise ConfigError(t.key("metrics"), "two metrics share a name", "give each [[sources.metrics]] its own name")
    return {"select": select, "cookies": cookies, "logged_out_when": logged_out_when, "metrics": metrics}


def _metric(t: Table) -> MetricWatch:
    name = t.need("name", str, 'a short name such as "emi" (or "cloud_growth" to feed the renewal KPI)')
    if not _METRIC_NAME.match(name):
        raise ConfigError(t.key("name"), f"{name!r} is not a metric name", "use lowercase letters, digits and '_'")
    pattern = _regex(t, "pattern", t.need("pattern", str, "a regex whose first group is the number"), groups=1)
    zones_table = t.get("zones", dict, {}, "write zones = { red = 60, yellow = 70 }")
    zones: list[tuple[str, float]] = []
    for zone, bound in zones_table.items():
        if zone not in ZONE_NAMES:
            raise ConfigError(
                f"{t.key('zones')}.{zone}", "unknown zone", "zones are red and yellow (green is everything else)"
            )
        if not isinstance(bound, int | float) or isinstance(bound, bool):
            raise ConfigError(f"{t.key('zones')}.{zone}", f"expected a number, found {bound!r}", f"{zone} = 60")
        zones.append((zone, float(bound)))
    zones.sort(key=lambda z: ZONE_NAMES.index(z[0]))
    thresholds = t.get("thresholds", list, [], "write thresholds = [25, 30]")
    for value in thresholds:
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ConfigError(t.key("thresholds"), f"expected numbers, found {value!r}", "write thresholds = [25, 30]")
    metric = MetricWatch(
        name=name,
        pattern=pattern,
        label=t.get("label", str, ""),
        zones=tuple(zones),
        thresholds=tuple(float(v) for v in thresholds),
        unit=t.get("unit", str, ""),
    )
    t.done()
    return metric
