"""person leave|return|bind|unbind|history: departures (with a confirmation) and HUAWEI ID binding.

A departure is recorded, never deleted: `person return` closes it and the history stays. Recording one stops
the leaver's reminders and queues one channel message with what it breaks and what would fix it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from handlers.registry import Context, UsageError, admin_refusal, command, form_reply
from handlers.reply import Block, Bullets, Heading, Mono, Para, Reply, bullets, error, note, para, plain_text, reply
from handlers.team.certificates import first_name
from handlers.team.certs import find_person_loose
from handlers.team.teamstate import load_team
from handlers.team.whatif import consequences, effect_line
from storage.db import transaction
from storage.outbox import alerts as outbox
from storage.team import certifications as certs
from storage.team import departures
from watchers.facts.dates import parse_day

USAGE = "person leave NAME DATE | person return NAME | person bind|unbind NAME | person history NAME"
CONFIRM = "confirm"
LEAVE_FORM = "person-leave"


def _who(ctx: Context, name: str) -> dict[str, Any] | Reply:
    found = find_person_loose(ctx.db, name)
    if found is None:
        return error(f"I know nobody called '{name}'.", "List them with ", Mono("/whisperer people"), ".")
    return found


def rule_text(ctx: Context, left_on: date) -> str:
    s = ctx.knowledge.certifications
    if s.leaver_rule == "enterprise":
        report = left_on + timedelta(days=s.leaver_report_days)
        replace_by = left_on + timedelta(days=s.leaver_replace_days)
        return (
            f"Enterprise-channel rule: report the departure to Huawei by {report}; a replacement must pass by "
            f"{replace_by}. Their certificates count until then."
        )
    if s.leaver_grace_days:
        until = left_on + timedelta(days=s.leaver_grace_days)
        return f"Their certificates count until {until} ([certifications] leaver_grace_days = {s.leaver_grace_days})."
    return "Their certificates stop counting on that day (no grace period is published for Huawei Cloud)."


@command(
    "person",
    USAGE,
    "Admins: record a departure (with a confirmation; reminders stop, the channel hears what it breaks), undo "
    "it, mark a HUAWEI ID bound or unbound; anyone: a person's history.",
    "person leave Ana 2027-01-15",
    "person return Ana",
    "person bind Budi",
    "person history Ana",
    group="people",
)
def person_command(ctx: Context, args: list[str]) -> Reply:
    if not args:
        raise UsageError("Say what to do: person leave NAME DATE, person return NAME, person bind|unbind NAME.")
    verb, rest = args[0].lower(), args[1:]
    if verb == "history":
        return _history(ctx, rest)
    if verb not in ("leave", "return", "bind", "unbind"):
        raise UsageError(f"'{args[0]}' is not a person action; use leave, return, bind, unbind or history.")
    if not ctx.is_admin:
        return admin_refusal(f"{verb} people")
    if verb == "leave":
        return _leave(ctx, rest)
    if len(rest) != 1:
        raise UsageError(f"person {verb} needs one name (in quotes if it has spaces).")
    found = _who(ctx, rest[0])
    if isinstance(found, Reply):
        return found
    pid, name = int(found["id"]), str(found["name"])
    if verb == "return":
        with transaction(ctx.db):
            undone = departures.record_return(ctx.db, pid, ctx.user_id or "terminal", ctx.now)
        if not undone:
            return error(f"{name} has no departure to undo.", "See ", Mono(f"/whisperer person history {name}"), ".")
        return reply(
            para(
                f"Welcome back, {first_name(name)}: the departure is undone. Their certificates count again and "
                "their reminders resume."
            ),
            note("The departure stays in the history: ", Mono(f"/whisperer person history {_quote(name)}"), "."),
        )
    bound = verb == "bind"
    with transaction(ctx.db):
        changed = departures.set_bound(ctx.db, pid, bound)
    n = len(certs.list_certifications(ctx.db, person_id=pid))
    state = "bound" if bound else "unbound"
    if not changed:
        return reply(para(f"{name}'s HUAWEI ID was already marked {state}; nothing changed."))
    certificates = f"their {n} certificate{'s' if n != 1 else ''}"
    effect = (
        f"{certificates} now count{'s' if n == 1 else ''}"
        if bound
        else f"{certificates} no longer count{'s' if n == 1 else ''} (shown as 'would count once bound')"
    )
    return reply(
        para(f"{name}'s HUAWEI ID is marked {state}: {effect}."),
        note("Effect on the renewal: ", Mono("/whisperer renewal"), " · the plan: ", Mono("/whisperer plan"), "."),
    )


def _leave(ctx: Context, rest: list[str]) -> Reply:
    confirmed = bool(rest) and rest[-1].lower() == CONFIRM
    words = rest[:-1] if confirmed else rest
    if not words:
        return form_reply(LEAVE_FORM, "person leave NAME DATE")
    if len(words) != 2:
        raise UsageError("person leave needs a name and the leaving day: person leave Ana 2027-01-15.")
    found = _who(ctx, words[0])
    if isinstance(found, Reply):
        return found
    left_on = parse_day(words[1])
    if left_on is None:
        raise UsageError(f"'{words[1]}' is not a date; write it as YYYY-MM-DD, e.g. 2027-01-15.")
    pid, name = int(found["id"]), str(found["name"])
    before = load_team(ctx.db, ctx.knowledge.certifications)
    after = before.copy()
    after.set_member(replace(after.members[pid], left_on=left_on))
    blocks, found_effects = consequences(ctx, before, after)
    rule = rule_text(ctx, left_on)
    if not confirmed:
        today = ctx.local_now.date()
        lines = [plain_text(effect_line(e, today, ctx.knowledge.renewal.date)) for e in found_effects[:3]]
        summary = " ".join(lines) or "No KPI, competency or rebate criterion changes."
        return Reply(
            (
                Heading(f"{name} leaves on {left_on}?"),
                *blocks,
                para(rule),
                note("To record it: ", Mono(f"/whisperer person leave {_quote(name)} {left_on} {CONFIRM}"), "."),
            ),
            form=LEAVE_FORM,
            form_meta=(("person", name), ("date", left_on.isoformat()), ("summary", summary[:600])),
        )
    open_one = departures.active_departure(ctx.db, pid)
    if open_one is not None and open_one["left_on"] == left_on.isoformat():
        return reply(
            para(f"Already recorded: {name} leaves on {left_on}. Nothing changed, and the channel was told once."),
            note("Undo with ", Mono(f"/whisperer person return {_quote(name)}"), "."),
        )
    now = ctx.now
    with transaction(ctx.db):
        departure = departures.record_departure(ctx.db, pid, left_on, ctx.user_id or "terminal", now)
        outbox.enqueue_alert(ctx.db, f"leaver:{departure}", "people-leaver", _message(name, left_on, blocks, rule), now)
    return reply(
        para(f"Recorded: {name} leaves on {left_on}. {rule} Reminders to them stop."),
        *blocks,
        note(
            "The channel gets one message about it. Undo with ", Mono(f"/whisperer person return {_quote(name)}"), "."
        ),
    )


def _quote(name: str) -> str:
    return f'"{name}"' if " " in name else name


def _message(name: str, left_on: date, blocks: list[Block], rule: str) -> dict[str, Any]:
    """The channel message: plain text with *emphasis*, as handlers/alerting/notices.py composes it."""
    items: list[str] = []
    fix = ""
    for block in blocks:
        if isinstance(block, Para) and plain_text(block.parts).startswith("The fix"):
            fix = "Fix: "
        if isinstance(block, Bullets):
            items += [fix + plain_text(item).replace("*", "") for item in block.items]
    text = f"*{name.replace('*', '')}* leaves on *{left_on}*. {rule}"
    if not items:
        text += "\n\nNo KPI, competency or rebate criterion changes."
    return {
        "heading": "A certified colleague is leaving",
        "text": text,
        "items": items,
        "note": "What-if: /whisperer whatif leave NAME · the plan: /whisperer plan",
    }


def _history(ctx: Context, rest: list[str]) -> Reply:
    if len(rest) != 1:
        raise UsageError("person history needs one name.")
    found = _who(ctx, rest[0])
    if isinstance(found, Reply):
        return found
    pid, name = int(found["id"]), str(found["name"])
    rows = departures.departure_history(ctx.db, pid)
    bound = "bound" if found.get("bound", 1) else "unbound (certificates do not count)"
    lines = []
    for r in rows:
        back = f"; returned {str(r['returned_at'])[:10]}" if r["returned_at"] and r["returned_by"] != "replaced" else ""
        superseded = "; replaced by a later date" if r["returned_by"] == "replaced" else ""
        lines.append(f"Leaves/left on {r['left_on']} (recorded by {r['recorded_by'] or '?'}){back}{superseded}")
    blocks: list[Block] = [Heading(f"{name}"), para(f"HUAWEI ID: {bound}.")]
    blocks.append(bullets(*lines) if lines else para("No departures recorded."))
    return reply(*blocks)
