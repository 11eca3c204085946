"""Validation of the partner-knowledge sections: [renewal], [[rebates]], [certifications], [reminders],
[dealreg], [glossary], [metrics]. Every problem names the file, the key and the fix, as bot/config/loading.py does."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from typing import Any

from bot.config.deals import parse_deals
from bot.config.money import parse_calendar, parse_money
from bot.config.validation import ConfigError, Table
from handlers.settings import (
    DEFAULT_METRICS,
    LEVELS,
    CertificationSettings,
    Competency,
    DealRegSettings,
    KnowledgeSettings,
    Kpi,
    MetricDef,
    Rebate,
    ReminderSettings,
    RenewalSettings,
)
from watchers.facts.follow import Follow, check_pattern

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def parse_knowledge(
    file: str, sections: Mapping[str, Any], status_expires: date | None, source_ids: Sequence[str]
) -> KnowledgeSettings:
    """All seven sections, each optional; absent ones keep the defaults in handlers/settings.py."""
    metrics = _metrics(file, sections.get("metrics", {}))
    certifications = _certifications(file, sections.get("certifications", {}))
    groups = [name for name, _ in certifications.groups]
    renewal = _renewal(file, sections.get("renewal", {}), status_expires, groups, source_ids)
    rebates = _rebates(file, sections.get("rebates", []), source_ids, groups, renewal)
    # A metric named by a KPI or a rebate but not described in [metrics] still works, labelled by its name.
    known = {m.name for m in metrics}
    named = [k.metric for k in renewal.kpis if k.metric]
    for rebate in rebates:
        named += [name for name, _ in (*rebate.min_metrics, *rebate.max_metrics)]
        if rebate.no_overdue_bills:
            named.append("overdue_bills")
    extra = tuple(MetricDef(n, n.replace("_", " ").capitalize()) for n in dict.fromkeys(named) if n not in known)
    competencies = _competencies(file, sections.get("competencies", []), groups)
    return KnowledgeSettings(
        competencies=competencies,
        renewal=renewal,
        rebates=rebates,
        certifications=certifications,
        reminders=_reminders(file, sections.get("reminders", {})),
        dealreg=_dealreg(file, sections.get("dealreg", {})),
        deals=parse_deals(file, sections.get("deals", {})),
        glossary=_glossary(file, sections.get("glossary", {})),
        metrics=metrics + extra,
        calendar=parse_calendar(file, sections.get("calendar", {})),
        money=parse_money(file, sections),
    )


def _name(t: Table, key: str, value: str, what: str) -> str:
    if not _NAME.match(value):
        raise ConfigError(
            t.key(key),
            f"{value!r} is not a valid {what} name",
            "use lowercase letters, digits and '_', starting with a letter (e.g. cloud_growth)",
        )
    return value


def _number(t: Table, name: str) -> float | None:
    value = t.get(name, float, None)
    return None if value is None else float(value)


def _metrics(file: str, data: Any) -> tuple[MetricDef, ...]:
    t = Table(file, "metrics", data)
    defined = {m.name: m for m in DEFAULT_METRICS}
    for name in list(t.data):
        _name(t, name, name, "metric")
        value = t.get(name, object, None)
        if isinstance(value, str):
            defined[name] = MetricDef(name, value)
        elif isinstance(value, dict):
            m = Table(file, f"metrics.{name}", value)
            defined[name] = MetricDef(name, m.get("label", str, name), m.get("unit", str, ""))
            m.done()
        else:
            raise ConfigError(
                t.key(name),
                f"expected a label or a table, found {value!r}",
                f'write {name} = {{ label = "…", unit = "%" }}',
            )
    t.done()
    return tuple(defined.values())


def _certifications(file: str, data: Any) -> CertificationSettings:
    t = Table(file, "certifications", data)
    defaults = CertificationSettings()
    years = t.get("validity_years", int, defaults.validity_years)
    if not 1 <= years <= 10:
        raise ConfigError(t.key("validity_years"), f"{years} is not a plausible validity", "use 1 to 10 (years)")
    by_level_table = Table(file, "certifications.validity_by_level", t.get("validity_by_level", dict, {}))
    by_level = []
    for level in list(by_level_table.data):
        if level.upper() not in (*LEVELS, "OTHER"):
            raise ConfigError(
                by_level_table.key(level), "unknown certification level", f"use one of: {', '.join(LEVELS)}, other"
            )
        value = by_level_table.get(level, int, 3)
        if not 1 <= value <= 10:
            raise ConfigError(by_level_table.key(level), f"{value} is not a plausible validity", "use 1 to 10")
        by_level.append((level.upper() if level.upper() != "OTHER" else "other", value))
    groups = dict(defaults.groups)
    groups_table = Table(file, "certifications.groups", t.get("groups", dict, {}))
    for name in list(groups_table.data):
        _name(groups_table, name, name, "group")
        patterns = groups_table.strings(name)
        if not patterns:
            raise ConfigError(
                groups_table.key(name), "is empty", 'list the certifications that count, e.g. ["HCIE-Cloud*", "HCCDE*"]'
            )
        groups[name] = patterns
    grace = t.get("leaver_grace_days", int, defaults.leaver_grace_days)
    if not 0 <= grace <= 365:
        raise ConfigError(t.key("leaver_grace_days"), f"{grace} is out of range", "use 0 to 365 (days); 0 = none")
    rule = t.get("leaver_rule", str, defaults.leaver_rule).strip().lower()
    if rule not in ("drop", "enterprise"):
        raise ConfigError(
            t.key("leaver_rule"),
            f"{rule!r} is not a leaver rule",
            'use "drop" (certificates stop counting after leaver_grace_days) or "enterprise" (report within '
            "leaver_report_days, replace within leaver_replace_days)",
        )
    report = t.get("leaver_report_days", int, defaults.leaver_report_days)
    replace = t.get("leaver_replace_days", int, defaults.leaver_replace_days)
    for key, value in (("leaver_report_days", report), ("leaver_replace_days", replace)):
        if not 1 <= value <= 365:
            raise ConfigError(t.key(key), f"{value} is out of range", "use 1 to 365 (days)")
    if replace < report:
        raise ConfigError(t.key("leaver_replace_days"), "is shorter than leaver_report_days", "use e.g. 30 and 90")
    t.done()
    return CertificationSettings(years, tuple(by_level), tuple(groups.items()), grace, rule, report, replace)


def _competencies(file: str, data: Any, groups: list[str]) -> tuple[Competency, ...]:
    if not isinstance(data, list):
        raise ConfigError(
            f"{file}: competencies", "expected [[competencies]] tables", "write each competency as [[competencies]]"
        )
    out: list[Competency] = []
    for i, raw in enumerate(data):
        t = Table(file, f"competencies[{i}]", raw)
        comp_id = _name(t, "id", t.need("id", str, 'give it an id such as "cloud_migration"'), "competency")
        if any(c.id == comp_id for c in out):
            raise ConfigError(t.key("id"), f"duplicate competency id {comp_id!r}", "give each competency its own id")
        requires = _pairs(file, f"competencies[{i}].requires", t.need("requires", dict, _REQUIRES_FIX), int)
        if not requires:
            raise ConfigError(t.key("requires"), "is empty", _REQUIRES_FIX)
        for group, count in requires:
            if group not in groups:
                raise ConfigError(
                    f"{t.key('requires')}.{group}",
                    f"no certification group {group!r}",
                    f"use one of: {', '.join(groups)}, or define it under [certifications.groups]",
                )
            if not 1 <= count <= 1000:
                raise ConfigError(f"{t.key('requires')}.{group}", f"{count} people is not plausible", "use 1 or more")
        out.append(
            Competency(
                comp_id,
                t.get("name", str, comp_id.replace("_", " ").capitalize()),
                requires,
                t.get("source", str, "") or None,
                t.get("consequence", str, ""),
            )
        )
        t.done()
    return tuple(out)


_REQUIRES_FIX = "write requires = { cssa_professional = 2, cssa_expert = 1 } (certification group = people needed)"


def _kpi(
    file: str, where: str, data: Any, default_consequence: str, groups: list[str], source_ids: Sequence[str] = ()
) -> Kpi:
    t = Table(file, where, data)
    kpi_id = _name(t, "id", t.need("id", str, 'give it an id such as "cloud_growth"'), "KPI")
    metric = t.get("metric", str, "") or None
    certified = t.get("certified", str, "") or None
    if (metric is None) == (certified is None):
        raise ConfigError(
            t.key("metric"),
            "a KPI needs exactly one of metric or certified",
            'metric = "cloud_growth" (set with /whisperer metric set) or certified = "architects" (counted)',
        )
    if metric:
        _name(t, "metric", metric, "metric")
    if certified and certified not in groups:
        raise ConfigError(
            t.key("certified"),
            f"no certification group {certified!r}",
            f"use one of: {', '.join(groups)}, or define it under [certifications.groups]",
        )
    low, high = _number(t, "min"), _number(t, "max")
    if low is None and high is None:
        raise ConfigError(t.key("min"), "a KPI needs a threshold", "set min = 25 (at least) or max = 0 (at most)")
    warn = _number(t, "warn_within")
    follow = _follow(file, t, t.get("follow", dict, {}), source_ids) if "follow" in t.data else None
    kpi = Kpi(
        id=kpi_id,
        label=t.get("label", str, kpi_id.replace("_", " ").capitalize()),
        metric=metric,
        certified=certified,
        min=low,
        max=high,
        unit=t.get("unit", str, ""),
        consequence=t.get("consequence", str, default_consequence),
        warn_within=warn,
        follow=follow,
    )
    t.done()
    return kpi


def _follow(file: str, owner: Table, data: Any, source_ids: Sequence[str]) -> Follow:
    """follow = { source = "cross-cloud-policy", pattern = 'at least (\\d+)% year on year' }"""
    t = Table(file, owner.key("follow").split(": ", 1)[-1], data)
    source = t.need("source", str, "name the [[sources]] id of the page that sets this threshold")
    if source not in source_ids:
        raise ConfigError(t.key("source"), f"no source has id {source!r}", f"use one of: {', '.join(source_ids)}")
    pattern = t.need("pattern", str, "a regular expression whose first group is the number, e.g. 'at least (\\d+)%'")
    problem = check_pattern(pattern)
    if problem:
        raise ConfigError(t.key("pattern"), problem, "write it as 'at least (\\d+)% year on year' (single quotes)")
    t.done()
    return Follow(source, pattern)


def _renewal(
    file: str, data: Any, status_expires: date | None, groups: list[str], source_ids: Sequence[str] = ()
) -> RenewalSettings:
    t = Table(file, "renewal", data)
    defaults = RenewalSettings()
    day = _date(t, "date") or status_expires
    consequence = t.get("consequence", str, defaults.consequence)
    raw = t.get("kpis", list, [])
    kpis = tuple(_kpi(file, f"renewal.kpis[{i}]", k, consequence, groups, source_ids) for i, k in enumerate(raw))
    if not raw:
        kpis = tuple(
            Kpi(k.id, k.label, k.metric, k.certified, k.min, k.max, k.unit, consequence, k.warn_within)
            for k in defaults.kpis
        )
    ids = [k.id for k in kpis]
    for i, kpi_id in enumerate(ids):
        if kpi_id in ids[:i]:
            raise ConfigError(f"{file}: renewal.kpis[{i}].id", f"duplicate KPI id {kpi_id!r}", "give each its own id")
    t.done()
    return RenewalSettings(day, consequence, kpis)


def _date(t: Table, name: str) -> date | None:
    value = t.get(name, date, None)
    if isinstance(value, datetime):
        raise ConfigError(t.key(name), "expected a date, found a date and time", "write just the date: 2027-03-31")
    return value


def _pairs(file: str, where: str, data: Any, kind: type[float] | type[int]) -> tuple[tuple[str, Any], ...]:
    t = Table(file, where, data)
    out = []
    for name in list(t.data):
        _name(t, name, name, "metric" if kind is float else "group")
        value = t.get(name, kind, 0)
        out.append((name, kind(value)))
    t.done()
    return tuple(out)


def _criteria(
    file: str, where: str, data: Any, source_ids: Sequence[str], renewal: RenewalSettings
) -> tuple[tuple[tuple[str, float], ...], list[tuple[str, Follow]]]:
    """min_metrics / max_metrics: { name = 30 }, or { name = { value = 30, follow = {…} } }, or
    { name = { follow = "renewal" } } to share the renewal KPI's followed threshold (one number, not two)."""
    t = Table(file, where, data)
    pairs: list[tuple[str, float]] = []
    follows: list[tuple[str, Follow]] = []
    for name in list(t.data):
        _name(t, name, name, "metric")
        raw = t.get(name, object, 0)
        if not isinstance(raw, dict):
            pairs.append((name, float(t.get(name, float, 0))))
            continue
        c = Table(file, f"{where}.{name}", raw)
        shared = c.get("follow", object, None)
        if shared == "renewal":
            kpi = next((k for k in renewal.kpis if k.metric == name and k.follow), None)
            if kpi is None:
                raise ConfigError(
                    c.key("follow"),
                    f"no [[renewal.kpis]] entry on metric {name!r} has a follow",
                    f"add follow = {{ source = …, pattern = … }} to the KPI on {name}, or give one here",
                )
            follows.append((name, kpi.follow))  # type: ignore[arg-type]  # checked just above
            fallback = kpi.min if kpi.min is not None else kpi.max
        elif isinstance(shared, dict):
            follows.append((name, _follow(file, c, shared, source_ids)))
            fallback = None
        elif shared is not None:
            raise ConfigError(
                c.key("follow"), f'expected a table or "renewal", found {shared!r}', 'write follow = "renewal"'
            )
        else:
            fallback = None
        value = _number(c, "value")
        if value is None:
            value = fallback
        if value is None:
            raise ConfigError(c.key("value"), "needs a number to use until the page is read", "set value = 25")
        pairs.append((name, value))
        c.done()
    t.done()
    return tuple(pairs), follows


