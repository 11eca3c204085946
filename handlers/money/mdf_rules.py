"""MDF arithmetic, pure: each request's open deadlines (counted by the working-days helper) and the quota."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from handlers.money.settings import COMMITTED, MdfRule, MdfSettings, Quota
from handlers.workdays import Calendars, Due
from storage.db import parse_stamp

Row = Mapping[str, Any]


@dataclass(frozen=True)
class MdfDeadline:
    request_id: int
    name: str
    owner: str | None
    rule: MdfRule
    anchor: date
    due: Due

    @property
    def key(self) -> str:
        return f"mdf:{self.request_id}:{self.rule.id}:{self.due.day}"

    def explain(self) -> str:
        """ "10 working days before the start on 2026-12-18, counted in the Indonesia (ID) calendar"."""
        span = f"{abs(self.rule.days)} {'working ' if self.rule.day_type == 'working' else ''}day"
        span += "s" if abs(self.rule.days) != 1 else ""
        where = {"start": "the start", "end": "the end"}.get(self.rule.anchor, f"it was {self.rule.anchor}")
        text = f"{span} {'before' if self.rule.days < 0 else 'after'} {where} on {self.anchor}"
        if self.rule.day_type == "working":
            text += f", counted in {'the ' if self.due.calendar != 'both calendars' else ''}{self.due.calendar}"
            if self.due.provisional:
                text += " (provisional: the holiday calendar does not know that year yet)"
        return text


def anchor_day(row: Row, rule: MdfRule, tz: tzinfo, entered: Mapping[str, str] | None = None) -> date | None:
    if rule.anchor == "start":
        return date.fromisoformat(row["start"])
    if rule.anchor == "end":
        return date.fromisoformat(row["end"])
    if rule.anchor == row["state"]:
        return parse_stamp(row["state_at"]).astimezone(tz).date()
    when = (entered or {}).get(rule.anchor)
    return parse_stamp(when).astimezone(tz).date() if when else None


def request_deadlines(
    row: Row,
    settings: MdfSettings,
    calendars: Calendars,
    tz: tzinfo,
    ticked: Iterable[str] = (),
    entered: Mapping[str, str] | None = None,
) -> list[MdfDeadline]:
    """The rules still to do for this request in its current state, soonest first."""
    done = set(ticked)
    found = []
    for rule in settings.rules:
        if row["state"] not in rule.open_in or (rule.closed_by and rule.closed_by in done):
            continue
        anchor = anchor_day(row, rule, tz, entered)
        if anchor is None:
            continue
        due = calendars.due(anchor, rule.days, rule.day_type, rule.whose)
        found.append(MdfDeadline(int(row["id"]), str(row["name"]), row["owner"], rule, anchor, due))
    return sorted(found, key=lambda d: d.due.day)


def in_period(day: date, period: str) -> bool:
    """2027 or 2027-Q1."""
    year, _, quarter = period.partition("-Q")
    if day.year != int(year):
        return False
    return not quarter or (day.month - 1) // 3 + 1 == int(quarter)


@dataclass(frozen=True)
class QuotaUse:
    quota: Quota
    committed: float
    claimed: float
    reimbursed: float
    other_currency: int  # requests in the period in another currency (not counted)
    no_amount: int

    @property
    def remaining(self) -> float:
        return self.quota.amount - self.committed - self.claimed - self.reimbursed


def quota_use(quota: Quota, rows: Iterable[Row]) -> QuotaUse:
    committed = claimed = reimbursed = 0.0
    other = missing = 0
    for row in rows:
        if not in_period(date.fromisoformat(row["start"]), quota.period) or row["state"] in ("planned", "rejected"):
            continue
        if row["amount"] is None:
            missing += 1
            continue
        if (row["currency"] or "").upper() != quota.currency.upper():
            other += 1
            continue
        amount = float(row["amount"])
        if row["state"] in COMMITTED:
            committed += amount
        elif row["state"] == "claimed":
            claimed += amount
        elif row["state"] == "reimbursed":
            reimbursed += amount
    return QuotaUse(quota, committed, claimed, reimbursed, other, missing)


def money(amount: float | None, currency: str | None) -> str:
    if amount is None:
        return "no amount"
    return f"{amount:,.2f}".removesuffix(".00") + (f" {currency}" if currency else "")


def local_day(stamp: str, tz: tzinfo) -> date:
    return parse_stamp(stamp).astimezone(tz).date()


def when_text(stamp: str, tz: tzinfo) -> str:
    moment: datetime = parse_stamp(stamp).astimezone(tz)
    return f"{moment:%Y-%m-%d %H:%M}"
