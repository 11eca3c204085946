"""The team as the partner programme counts it: who holds which certificate, bound or not, leaving or not, and
how many people count for each certification group on any day. Pure once loaded; what-if and the plan change a
copy of it, never the database.

Counting rule (DOMAIN.md, People; Partner Center guide tl_010103): a certificate counts on a day when it has
not expired, its holder's HUAWEI ID is bound to the partner account, and its holder has not left — or left
less than [certifications] leaver_grace_days ago (leaver_replace_days under leaver_rule = "enterprise").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from handlers.settings import CertificationSettings, KnowledgeSettings, level_of
from handlers.team.certificates import add_years
from storage.database import Database
from storage.team import certifications as certs
from storage.team import holds
from storage.team import people as people_store

Span = tuple[date, date]  # counts on day d when start <= d < end


@dataclass(frozen=True)
class Member:
    id: int
    name: str
    bound: bool = True
    left_on: date | None = None


@dataclass(frozen=True)
class Held:
    """One certificate; cert_id None for one that is only assumed (a what-if pass, a booked exam)."""

    cert_id: int | None
    person_id: int
    name: str
    start: date
    expires: date
    assumed: str = ""  # why it is there when it is not on record: "booked exam", "what if"


@dataclass
class Team:
    """Counting is cached per group; `add`, `drop` and `set_member` keep the caches right (change the team only
    through them)."""

    members: dict[int, Member]
    held: list[Held]
    settings: CertificationSettings
    _groups: dict[str, list[Held]] = field(default_factory=dict, repr=False)
    _spans: dict[str, dict[int, list[Span]]] = field(default_factory=dict, repr=False)
    _series: dict[tuple[str, date, date], list[tuple[date, int]]] = field(default_factory=dict, repr=False)

    def copy(self) -> Team:
        return Team(
            dict(self.members),
            list(self.held),
            self.settings,
            {g: list(v) for g, v in self._groups.items()},
            {g: dict(v) for g, v in self._spans.items()},
            dict(self._series),
        )

    def _touched(self, group: str, person_id: int) -> None:
        """The person's certificates of the group changed: recount them, and forget the group's series."""
        if group in self._spans:
            spans = self._person_spans(group, person_id)
            if spans:
                self._spans[group][person_id] = spans
            else:
                self._spans[group].pop(person_id, None)
        for key in [k for k in self._series if k[0] == group]:
            del self._series[key]

    def add(self, held: Held) -> None:
        self.held.append(held)
        for group in self.settings.groups_of(held.name):
            if group in self._groups:
                self._groups[group].append(held)
            self._touched(group, held.person_id)

    def drop(self, index: int) -> None:
        held = self.held.pop(index)
        for group in self.settings.groups_of(held.name):
            if group in self._groups:
                self._groups[group] = [h for h in self._groups[group] if h is not held]
            self._touched(group, held.person_id)

    def set_member(self, member: Member) -> None:
        self.members[member.id] = member
        for group, _patterns in self.settings.groups:
            self._touched(group, member.id)

    def name(self, person_id: int) -> str:
        return self.members[person_id].name

    def in_group(self, group: str) -> list[Held]:
        if group not in self._groups:
            self._groups[group] = [h for h in self.held if self.settings.in_group(group, h.name)]
        return self._groups[group]

    def window(self, person_id: int) -> Span | None:
        """The days a person's certificates can count at all: None when unbound."""
        member = self.members[person_id]
        if not member.bound:
            return None
        if member.left_on is None:
            return (date.min, date.max)
        return (date.min, member.left_on + timedelta(days=self.settings.counts_days()))

    def _person_spans(self, group: str, person_id: int) -> list[Span]:
        win = self.window(person_id)
        if win is None:
            return []
        found = [
            (max(h.start, win[0]), min(h.expires, win[1])) for h in self.in_group(group) if h.person_id == person_id
        ]
        return _merge([(s, e) for s, e in found if s < e])

    def spans(self, group: str) -> dict[int, list[Span]]:
        """person → the merged spans in which they count for the group (do not change what it returns)."""
        if group not in self._spans:
            out: dict[int, list[Span]] = {}
            for h in self.in_group(group):
                win = self.window(h.person_id)
                if win is None:
                    continue
                start, end = max(h.start, win[0]), min(h.expires, win[1])
                if start < end:
                    out.setdefault(h.person_id, []).append((start, end))
            self._spans[group] = {p: _merge(s) for p, s in out.items()}
        return self._spans[group]

    def holders(self, group: str, day: date) -> set[int]:
        return {p for p, spans in self.spans(group).items() if any(s <= day < e for s, e in spans)}

    def series(self, group: str, start: date, end: date) -> list[tuple[date, int]]:
        """The count of holders from `start` to `end` (inclusive) as steps: (first day, count), in order."""
        key = (group, start, end)
        if key not in self._series:
            self._series[key] = steps(self.spans(group), start, end)
        return self._series[key]


def _merge(spans: list[Span]) -> list[Span]:
    spans.sort()
    merged: list[Span] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def steps(spans: dict[int, list[Span]], start: date, end: date) -> list[tuple[date, int]]:
    delta: dict[date, int] = {}
    count = 0
    for person_spans in spans.values():
        for s, e in person_spans:
            if e <= start or s > end:
                continue
            if s <= start:
                count += 1
            else:
                delta[s] = delta.get(s, 0) + 1
            if e <= end:
                delta[e] = delta.get(e, 0) - 1
    out = [(start, count)]
    for day in sorted(delta):
        count += delta[day]
        if out[-1][0] == day:
            out[-1] = (day, count)
        elif out[-1][1] != count:
            out.append((day, count))
    return out