def _rebates(
    file: str, data: Any, source_ids: Sequence[str], groups: list[str], renewal: RenewalSettings | None = None
) -> tuple[Rebate, ...]:
    renewal = renewal or RenewalSettings()
    if not isinstance(data, list):
        raise ConfigError(f"{file}: rebates", "expected [[rebates]] tables", "write each programme as [[rebates]]")
    rebates: list[Rebate] = []
    for i, raw in enumerate(data):
        t = Table(file, f"rebates[{i}]", raw)
        rebate_id = t.need("id", str, 'give it a short id such as "cross-cloud"')
        if not re.match(r"^[a-z0-9][a-z0-9._-]{0,63}$", rebate_id):
            raise ConfigError(t.key("id"), f"{rebate_id!r} is not a valid id", "use lowercase letters, digits, '-'")
        if any(r.id == rebate_id for r in rebates):
            raise ConfigError(t.key("id"), f"duplicate rebate id {rebate_id!r}", "give each programme its own id")
        source = t.get("source", str, "") or None
        if source and source not in source_ids:
            raise ConfigError(
                t.key("source"),
                f"no source has id {source!r}",
                "name the [[sources]] id the rules were read from, so changes to it flag the rules as stale",
            )
        min_certified = _pairs(file, f"rebates[{i}].min_certified", t.get("min_certified", dict, {}), int)
        for group, _count in min_certified:
            if group not in groups:
                raise ConfigError(
                    f"{t.key('min_certified')}.{group}",
                    f"no certification group {group!r}",
                    f"use one of: {', '.join(groups)}, or define it under [certifications.groups]",
                )
        at_least, follows = _criteria(
            file, f"rebates[{i}].min_metrics", t.get("min_metrics", dict, {}), source_ids, renewal
        )
        at_most, more = _criteria(
            file, f"rebates[{i}].max_metrics", t.get("max_metrics", dict, {}), source_ids, renewal
        )
        opens, closes = _date(t, "claim_opens"), _date(t, "claim_closes")
        if opens and closes and closes < opens:
            raise ConfigError(t.key("claim_closes"), "is before claim_opens", "swap the two dates")
        rebates.append(
            Rebate(
                id=rebate_id,
                name=t.get("name", str, rebate_id),
                source=source,
                min_tier=t.get("min_tier", str, "") or None,
                min_metrics=at_least,
                max_metrics=at_most,
                min_certified=min_certified,
                no_overdue_bills=t.get("no_overdue_bills", bool, False),
                claim_opens=opens,
                claim_closes=closes,
                notes=t.get("notes", str, ""),
                period=_period(t),
                finance_owner=_finance_owner(t),
                follows=tuple(follows + more),
            )
        )
        t.done()
    return tuple(rebates)


