"""Partner-knowledge settings: the validated form of [renewal], [[rebates]], [certifications], [reminders],
[dealreg], [glossary] and [metrics]. The defaults are the seed's inferred values, not truths: every one can be
changed in whisperer.toml (bot/config/knowledge.py reads it)."""

from __future__ import annotations

import fnmatch
import functools
from dataclasses import dataclass, field
from datetime import date, time

from handlers.money.settings import MoneySettings
from handlers.workdays import Calendars, CalendarSettings
from watchers.facts.follow import Follow

LEVELS = ("HCIA", "HCIP", "HCIE", "HCCDA", "HCCDP", "HCCDE")


def level_of(certification: str) -> str:
    """HCIE-Cloud Service Solutions Architect → HCIE; anything unrecognised → other."""
    head = certification.strip().upper().split("-")[0].split(" ")[0]
    return head if head in LEVELS else "other"


@dataclass(frozen=True)
class MetricDef:
    """A number the team reports with `/whisperer metric set` (it is not on any public page)."""

    name: str
    label: str
    unit: str = ""

    def show(self, value: float | None) -> str:
        if value is None:
            return "not set"
        number = f"{value:g}"
        return f"{number}{self.unit}" if self.unit == "%" else f"{number} {self.unit}".strip()


@dataclass(frozen=True)
class Kpi:
    """One renewal KPI: a metric (or a certification count) against a minimum or a maximum."""

    id: str
    label: str
    metric: str | None = None  # value from /whisperer metric set …
    certified: str | None = None  # … or counted: people holding a certification of this group
    min: float | None = None
    max: float | None = None
    unit: str = ""
    consequence: str = ""
    warn_within: float | None = None  # met, but this close to the line: "at risk"
    follow: Follow | None = None  # the threshold (min, else max) is read from this page; the number is the fallback

    def passes(self, value: float) -> bool:
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    @property
    def needed(self) -> str:
        parts = []
        if self.min is not None:
            parts.append(f"≥ {_number(self.min)}{_unit(self.unit)}")
        if self.max is not None:
            parts.append(f"≤ {_number(self.max)}{_unit(self.unit)}")
        return " and ".join(parts) or "anything"


def _number(value: float) -> str:
    return f"{value:g}"


def _unit(unit: str) -> str:
    return unit if unit in ("%", "") else f" {unit}"


DEFAULT_CONSEQUENCE = "Provisional until Q3"
ARCHITECTS = "architects"

DEFAULT_METRICS = (
    MetricDef("cloud_growth", "Cloud consumption growth (YoY)", "%"),
    MetricDef("licence_escalations", "Licence-misuse escalations"),
    MetricDef("overdue_bills", "Overdue bills"),
)

DEFAULT_KPIS = (
    Kpi("cloud_growth", "Cloud consumption growth (YoY)", metric="cloud_growth", min=25, unit="%"),
    Kpi("certified_architects", "Certified architects", certified=ARCHITECTS, min=3),
    Kpi("licence_escalations", "Licence-misuse escalations", metric="licence_escalations", max=0),
)


@dataclass(frozen=True)
class RenewalSettings:
    date: date | None = None  # defaults to [partner] status_expires
    consequence: str = DEFAULT_CONSEQUENCE
    kpis: tuple[Kpi, ...] = DEFAULT_KPIS


@dataclass(frozen=True)
class Rebate:
    """A rebate programme's rules, as an admin read them from `source`."""

    id: str
    name: str
    source: str | None = None
    min_tier: str | None = None
    min_metrics: tuple[tuple[str, float], ...] = ()
    max_metrics: tuple[tuple[str, float], ...] = ()
    min_certified: tuple[tuple[str, int], ...] = ()
    no_overdue_bills: bool = False
    claim_opens: date | None = None
    claim_closes: date | None = None
    notes: str = ""
    period: str | None = None  # "monthly" | "quarterly" | "yearly": its settlements are tracked (settlements)
    finance_owner: str = ""  # Slack user ID reminded before auto-confirmation ([settlements] finance_owner else)
    # Criteria whose bound is read from a page: (metric, follow). "renewal" in the config shares the KPI's.
    follows: tuple[tuple[str, Follow], ...] = ()

    def follow_of(self, metric: str) -> Follow | None:
        return dict(self.follows).get(metric)


