"""metric, renewal: the KPIs the partner status depends on, actual vs needed, and what the renewal date holds."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from handlers.programme.deadlines import when_left
from handlers.programme.metrics import metric_watches, sparkline, watch_def, zone_text
from handlers.programme.thresholds import kpi_in_force
from handlers.programme.tiers import day, partner_tier
from handlers.registry import Context, UsageError, admin_refusal, command, did_you_mean
from handlers.reply import Block, Heading, Inline, Mono, Reply, Strong, bullets, error, note, para, reply
from handlers.settings import CertificationSettings, Kpi, MetricDef
from handlers.team.certificates import first_name
from storage.database import Database
from storage.db import transaction
from storage.programme import metrics as store
from storage.team import certifications as certs

_VALUE = re.compile(r"^[-+]?\d+(?:[.,]\d+)?%?$")


@dataclass(frozen=True)
class Holder:
    person_id: int
    person: str
    certification: str
    expires: date
    leaves: date | None = None  # a leaver: the day their certificates stop counting


def certified_holders(db: Database, settings: CertificationSettings, group: str, on: date) -> dict[int, Holder]:
    """People who hold, on `on`, a certification of the group (the one that lasts longest, for each)."""
    holders: dict[int, Holder] = {}
    for cert in certs.list_certifications(db):
        expires = date.fromisoformat(cert["expires"])
        if expires <= on or not settings.in_group(group, cert["name"]) or not counts_on(cert, settings, on):
            continue
        person_id = int(cert["person_id"])
        if person_id not in holders or expires > holders[person_id].expires:
            left = cert.get("left_on")
            gone = date.fromisoformat(str(left)) + timedelta(days=settings.counts_days()) if left else None
            holders[person_id] = Holder(person_id, cert["person"], cert["name"], expires, gone)
    return holders


def counts_on(cert: Mapping[str, Any], settings: CertificationSettings, on: date) -> bool:
    """The holder is bound and has not left (or left within the grace days) on `on`."""
    if not cert.get("bound", 1):
        return False
    left = cert.get("left_on")
    return not left or on < date.fromisoformat(str(left)) + timedelta(days=settings.counts_days())


def number(value: float, unit: str = "") -> str:
    text = f"{value:g}"
    return f"{text}{unit}" if unit in ("%", "") else f"{text} {unit}"


def difference(value: float, unit: str = "") -> str:
    """A gap between two values: percentages differ by points, not by per cent."""
    return f"{value:g} percentage point{'s' if value != 1 else ''}" if unit == "%" else number(value, unit)


@dataclass(frozen=True)
class KpiResult:
    kpi: Kpi
    actual: float | None
    status: str  # "met" | "at risk" | "missed" | "unknown"
    why: str  # what makes it at risk or missed; the projection sentence
    fix: str  # what would close the gap


def evaluate_kpi(ctx: Context, kpi: Kpi, renewal: date | None) -> KpiResult:
    today = ctx.local_now.date()
    if kpi.certified:
        settings = ctx.knowledge.certifications
        now_holders = certified_holders(ctx.db, settings, kpi.certified, today)
        count = float(len(now_holders))
        who = settings.describe(kpi.certified)
        if not kpi.passes(count):
            short = int((kpi.min or 0) - count)
            return KpiResult(
                kpi, count, "missed", "", f"{short} more {'person' if short == 1 else 'people'} with {who}"
            )
        if renewal and renewal >= today:
            then = certified_holders(ctx.db, settings, kpi.certified, renewal)
            if not kpi.passes(float(len(then))):
                leaving = sorted((h for p, h in now_holders.items() if p not in then), key=lambda h: h.expires)
                lapses = " and ".join(
                    f"{first_name(h.person)} leaves (stops counting on {h.leaves})"
                    if h.leaves and h.leaves < h.expires
                    else f"{first_name(h.person)}'s {h.certification} expires on {h.expires}"
                    for h in leaving
                )
                bound = f"< {number(kpi.min)}" if kpi.min is not None else f"> {number(kpi.max or 0)}"
                why = (
                    f"{lapses}, before your renewal on {renewal}: {kpi.label.lower()} would drop to "
                    f"{len(then)} ({bound})"
                )
                names = " or ".join(
                    f"someone replaces {first_name(h.person)} before {h.leaves}"
                    if h.leaves and h.leaves < h.expires
                    else f"{first_name(h.person)} recertifies before {h.expires}"
                    for h in leaving
                )
                return KpiResult(kpi, count, "at risk", why, f"{names}, or one more person passes {who}")
        return KpiResult(kpi, count, "met", "", "")
    assert kpi.metric is not None
    row = store.current_metrics(ctx.db, ctx.now).get(kpi.metric)
    if row is None:
        return KpiResult(kpi, None, "unknown", f"record it with /whisperer metric set {kpi.metric} VALUE", "")
    value = float(row["value"])
    if not kpi.passes(value):
        if kpi.min is not None and value < kpi.min:
            fix = f"raise it by {difference(kpi.min - value, kpi.unit)} to {number(kpi.min, kpi.unit)}"
        else:
            fix = f"bring it down by {difference(value - (kpi.max or 0), kpi.unit)} to {number(kpi.max or 0, kpi.unit)}"
        return KpiResult(kpi, value, "missed", "", fix)
    if kpi.warn_within is not None:
        margins = [value - kpi.min if kpi.min is not None else None, kpi.max - value if kpi.max is not None else None]
        close = [m for m in margins if m is not None and m <= kpi.warn_within]
        if close:
            why = f"only {difference(min(close), kpi.unit)} from the line"
            return KpiResult(kpi, value, "at risk", why, "keep it moving the right way")
    return KpiResult(kpi, value, "met", "", "")


_MARK = {"met": "✅", "at risk": "⚠️", "missed": "❌", "unknown": "❔"}


@command(
    "renewal",
    "renewal",
    "Each renewal KPI: met, at risk or missed, actual vs needed, and what the renewal date holds.",
    "renewal",
    group="partner",
)
def renewal_command(ctx: Context, args: list[str]) -> Reply:
    if args:
        raise UsageError("renewal takes no arguments.")
    settings = ctx.knowledge.renewal
    renewal = settings.date
    today = ctx.local_now.date()
    tier = partner_tier(ctx)
    who = str(ctx.partner.get("name") or "Your company") + (f", {tier}" if tier else "")
    heading = f"Renewal on {renewal} ({when_left(renewal, today)}) — {who}" if renewal else f"Renewal — {who}"
    in_force = [kpi_in_force(ctx.db, kpi, ctx.now) for kpi in settings.kpis]
    results = [evaluate_kpi(ctx, kpi, renewal) for kpi, _ in in_force]
    items: list[tuple[Inline, ...]] = []
    for r, (original, found) in zip(results, in_force, strict=True):
        actual = "not set" if r.actual is None else number(r.actual, r.kpi.unit)
        line: list[Inline] = [
            f"{_MARK[r.status]} ",
            Strong(r.kpi.label),
            f": {actual} (needs {r.kpi.needed}) — {r.status}",
        ]
        if r.why:
            line.append(f": {r.why}")
        if r.fix:
            line.append(f". To close the gap: {r.fix}")
        if r.status == "missed" and r.kpi.consequence:
            line.append(f". Missing it means: {r.kpi.consequence}")
        line.append(".")
        configured = original.min if original.min is not None else (original.max or 0.0)
        if found.follow is not None:
            line.append(f" Threshold {found.provenance(ctx.tz, configured)}.")
        items.append(tuple(line))
    missed = [r for r in results if r.status == "missed"]
    risky = [r for r in results if r.status in ("at risk", "unknown")]
    if missed:
        verdict = f"{len(missed)} of {len(results)} KPIs missed. As things stand: {missed[0].kpi.consequence}."
    elif risky:
        verdict = f"On track today, but {len(risky)} KPI{'s are' if len(risky) != 1 else ' is'} at risk or unknown."
    else:
        verdict = "All KPIs met. Quietly renew, and tell nobody how easy it was."
    from handlers.team.plan_view import unbound_warning  # the people model builds on this module

    blocks: list[Block] = [Heading(heading), para(verdict), bullets(*items), *unbound_warning(ctx)]
    if renewal is None:
        blocks.append(note("No renewal date: set [partner] status_expires (or [renewal] date) in whisperer.toml."))
    elif renewal < today:
        blocks.append(note(f"The renewal date {renewal} has passed: update [partner] status_expires."))
    blocks.append(
        note(
            "Values come from ",
            Mono("/whisperer metric set NAME VALUE"),
            "; certification counts from ",
            Mono("/whisperer certs"),
            ".",
        )
    )
    return reply(*blocks)


def _parse_value(text: str) -> float | None:
    text = text.strip()
    if not _VALUE.match(text):
        return None
    return float(text.rstrip("%").replace(",", "."))


def _metric_def(ctx: Context, name: str) -> MetricDef | Reply:
    found = ctx.knowledge.metric(name)
    if found:
        return found
    watches = metric_watches(ctx.sources)
    if name.lower() in watches:  # read from a source by a [[sources.metrics]] watch
        return watch_def(watches[name.lower()][0])
    known = [m.name for m in ctx.knowledge.metrics] + [n for n in watches if ctx.knowledge.metric(n) is None]
    return error(
        f"I don't track a metric called '{name}'.",
        did_you_mean(name, known),
        f"Known: {', '.join(known)}. To track another, add it under [metrics] in whisperer.toml.",
    )


@command(
    "metric",
    "metric [NAME] | metric set NAME VALUE [NOTE]",
    "The numbers the KPIs and rebates use: list them, show one's history, or set one (admins).",
    "metric",
    "metric set cloud_growth 27 Q3 report",
    "metric cloud_growth",
    group="partner",
    aliases=("metrics",),
)
def metric_command(ctx: Context, args: list[str]) -> Reply:
    if args and args[0].lower() == "set":
        if not ctx.is_admin:
            return admin_refusal("set metrics")
        if len(args) < 3:
            raise UsageError("metric set needs a name and a value.")
        found = _metric_def(ctx, args[1])
        if isinstance(found, Reply):
            return found
        value = _parse_value(args[2])
        if value is None:
            raise UsageError(f"'{args[2]}' is not a number; write e.g. 27 or 27%.")
        text = " ".join(args[3:]).strip() or None
        with transaction(ctx.db):
            store.set_metric(ctx.db, found.name, value, ctx.now, ctx.user_id or "terminal", text)
        return reply(
            para(f"{found.label} is now ", Strong(found.show(value)), "."),
            note("History: ", Mono(f"/whisperer metric {found.name}"), " · effect: ", Mono("/whisperer renewal")),
        )
    current = store.current_metrics(ctx.db, ctx.now)
    if args:
        found = _metric_def(ctx, args[0])
        if isinstance(found, Reply):
            return found
        history = store.metric_history(ctx.db, found.name)
        if not history:
            return reply(
                Heading(found.label),
                para("Never set. Numbers nobody reports are numbers nobody can defend at renewal."),
                note("Set it with ", Mono(f"/whisperer metric set {found.name} VALUE"), "."),
            )
        watched = metric_watches(ctx.sources).get(found.name)
        trend: tuple[Block, ...] = ()
        if watched:  # read from a source: the trend and the zone say more than the list
            values = [float(h["value"]) for h in reversed(store.metric_history(ctx.db, found.name, 30))]
            zone = zone_text(watched[0], float(history[0]["value"]))
            trend = (
                para(
                    Strong(found.show(float(history[0]["value"]))),
                    f" {sparkline(values)} ",
                    zone,
                ),
                note("Read from ", Mono(watched[1]), f" on each poll; last {len(values)} readings, oldest first."),
            )
        return reply(
            Heading(f"{found.label} ({found.name})"),
            *trend,
            bullets(
                *(
                    (
                        Strong(found.show(float(h["value"]))),
                        f" — {day(h['set_at'], ctx.tz)} "
                        + (f"from {h['source_id']}" if h.get("source_id") else f"by {h['set_by'] or '?'}"),
                        f": {h['note']}" if h["note"] else "",
                    )
                    for h in history
                )
            ),
        )
    items: list[tuple[Inline, ...]] = []
    extra = [watch_def(w) for n, (w, _) in metric_watches(ctx.sources).items() if ctx.knowledge.metric(n) is None]
    for m in (*ctx.knowledge.metrics, *extra):
        row = current.get(m.name)
        shown = m.show(float(row["value"])) if row else "not set"
        since = f" (set {day(row['set_at'], ctx.tz)} by {row['set_by'] or '?'})" if row else ""
        items.append((Strong(m.label), f": {shown}{since} · ", Mono(m.name)))
    return reply(
        Heading("Metrics"),
        bullets(*items),
        note("Set one with ", Mono("/whisperer metric set NAME VALUE [NOTE]"), " (admins)."),
    )
