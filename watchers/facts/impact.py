"""Impact on us, pure: one sentence per thing of ours a change moves (a followed threshold, a date we track, the
tier we hold, a metric zone), each with an optional urgent reason for the level rules.

`urgent_reasons(impacts)` is the one entry point the level rules need."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from watchers.facts.follow import Follow


@dataclass(frozen=True)
class Follower:
    """A threshold of ours that follows a page: a renewal KPI or a rebate criterion."""

    what: str  # "kpi" | "rebate"
    name: str  # the KPI's label or the rebate programme's name
    metric: str | None
    bound: str  # "min" (at least) | "max" (at most)
    unit: str
    follow: Follow
    fallback: float
    renewal: date | None = None
    consequence: str = ""


@dataclass(frozen=True)
class Impact:
    kind: str  # "threshold" | "date" | "tier" | "zone"
    sentence: str
    urgent: str | None = None  # why this makes the change urgent, e.g. "moves your renewal KPI"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "sentence": self.sentence, **({"urgent": self.urgent} if self.urgent else {})}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Impact:
        return cls(str(data.get("kind", "")), str(data.get("sentence", "")), data.get("urgent") or None)


def _num(value: float) -> str:
    return f"{value + 0.0:g}"  # + 0.0: a margin of -0.0 reads as 0


def _show(value: float, unit: str) -> str:
    return f"{_num(value)}{unit}" if unit in ("%", "") else f"{_num(value)} {unit}"


def _gap(value: float, unit: str) -> str:
    if unit == "%":
        return f"{_num(value)} point{'' if value == 1 else 's'}"
    return _show(value, unit)


def _margins(unit: str, a: float, b: float) -> str:
    word = " points" if unit == "%" else (f" {unit}" if unit else "")
    return f"{_num(a)} to {_num(b)}{word}"


def threshold_impact(f: Follower, old: float, new: float, ours: float | None) -> Impact:
    """What a moved threshold means with our own number."""
    kpi = f.what == "kpi"
    moved = "moves your renewal KPI" if kpi else f"moves a criterion of the {f.name}"
    if ours is None:
        hint = f"/whisperer metric set {f.metric} VALUE" if f.metric else "/whisperer renewal"
        return Impact(
            "threshold",
            f"{f.name} now needs {'≥' if f.bound == 'min' else '≤'} {_show(new, f.unit)} "
            f"(was {_show(old, f.unit)}); your value is not recorded: {hint}.",
            moved,
        )
    sign = 1.0 if f.bound == "min" else -1.0
    before, after = sign * (ours - old), sign * (ours - new)  # ≥ 0: met, by that margin
    if after >= 0 and before >= 0:
        trend = "down" if after < before else "up"
        return Impact(
            "threshold",
            f"You are at {_show(ours, f.unit)}: still met, margin {trend} from {_margins(f.unit, before, after)}.",
            moved,
        )
    if after >= 0:
        return Impact("threshold", f"You are at {_show(ours, f.unit)}: now met, by {_gap(after, f.unit)}.", moved)
    if before >= 0:
        if kpi:
            at = f"the renewal on {f.renewal}" if f.renewal else "the renewal"
            then = f" ({f.consequence})" if f.consequence else ""
            return Impact(
                "threshold",
                f"Now missed by {_gap(-after, f.unit)}: {at} is at risk{then}.",
                "your renewal KPI is now missed",
            )
        return Impact(
            "threshold",
            f"Now missed by {_gap(-after, f.unit)}: you no longer qualify for the {f.name}.",
            f"a criterion of the {f.name} is now missed",
        )
    return Impact(
        "threshold",
        f"You are at {_show(ours, f.unit)}: still missed, now by {_gap(-after, f.unit)} (was {_gap(-before, f.unit)}).",
        moved,
    )


def date_impact(title: str, old: date, new: date) -> Impact:
    """ "Claims close 16 days later: 2027-01-31." """
    days = (new - old).days
    way = "later" if days > 0 else "earlier"
    count = abs(days)
    return Impact(
        "date",
        f"{title} {count} day{'' if count == 1 else 's'} {way}: {new.isoformat()}.",
        "moves one of your deadlines",
    )


def tier_impact(old: str, new: str) -> Impact:
    return Impact("tier", f"That is your tier: {old} is now called {new}.", "renames the tier you hold")


def zone_impact(sentence: str, zone_changed: bool) -> Impact:
    return Impact("zone", sentence.rstrip(".") + ".", "moves a metric zone" if zone_changed else None)


def urgent_reasons(impacts: Iterable[Impact | Mapping[str, Any]]) -> list[str]:
    """Why a change is urgent, from its impacts (stored dicts or objects); [] when nothing of ours moved."""
    reasons: list[str] = []
    for item in impacts:
        impact = item if isinstance(item, Impact) else Impact.from_dict(item)
        if impact.urgent and impact.urgent not in reasons:
            reasons.append(impact.urgent)
    return reasons


def sentences(impacts: Iterable[Mapping[str, Any]]) -> list[str]:
    """The impact sentences to show, once each (a KPI and a rebate following one number say the same)."""
    out: list[str] = []
    for item in impacts:
        text = str(item.get("sentence") or "")
        if text and text not in out:
            out.append(text)
    return out
