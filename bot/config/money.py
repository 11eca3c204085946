"""Validation of the money sections: [calendar] (working days), [mdf], [settlements] and [[funds]].
Every problem names the file, the key and the fix."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, cast

from bot.config.validation import ConfigError, Table
from handlers.money.settings import (
    DEFAULT_FUNDS,
    DEFAULT_RULES,
    EvidenceItem,
    Fund,
    FundItem,
    MdfRule,
    MdfSettings,
    MoneySettings,
    Quota,
    SettlementSettings,
)
from handlers.workdays import DAY_TYPES, CalendarSettings, Whose, supported


def parse_calendar(file: str, data: Any) -> CalendarSettings:
    """[calendar] country = "ID", subdivision = "JK" (optional), huawei = "CN"; codes python-holidays knows."""
    t = Table(file, "calendar", data)
    defaults = CalendarSettings()
    if not t.data:
        return defaults  # no [calendar]: the defaults, without loading the holiday library at start-up
    known = supported()
    country = t.get("country", str, defaults.country).strip().upper()
    huawei = t.get("huawei", str, defaults.huawei).strip().upper()
    for key, code in (("country", country), ("huawei", huawei)):
        if code not in known:
            raise ConfigError(
                t.key(key),
                f"{code!r} is not a country code the holiday calendar knows",
                'use a two-letter ISO 3166 code, e.g. "ID", "SA", "MY", "CN"',
            )
    subdivision = t.get("subdivision", str, "").strip() or None
    if subdivision is not None:
        subs = known[country]
        match = next((s for s in subs if s.casefold() == subdivision.casefold()), None)
        if match is None:
            shown = ", ".join(subs[:30]) + (" …" if len(subs) > 30 else "") if subs else "none"
            raise ConfigError(
                t.key("subdivision"), f"{country} has no subdivision {subdivision!r}", f"use one of: {shown}"
            )
        subdivision = match
    t.done()
    return CalendarSettings(country, subdivision, huawei)


_ID = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_PERIOD = re.compile(r"^\d{4}(?:-Q[1-4])?$")
_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def _id(t: Table, key: str, value: str) -> str:
    if not _ID.match(value):
        raise ConfigError(t.key(key), f"{value!r} is not a valid id", "use lowercase letters, digits, '_' or '-'")
    return value


def _offsets(t: Table, key: str, default: tuple[int, ...]) -> tuple[int, ...]:
    days = t.get(key, list, list(default))
    if not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 60 for d in days):
        raise ConfigError(t.key(key), f"{days!r} is not a list of working-day counts", "write e.g. [5, 2, 0]")
    return tuple(sorted(set(days), reverse=True))


def _days(t: Table, key: str, default: int, top: int = 365) -> int:
    value = t.get(key, int, default)
    if not 0 < value <= top:
        raise ConfigError(t.key(key), f"{value} is out of range", f"use 1 to {top}")
    return value


def _user(t: Table, key: str) -> str:
    value = t.get(key, str, "").strip()
    if value and not _SLACK_ID.match(value):
        raise ConfigError(t.key(key), f"{value!r} is not a Slack user ID", "write the ID, e.g. U0123ABC")
    return value


def _rules(file: str, data: Any) -> tuple[MdfRule, ...]:
    t = Table(file, "mdf.rules", data)
    rules = {r.id: r for r in DEFAULT_RULES}
    for rule_id in list(t.data):
        if rule_id not in rules:
            raise ConfigError(t.key(rule_id), "unknown MDF rule", f"the rules are: {', '.join(rules)}")
        r = Table(file, f"mdf.rules.{rule_id}", t.get(rule_id, dict, {}))
        old = rules[rule_id]
        days = _days(r, "days", abs(old.days))
        day_type = r.get("day_type", str, old.day_type)
        if day_type not in DAY_TYPES:
            raise ConfigError(r.key("day_type"), f"{day_type!r} is not a day type", 'use "working" or "calendar"')
        whose = r.get("whose", str, old.whose)
        if whose not in ("partner", "huawei"):
            raise ConfigError(
                r.key("whose"), f"{whose!r} is neither", 'use "partner" (earlier date) or "huawei" (later)'
            )
        source = r.get("source", str, old.source).strip()
        if not source:
            raise ConfigError(r.key("source"), "is empty", "name the page the rule was read from")
        rules[rule_id] = replace(
            old,
            days=-days if old.days < 0 else days,
            day_type=day_type,
            whose=cast(Whose, whose),
            source=source,
            label=r.get("label", str, old.label),
        )
        r.done()
    t.done()
    return tuple(rules.values())


def parse_mdf(file: str, data: Any) -> MdfSettings:
    t = Table(file, "mdf", data)
    defaults = MdfSettings()
    if not t.data:
        return defaults
    currency = t.get("currency", str, defaults.currency).strip().upper()
    if not re.match(r"^[A-Z]{3}$", currency):
        raise ConfigError(t.key("currency"), f"{currency!r} is not a currency code", 'write e.g. "USD" or "IDR"')
    quotas = []
    raw_quotas = t.get("quota", list, [])
    for i, raw in enumerate(raw_quotas):
        q = Table(file, f"mdf.quota[{i}]", raw)
        period = str(q.need("period", str, 'write period = "2027" or "2027-Q1"')).strip()
        if not _PERIOD.match(period):
            raise ConfigError(q.key("period"), f"{period!r} is not a year or quarter", 'write "2027" or "2027-Q1"')
        amount = q.need("amount", float, "write amount = 50000")
        if amount <= 0:
            raise ConfigError(q.key("amount"), "must be more than zero", "write amount = 50000")
        code = q.get("currency", str, currency).strip().upper()
        if not re.match(r"^[A-Z]{3}$", code):
            raise ConfigError(q.key("currency"), f"{code!r} is not a currency code", 'write e.g. "USD"')
        quotas.append(Quota(period, float(amount), code))
        q.done()
    evidence = list(defaults.evidence)
    raw_items = t.get("evidence", list, [])
    if raw_items:
        evidence = []
        for i, raw in enumerate(raw_items):
            e = Table(file, f"mdf.evidence[{i}]", raw)
            item_id = _id(e, "id", e.need("id", str, 'give it an id such as "photos"'))
            evidence.append(EvidenceItem(item_id, e.need("label", str, 'write label = "Photos of the event"')))
            e.done()
    warnings = t.strings("warnings") or defaults.warnings
    settings = MdfSettings(
        rules=_rules(file, t.get("rules", dict, {})),
        evidence=tuple(evidence),
        warnings=warnings,
        currency=currency,
        quotas=tuple(quotas),
        remind_before=_offsets(t, "remind_before", defaults.remind_before),
    )
    t.done()
    return settings


def parse_settlements(file: str, data: Any) -> SettlementSettings:
    t = Table(file, "settlements", data)
    d = SettlementSettings()
    if not t.data:
        return d
    settings = SettlementSettings(
        statement_days=_days(t, "statement_days", d.statement_days, 60),
        confirm_days=_days(t, "confirm_days", d.confirm_days, 60),
        invoice_days=_days(t, "invoice_days", d.invoice_days, 60),
        payment_days=_days(t, "payment_days", d.payment_days),
        remind_before=_offsets(t, "remind_before", d.remind_before),
        finance_owner=_user(t, "finance_owner"),
        periods_shown=_days(t, "periods_shown", d.periods_shown, 24),
        source=t.get("source", str, d.source),
        autoconfirm_source=t.get("autoconfirm_source", str, d.autoconfirm_source),
    )
    t.done()
    return settings


def parse_funds(file: str, data: Any) -> tuple[Fund, ...]:
    if data is None:
        return DEFAULT_FUNDS
    if not isinstance(data, list):
        raise ConfigError(f"{file}: funds", "expected [[funds]] tables", "write each fund as [[funds]]")
    funds: list[Fund] = []
    for i, raw in enumerate(data):
        t = Table(file, f"funds[{i}]", raw)
        fund_id = _id(t, "id", t.need("id", str, 'give it a short id such as "innovation"'))
        if any(f.id == fund_id for f in funds):
            raise ConfigError(t.key("id"), f"duplicate fund id {fund_id!r}", "give each fund its own id")
        items = []
        for j, item_raw in enumerate(t.get("requirements", list, [])):
            r = Table(file, f"funds[{i}].requirements[{j}]", item_raw)
            item_id = _id(r, "id", r.need("id", str, 'give it an id such as "references"'))
            count = r.get("count", int, 1)
            if not 1 <= count <= 100:
                raise ConfigError(r.key("count"), f"{count} is out of range", "use 1 to 100")
            items.append(FundItem(item_id, r.get("label", str, item_id.replace("_", " ").capitalize()), count))
            r.done()
        if not items:
            raise ConfigError(
                t.key("requirements"), "a fund needs requirements", 'add [[funds.requirements]] id = "demo", count = 1'
            )
        funds.append(Fund(fund_id, t.get("name", str, fund_id), tuple(items), t.get("source", str, "")))
        t.done()
    return tuple(funds)


def parse_money(file: str, sections: Mapping[str, Any]) -> MoneySettings:
    return MoneySettings(
        mdf=parse_mdf(file, sections.get("mdf", {})),
        settlements=parse_settlements(file, sections.get("settlements", {})),
        funds=parse_funds(file, sections.get("funds")),
    )