def load_team(db: Database, settings: CertificationSettings, *, booked: bool = False) -> Team:
    """Everyone and every certificate on record; with `booked`, each booked exam as a pass on its date."""
    members: dict[int, Member] = {}
    for p in people_store.list_people(db):
        members[int(p["id"])] = Member(int(p["id"]), str(p["name"]), bool(p.get("bound", 1)))
    held: list[Held] = []
    for c in certs.list_certifications(db):
        pid = int(c["person_id"])
        if c.get("left_on"):
            members[pid] = replace(members[pid], left_on=date.fromisoformat(str(c["left_on"])))
        held.append(Held(int(c["id"]), pid, str(c["name"]), date.min, date.fromisoformat(str(c["expires"]))))
    if booked:
        for cert_id, hold in holds.all_holds(db).items():
            if hold["kind"] != "booked":
                continue
            found = next((h for h in held if h.cert_id == cert_id), None)
            if found is not None:
                exam = date.fromisoformat(str(hold["until"]))
                years = settings.years_for(level_of(found.name))
                held.append(Held(None, found.person_id, found.name, exam, add_years(exam, years), "booked exam"))
    from storage.team import departures

    for pid, left in departures.open_departures(db).items():
        if pid in members:
            members[pid] = replace(members[pid], left_on=left)
    return Team(members, held, settings)


# ── requirements: everything that needs N certified people ──
@dataclass(frozen=True)
class Requirement:
    kind: str  # "KPI" | "competency" | "rebate" | "fund"
    key: str  # unique: "kpi:certified_architects", "competency:migration:cssa_expert"
    label: str
    group: str
    min: int | None = None
    max: int | None = None
    consequence: str = ""

    def passes(self, count: int) -> bool:
        return (self.min is None or count >= self.min) and (self.max is None or count <= self.max)

    @property
    def needed(self) -> str:
        low = [f"≥ {self.min}"] if self.min is not None else []
        parts = low + ([f"≤ {self.max}"] if self.max is not None else [])
        return " and ".join(parts)


RequirementSource = Callable[[KnowledgeSettings], list[Requirement]]


def _kpis(k: KnowledgeSettings) -> list[Requirement]:
    return [
        Requirement(
            "KPI",
            f"kpi:{kpi.id}",
            kpi.label,
            kpi.certified,
            None if kpi.min is None else int(kpi.min),
            None if kpi.max is None else int(kpi.max),
            f"renewal KPI missed: {kpi.consequence}" if kpi.consequence else "renewal KPI missed",
        )
        for kpi in k.renewal.kpis
        if kpi.certified
    ]


def _competencies(k: KnowledgeSettings) -> list[Requirement]:
    return [
        Requirement(
            "competency",
            f"competency:{c.id}:{group}",
            f"{c.name}: {group.replace('_', ' ')}",
            group,
            n,
            None,
            c.consequence or f"competency {c.name} lost",
        )
        for c in k.competencies
        for group, n in c.requires
    ]


def _rebates(k: KnowledgeSettings) -> list[Requirement]:
    return [
        Requirement(
            "rebate",
            f"rebate:{r.id}:{group}",
            f"{r.name}: certified {group.replace('_', ' ')}",
            group,
            n,
            None,
            f"not eligible for {r.name}",
        )
        for r in k.rebates
        for group, n in r.min_certified
    ]


# Each feature that needs certified people adds its source here (funds: register a function returning
# Requirement(kind="fund", …) for each [[funds]] headcount rule, and what-if, coverage and the plan cover it).
REQUIREMENT_SOURCES: list[RequirementSource] = [_kpis, _competencies, _rebates]


def requirements(k: KnowledgeSettings) -> list[Requirement]:
    return [r for source in REQUIREMENT_SOURCES for r in source(k)]


@dataclass(frozen=True)
class Standing:
    """A requirement over a period: the count at its start, and the first day it fails (None: never)."""

    count: int
    fails_on: date | None
    count_then: int  # the count on fails_on (or at the end)
    recovers_on: date | None = None
    steps: tuple[tuple[date, int], ...] = ()  # the whole count, as (first day, count) steps

    def count_on(self, day: date) -> int:
        return next((c for d, c in reversed(self.steps) if d <= day), self.count)


def standing(team: Team, req: Requirement, start: date, end: date) -> Standing:
    series = team.series(req.group, start, end)
    for i, (day, count) in enumerate(series):
        if not req.passes(count):
            back = next((d for d, c in series[i + 1 :] if req.passes(c)), None)
            return Standing(series[0][1], day, count, back, tuple(series))
    return Standing(series[0][1], None, series[-1][1], None, tuple(series))


def unbound_holders(team: Team, groups: list[str], day: date) -> list[tuple[int, list[str]]]:
    """People whose certificates of these groups would count on `day` once their HUAWEI ID is bound."""
    out: dict[int, list[str]] = {}
    for h in team.held:
        m = team.members[h.person_id]
        if m.bound or h.assumed or not (h.start <= day < h.expires):
            continue
        if m.left_on is not None and day >= m.left_on:
            continue
        if any(team.settings.in_group(g, h.name) for g in groups) or not groups:
            out.setdefault(h.person_id, []).append(h.name)
    return sorted(out.items(), key=lambda item: team.name(item[0]))