@dataclass(frozen=True)
class CertificationSettings:
    validity_years: int = 3
    validity_by_level: tuple[tuple[str, int], ...] = ()
    # Which certifications count for what; shell-style patterns, case-insensitive.
    groups: tuple[tuple[str, tuple[str, ...]], ...] = ((ARCHITECTS, ("HCIE-Cloud*", "HCIE-CSSA*", "HCCDE*")),)
    # Leavers. Huawei Cloud publishes no grace period: a leaver's certificates stop counting when they leave
    # (DOMAIN.md, People). "enterprise" is Huawei's enterprise-channel rule (e.huawei.com, apply-for-
    # specialization/renew): report the leaver within 30 days, a replacement passes within 90 — the leaver
    # counts until the replacement deadline.
    leaver_grace_days: int = 0
    leaver_rule: str = "drop"  # "drop" (after the grace days) | "enterprise"
    leaver_report_days: int = 30
    leaver_replace_days: int = 90

    def years_for(self, level: str) -> int:
        return dict(self.validity_by_level).get(level, self.validity_years)

    def patterns(self, group: str) -> tuple[str, ...]:
        return dict(self.groups).get(group, ())

    def describe(self, group: str) -> str:
        """ "HCIE-Cloud*", "HCCDE*" → "HCIE-Cloud… or HCCDE…" (no stars: they would read as emphasis)."""
        names = [p.replace("*", "…").replace("?", "_") for p in self.patterns(group)]
        return " or ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)

    def in_group(self, group: str, certification: str) -> bool:
        return _matches(self.patterns(group), certification)

    def groups_of(self, certification: str) -> list[str]:
        return [g for g, patterns in self.groups if _matches(patterns, certification)]

    def counts_days(self) -> int:
        """Days after the leaving day that a leaver's certificates still count."""
        return self.leaver_replace_days if self.leaver_rule == "enterprise" else self.leaver_grace_days


@functools.lru_cache(maxsize=65536)
def _matches(patterns: tuple[str, ...], certification: str) -> bool:
    name = certification.casefold()
    return any(fnmatch.fnmatchcase(name, p.casefold()) for p in patterns)


@dataclass(frozen=True)
class Competency:
    """A competency's people requirements: at least N holders of each certification group."""

    id: str
    name: str
    requires: tuple[tuple[str, int], ...]
    source: str | None = None  # the page the requirements were read from
    consequence: str = ""  # what losing it means


@dataclass(frozen=True)
class ReminderSettings:
    days_before: tuple[int, ...] = (90, 60, 30, 7, 1)  # descending
    work_start: time = time(9, 0)
    work_end: time = time(18, 0)
    work_days: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0
    weekly_summary: int | None = 0  # weekday of the channel summary; None turns it off
    final_notice_days: int = 30  # an expired certification gets its last DM only if it expired this recently

    @property
    def horizon(self) -> int:
        return max(self.days_before, default=90)


DEFAULT_CHECKLIST = (
    "A signed LOI from the prospect's CIO (not their IT manager)",
    "The deal aligns with the current quarterly GTM priorities",
)


# Where each opportunity rule comes from (DOMAIN.md, "Money and deadlines"): the Partner Center guide's Partner
# Customer Engagement pages (China site). None is baked in: [deals] changes every number.
PCE_SOURCE = "Partner Center guide, Partner Customer Engagement (China site)"


@dataclass(frozen=True)
class DealSettings:
    """[deals]: the opportunity ledger's clocks. Working days count in both calendars of [calendar]."""

    validation_days: int = 10  # Huawei validates a partner-originated opportunity or it is rejected by default
    validation_warn_days: int = 2  # warn this many working days before that
    accept_days: int = 3  # a Huawei-originated opportunity must be accepted within (working days)
    prereg_days: int = 15  # a customer pre-registration is exclusive for (calendar days)
    prereg_remind_days: int = 3  # remind this many days before a pre-registration lapses
    prereg_limit: int = 100  # pending pre-registrations Huawei allows at once
    prereg_warn: int = 90  # warn from this many
    source: str = PCE_SOURCE


@dataclass(frozen=True)
class DealRegSettings:
    hours_before: int = 72
    rfp_time: time = time(0, 0)  # when an RFP "released on 2027-01-15" is assumed to come out
    checklist: tuple[str, ...] = DEFAULT_CHECKLIST


@dataclass(frozen=True)
class KnowledgeSettings:
    renewal: RenewalSettings = field(default_factory=RenewalSettings)
    rebates: tuple[Rebate, ...] = ()
    certifications: CertificationSettings = field(default_factory=CertificationSettings)
    reminders: ReminderSettings = field(default_factory=ReminderSettings)
    dealreg: DealRegSettings = field(default_factory=DealRegSettings)
    deals: DealSettings = field(default_factory=DealSettings)  # [deals]: the opportunity ledger
    glossary: tuple[tuple[str, str], ...] = ()  # extra terms: (term, meaning)
    metrics: tuple[MetricDef, ...] = DEFAULT_METRICS
    competencies: tuple[Competency, ...] = ()
    calendar: CalendarSettings = field(default_factory=CalendarSettings)  # [calendar]: working days
    money: MoneySettings = field(default_factory=MoneySettings)  # [mdf], [settlements], [[funds]]

    @property
    def calendars(self) -> Calendars:
        """The partner's and Huawei's working-day calendars: every rule counting working days goes through it."""
        return Calendars(self.calendar)

    def metric(self, name: str) -> MetricDef | None:
        return next((m for m in self.metrics if m.name == name), None)

    def rebate(self, rebate_id: str) -> Rebate | None:
        return next((r for r in self.rebates if r.id == rebate_id), None)