def _period(t: Table) -> str | None:
    period = t.get("period", str, "").strip().lower() or None
    if period is not None and period not in ("monthly", "quarterly", "yearly"):
        raise ConfigError(
            t.key("period"), f"{period!r} is not a settlement period", 'use "monthly", "quarterly" or "yearly"'
        )
    return period


def _finance_owner(t: Table) -> str:
    owner = t.get("finance_owner", str, "").strip()
    if owner and not re.match(r"^[UW][A-Z0-9]{2,}$", owner):
        raise ConfigError(t.key("finance_owner"), f"{owner!r} is not a Slack user ID", "write the ID, e.g. U0123ABC")
    return owner


def _clock(t: Table, name: str, value: Any) -> time:
    if isinstance(value, time):
        return value
    match = _CLOCK.match(str(value).strip())
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ConfigError(t.key(name), f"{value!r} is not a time of day", 'write it as "09:00"')
    return time(int(match.group(1)), int(match.group(2)))


def _weekday(t: Table, name: str, value: str) -> int:
    word = value.strip().lower()
    matches = [i for i, day in enumerate(_DAYS) if len(word) >= 3 and day.startswith(word)]
    if len(matches) != 1:
        raise ConfigError(t.key(name), f"{value!r} is not a day of the week", 'write "monday" (or "mon")')
    return matches[0]


