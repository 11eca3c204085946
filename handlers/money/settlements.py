"""settlements, settlement confirm|invoiced|paid PERIOD: each rebate period's settlement calendar and its steps.

For a period that has ended: Huawei opens the reconciliation within 5 working days of the next period; the
partner confirms within `confirm_days` working days or the statement is auto-confirmed at that deadline; the
partner invoices within 5 working days of confirmation; Huawei pays within 30 calendar days of the invoice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo

from handlers.money.mdf_rules import local_day
from handlers.money.settings import SettlementSettings
from handlers.programme.deadlines import Deadline, deadline_source
from handlers.registry import Context, UsageError, command, did_you_mean
from handlers.reply import (
    Action,
    Block,
    Heading,
    Inline,
    Link,
    Mono,
    Reply,
    Strong,
    actions,
    bullets,
    error,
    note,
    para,
    reply,
)
from handlers.settings import Rebate
from handlers.workdays import WEEKDAYS, Calendars, Due
from storage.db import transaction
from storage.programme import money as store

STEPS = ("confirm", "invoiced", "paid")
USAGE = "settlements | settlement confirm|invoiced|paid PERIOD [REBATE]"
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)
_YEAR = re.compile(r"^(\d{4})$")


@dataclass(frozen=True)
class Period:
    id: str
    start: date
    end: date


def _month_end(year: int, month: int) -> date:
    return (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)


def period_of(day: date, kind: str) -> Period:
    if kind == "monthly":
        return Period(f"{day.year}-{day.month:02d}", day.replace(day=1), _month_end(day.year, day.month))
    if kind == "quarterly":
        q = (day.month - 1) // 3 + 1
        return Period(f"{day.year}-Q{q}", date(day.year, 3 * q - 2, 1), _month_end(day.year, 3 * q))
    return Period(str(day.year), date(day.year, 1, 1), date(day.year, 12, 31))


def parse_period(text: str, kind: str) -> Period | None:
    pattern = {"monthly": _MONTH, "quarterly": _QUARTER, "yearly": _YEAR}[kind]
    match = pattern.match(text.strip())
    if not match:
        return None
    year = int(match.group(1))
    if kind == "monthly":
        month = int(match.group(2))
        return period_of(date(year, month, 1), kind) if 1 <= month <= 12 else None
    if kind == "quarterly":
        return period_of(date(year, 3 * int(match.group(2)) - 2, 1), kind)
    return period_of(date(year, 1, 1), kind)


EXAMPLE = {"monthly": "2026-10", "quarterly": "2026-Q3", "yearly": "2026"}


@dataclass(frozen=True)
class Settlement:
    rebate: Rebate
    period: Period
    statement_by: Due
    confirm_by: Due  # auto-confirmed at this deadline
    stage: str  # running | reconciliation | confirmed | auto-confirmed | invoiced | paid
    next_step: str  # "confirm" | "invoiced" | "paid" | ""
    next_label: str
    next_day: date | None
    done: dict[str, str]  # step → "2026-11-03 by U0…"

    @property
    def key(self) -> str:
        return f"settle:{self.rebate.id}:{self.period.id}"


def settle(
    rebate: Rebate,
    period: Period,
    steps: dict[str, dict[str, object]],
    settings: SettlementSettings,
    calendars: Calendars,
    today: date,
    tz: tzinfo,
) -> Settlement:
    statement = calendars.due(period.end, settings.statement_days, "working", "huawei")
    confirm = calendars.due(statement.day, settings.confirm_days, "working", "partner")
    at = {name: local_day(str(row["at"]), tz) for name, row in steps.items()}
    done = {name: f"{at[name]} by {row['by'] or 'the terminal'}" for name, row in steps.items()}
    if "paid" in at:
        return Settlement(rebate, period, statement, confirm, "paid", "", "paid", None, done)
    if "invoiced" in at:
        pay = calendars.due(at["invoiced"], settings.payment_days, "calendar", "huawei")
        return Settlement(rebate, period, statement, confirm, "invoiced", "paid", "Huawei pays by", pay.day, done)
    if today <= period.end:
        return Settlement(
            rebate, period, statement, confirm, "running", "", "reconciliation opens by", statement.day, done
        )
    if "confirm" in at or today > confirm.day:
        base = at.get("confirm", confirm.day)
        invoice = calendars.due(base, settings.invoice_days, "working", "partner")
        stage = "confirmed" if "confirm" in at else "auto-confirmed"
        return Settlement(rebate, period, statement, confirm, stage, "invoiced", "invoice by", invoice.day, done)
    return Settlement(rebate, period, statement, confirm, "reconciliation", "confirm", "confirm by", confirm.day, done)


def tracked(ctx: Context) -> list[Rebate]:
    return [r for r in ctx.knowledge.rebates if r.period]


def recent(ctx: Context, rebate: Rebate, today: date) -> list[Settlement]:
    """The running period and the last few that ended, newest first."""
    assert rebate.period
    settings = ctx.knowledge.money.settlements
    steps = store.settlement_steps(ctx.db, [rebate.id])
    found = []
    period = period_of(today, rebate.period)
    for _ in range(settings.periods_shown + 1):
        got = steps.get((rebate.id, period.id), {})
        found.append(settle(rebate, period, got, settings, ctx.knowledge.calendars, today, ctx.tz))
        period = period_of(period.start - timedelta(days=1), rebate.period)
    return found


def _day(d: date) -> str:
    return f"{WEEKDAYS[d.weekday()][:3]} {d}"


BUTTON = {"confirm": "Confirmed", "invoiced": "Invoiced", "paid": "Paid"}


def settlement_line(s: Settlement, today: date) -> tuple[Inline, ...]:
    line: tuple[Inline, ...] = (Strong(s.period.id), f" · {s.stage}")
    if s.next_day:
        left = (s.next_day - today).days
        when = "today" if left == 0 else f"in {left} days" if left > 0 else f"{-left} days ago"
        line += (f" · {s.next_label} {_day(s.next_day)} ({when})",)
        if s.next_step == "confirm":
            line += (" — ", Strong("auto-confirmed"), " then if nobody confirms")
    if s.done:
        line += (" · " + "; ".join(f"{k} {v}" for k, v in s.done.items()),)
    return line


def settlement_action(s: Settlement) -> Action | None:
    if not s.next_step:
        return None
    value = f"{s.rebate.id}:{s.period.id}:{s.next_step}"
    command_text = f"settlement {s.next_step} {s.period.id} {s.rebate.id}"
    label = f"{BUTTON[s.next_step]} {s.period.id}"
    return Action(label, "settle", value, command_text, "primary" if s.next_step == "confirm" else "")


def _none(ctx: Context) -> Reply:
    return reply(
        Heading("Rebate settlements"),
        para("No rebate has a settlement period."),
        note('Give a [[rebates]] programme period = "monthly" (or "quarterly", "yearly") in whisperer.toml.'),
    )


@command(
    "settlements",
    "settlements",
    "Each rebate period's settlement stage and next date: reconciliation, confirmation (or auto-confirmation), "
    "invoice, payment.",
    "settlements",
    group="money",
)
def settlements_command(ctx: Context, args: list[str]) -> Reply:
    if args:
        raise UsageError("settlements takes no arguments; record a step with settlement confirm PERIOD.")
    rebates = tracked(ctx)
    if not rebates:
        return _none(ctx)
    today = ctx.local_now.date()
    settings = ctx.knowledge.money.settlements
    blocks: list[Block] = [Heading("Rebate settlements")]
    for rebate in rebates:
        rows = recent(ctx, rebate, today)
        blocks.append(para(Strong(rebate.name), f" ({rebate.period}, ", Mono(rebate.id), ")"))
        blocks.append(bullets(*(settlement_line(s, today) for s in rows)))
        buttons = [a for a in (settlement_action(s) for s in rows if s.stage != "running") if a]
        if buttons:
            blocks.append(actions(*buttons[:25]))
    blocks.append(
        note(
            f"Reconciliation opens within {settings.statement_days} working days of the next period (Huawei's "
            f"calendar, the later date); confirm within {settings.confirm_days} working days or it is auto-confirmed; "
            f"invoice within {settings.invoice_days} working days; payment within {settings.payment_days} days.",
        )
    )
    blocks.append(
        note(Link(settings.source, "settlement rules"), " · ", Link(settings.autoconfirm_source, "auto-confirmation"))
    )
    return reply(*blocks)


def _rebate(ctx: Context, words: list[str]) -> Rebate:
    rebates = tracked(ctx)
    if not rebates:
        raise UsageError('No rebate has a settlement period; give [[rebates]] one, e.g. period = "monthly".')
    if not words:
        if len(rebates) == 1:
            return rebates[0]
        raise UsageError(f"Which rebate? Add its id: {', '.join(r.id for r in rebates)}.", USAGE)
    found = next((r for r in rebates if r.id == words[0]), None)
    if found is None:
        ids = [r.id for r in rebates]
        raise UsageError(
            f"No rebate '{words[0]}' with settlements. {did_you_mean(words[0], ids)}Ids: {', '.join(ids)}."
        )
    return found


@command(
    "settlement",
    "settlement confirm|invoiced|paid PERIOD [REBATE]",
    "Record a settlement step for a rebate period (a button on settlements, too).",
    "settlement confirm 2026-10",
    "settlement invoiced 2026-10 cross-cloud",
    group="money",
)
def settlement_command(ctx: Context, args: list[str]) -> Reply:
    if len(args) < 2:
        raise UsageError("Which step and which period?")
    step, period_text = args[0].lower(), args[1]
    if step not in STEPS:
        raise UsageError(f"'{args[0]}' is not a step. {did_you_mean(step, list(STEPS))}Steps: confirm, invoiced, paid.")
    rebate = _rebate(ctx, args[2:])
    assert rebate.period
    period = parse_period(period_text, rebate.period)
    if period is None:
        raise UsageError(f"'{period_text}' is not a {rebate.period} period; write it like {EXAMPLE[rebate.period]}.")
    today = ctx.local_now.date()
    settings = ctx.knowledge.money.settlements
    steps = store.settlement_steps(ctx.db, [rebate.id]).get((rebate.id, period.id), {})
    current = settle(rebate, period, steps, settings, ctx.knowledge.calendars, today, ctx.tz)
    if step in current.done:
        return reply(para(f"{rebate.name} {period.id}: {step} was already recorded ({current.done[step]})."))
    if current.stage == "running":
        return error(
            f"{rebate.name} {period.id} has not ended yet (it ends {period.end}); nothing to {step} before then. "
            "Nothing was changed."
        )
    order = {"confirm": 0, "invoiced": 1, "paid": 2}
    if step != current.next_step and order[step] > order.get(current.next_step, 3):
        return error(
            f"{rebate.name} {period.id} is {current.stage}: record {current.next_step} first. Nothing was changed.",
            Mono(f"/whisperer settlement {current.next_step} {period.id} {rebate.id}"),
        )
    if step == "confirm" and current.stage == "auto-confirmed":
        return error(
            f"{rebate.name} {period.id} was auto-confirmed on {current.confirm_by.day}; there is nothing left to "
            "confirm. Nothing was changed.",
            "Next: ",
            Mono(f"/whisperer settlement invoiced {period.id} {rebate.id}"),
        )
    with transaction(ctx.db):
        store.record_settlement(ctx.db, rebate.id, period.id, step, ctx.user_id or "terminal", ctx.now)
    steps = store.settlement_steps(ctx.db, [rebate.id]).get((rebate.id, period.id), {})
    after = settle(rebate, period, steps, settings, ctx.knowledge.calendars, today, ctx.tz)
    blocks: list[Block] = [
        Heading(f"{rebate.name} {period.id}: {step} recorded"),
        bullets(settlement_line(after, today)),
    ]
    button = settlement_action(after)
    if button:
        blocks.append(actions(button))
    return reply(*blocks, effects=("refresh-message",))


@deadline_source
def settlement_deadlines(ctx: Context, first: date, last: date) -> list[Deadline]:
    found = []
    for rebate in tracked(ctx):
        for s in recent(ctx, rebate, first):
            if s.next_day and first <= s.next_day <= last and s.stage != "running":
                what = f"Settlement {rebate.name} {s.period.id}: {s.next_label}"
                if s.next_step == "confirm":
                    what += " (auto-confirmed then)"
                found.append(Deadline(s.next_day, what, ("settlements ", Mono(rebate.id)), f"{s.key}:{s.next_step}"))
    return found
