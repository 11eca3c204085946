"""Money DMs for the daily sweep: an MDF request's owner before each deadline, at working-day offsets, and the
finance owner before a rebate statement is auto-confirmed. Each step is an outbox key, so it goes out once,
restarts included (bot/process/reminders.py queues them)."""

from __future__ import annotations

from datetime import date, datetime

from bot.process.reminders import Planned, working_moment
from bot.process.runtime import Runtime, make_context
from handlers.money.mdf_rules import request_deadlines
from handlers.money.mdf_views import step_actions
from handlers.money.settings import STATES
from handlers.money.settlements import recent, settlement_action, tracked
from handlers.team.cert_followups import action_payload
from handlers.workdays import WEEKDAYS, Calendars
from storage.programme import money as store


def _reached(calendars: Calendars, due: date, today: date, offsets: tuple[int, ...]) -> int | None:
    """The smallest offset (working days before `due`) already reached today, or None."""
    if today > due:
        return None
    reached = [off for off in offsets if today >= calendars.due(due, -off, "working", "partner").day]
    return min(reached) if reached else None


def _left(due: date, today: date, offset: int) -> str:
    if due == today:
        return "today"
    return f"in {offset} working day{'s' if offset != 1 else ''}" if offset else f"on {due}"


def mdf_reminders(runtime: Runtime, now: datetime) -> list[Planned]:
    config = runtime.config
    settings = config.knowledge.money.mdf
    calendars = config.knowledge.calendars
    tz = config.bot.tz
    today = now.astimezone(tz).date()
    at = working_moment(now, tz, config.knowledge.reminders)
    ticks = store.all_evidence(runtime.db)
    open_states = [s for s in STATES if any(s in r.open_in for r in settings.rules)]
    planned: list[Planned] = []
    for row in store.list_requests(runtime.db, open_states):
        ticked = ticks.get(int(row["id"]), set())
        for d in request_deadlines(row, settings, calendars, tz, ticked):
            step = _reached(calendars, d.due.day, today, settings.remind_before)
            if step is None:
                continue
            payload = {
                "heading": f"MDF deadline {_left(d.due.day, today, step)}",
                "text": f"MDF #{d.request_id} *{d.name}*: {d.rule.label} by "
                f"*{WEEKDAYS[d.due.day.weekday()]} {d.due.day}* ({d.explain()})."
                + (f"\n\nIf it is late: {d.rule.late}." if d.rule.late else ""),
                "note": f"Rule: {d.rule.source} · /whisperer mdf show {d.request_id}",
                "actions": action_payload(tuple(step_actions(row, settings, ticked))[:5]),
            }
            key = f"mdf-reminder:{d.key}:{step}"
            owner = row["owner"]
            if owner:
                planned.append(Planned(key, "mdf-reminder", payload, f"DM {owner}", at, owner))
            else:
                text = f"MDF #{d.request_id} has no owner (mdf owner {d.request_id} @someone). {payload['text']}"
                planned.append(
                    Planned(key, "mdf-reminder", {**payload, "text": text}, config.bot.alerts_channel or "alerts", at)
                )
    return planned


def settlement_reminders(runtime: Runtime, now: datetime) -> list[Planned]:
    config = runtime.config
    settings = config.knowledge.money.settlements
    tz = config.bot.tz
    today = now.astimezone(tz).date()
    ctx = make_context(runtime, now, operator=True)
    at = working_moment(now, tz, config.knowledge.reminders)
    planned: list[Planned] = []
    for rebate in tracked(ctx):
        owner = rebate.finance_owner or settings.finance_owner
        for s in recent(ctx, rebate, today):
            if s.next_step != "confirm" or s.next_day is None:
                continue
            step = _reached(ctx.knowledge.calendars, s.next_day, today, settings.remind_before)
            if step is None:
                continue
            button = settlement_action(s)
            payload = {
                "heading": f"Rebate statement auto-confirms {_left(s.next_day, today, step)}",
                "text": f"The *{rebate.name}* statement for *{s.period.id}* is auto-confirmed on "
                f"*{WEEKDAYS[s.next_day.weekday()]} {s.next_day}* unless it is checked and confirmed before then. "
                "Check the amounts in the Partner Center first.",
                "note": f"Rule: {settings.autoconfirm_source} · /whisperer settlements",
                "actions": action_payload((button,) if button else ()),
            }
            key = f"settle-reminder:{rebate.id}:{s.period.id}:{step}"
            if owner:
                planned.append(Planned(key, "settlement-reminder", payload, f"DM {owner}", at, owner))
            else:
                planned.append(Planned(key, "settlement-reminder", payload, config.bot.alerts_channel or "alerts", at))
    return planned


def money_reminders(runtime: Runtime, now: datetime) -> list[Planned]:
    return [*mdf_reminders(runtime, now), *settlement_reminders(runtime, now)]