def _reminders(file: str, data: Any) -> ReminderSettings:
    t = Table(file, "reminders", data)
    defaults = ReminderSettings()
    days = t.get("days_before", list, list(defaults.days_before))
    if not days or not all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 730 for d in days):
        raise ConfigError(
            t.key("days_before"), f"{days!r} is not a list of day counts", "write e.g. [90, 60, 30, 7, 1]"
        )
    hours = t.get("working_hours", str, "09:00-18:00")
    start_text, _, end_text = hours.partition("-")
    start = _clock(t, "working_hours", start_text or hours)
    end = _clock(t, "working_hours", end_text or hours)
    if end <= start:
        raise ConfigError(t.key("working_hours"), f"{hours!r} ends before it starts", 'write e.g. "09:00-18:00"')
    work_days = tuple(sorted({_weekday(t, "working_days", d) for d in t.strings("working_days")})) or (
        defaults.work_days
    )
    summary_text = t.get("weekly_summary", str, "monday")
    summary = (
        None if summary_text.strip().lower() in ("off", "none", "") else _weekday(t, "weekly_summary", summary_text)
    )
    final = t.get("final_notice_days", int, defaults.final_notice_days)
    if not 0 <= final <= 365:
        raise ConfigError(t.key("final_notice_days"), f"{final} is out of range", "use 0 to 365 (days)")
    t.done()
    return ReminderSettings(tuple(sorted(set(days), reverse=True)), start, end, work_days, summary, final)


def _dealreg(file: str, data: Any) -> DealRegSettings:
    t = Table(file, "dealreg", data)
    defaults = DealRegSettings()
    hours = t.get("hours_before", int, defaults.hours_before)
    if not 0 < hours <= 24 * 60:
        raise ConfigError(t.key("hours_before"), f"{hours} hours is not plausible", "use e.g. 72")
    rfp_time = _clock(t, "rfp_time", t.get("rfp_time", object, "00:00"))
    checklist = t.strings("checklist") or defaults.checklist
    t.done()
    return DealRegSettings(hours, rfp_time, checklist)


def _glossary(file: str, data: Any) -> tuple[tuple[str, str], ...]:
    t = Table(file, "glossary", data)
    terms = Table(file, "glossary.terms", t.get("terms", dict, {}))
    out = []
    for term in list(terms.data):
        meaning = terms.get(term, str, "")
        if not meaning.strip():
            raise ConfigError(terms.key(term), "has no meaning", f'write {term} = "what it means"')
        out.append((term, meaning.strip()))
    terms.done()
    t.done()
    return tuple(out)
