"""mdf …: MDF requests from plan to reimbursement, each step a command and a button, kept with who and when."""

from __future__ import annotations

import re
from datetime import date

from handlers.money.mdf_rules import (
    request_deadlines,
)
from handlers.money.mdf_views import ADD_USAGE, USER, listing, quota, request_card
from handlers.money.settings import MOVES, STATES, VERB_OF, VERBS
from handlers.programme.deadlines import Deadline, deadline_source
from handlers.registry import Context, UsageError, command, did_you_mean, form_reply, record_id
from handlers.reply import (
    Block,
    Inline,
    Mono,
    Reply,
    Strong,
    error,
    para,
    reply,
)
from storage.db import transaction
from storage.programme import money as store
from watchers.facts.dates import parse_day

USAGE = (
    "mdf [all] | mdf add NAME START [END] [AMOUNT CURRENCY] | mdf show ID | "
    "mdf apply|approve|reject|resubmit|held|claim|reimbursed ID [NOTE] | mdf tick|untick ID ITEM | "
    "mdf owner ID USER | mdf quota | mdf csv"
)
AMOUNT = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?$|^\d+(?:\.\d{1,2})?$")
CURRENCY = re.compile(r"^[A-Za-z]{3}$")
REFRESH = ("refresh-message",)


def _id(args: list[str], usage: str) -> int:
    if not args:
        raise UsageError("Which request? Give its number, e.g. 3.", usage)
    found = record_id(args[0])
    if found is None:
        raise UsageError(f"'{args[0]}' is not a request number; `/whisperer mdf` lists them.", usage)
    return found


def _parse_add(args: list[str], ctx: Context) -> tuple[str, date, date, float | None, str | None]:
    first_date = next((i for i, a in enumerate(args) if parse_day(a)), None)
    if first_date is None:
        raise UsageError("When does the activity start? Give its date, e.g. 2027-01-20.", ADD_USAGE)
    name = " ".join(args[:first_date]).strip()
    if not name:
        raise UsageError('Name the activity first, e.g. "Jakarta Cloud Summit".', ADD_USAGE)
    start = parse_day(args[first_date])
    assert start is not None
    rest = args[first_date + 1 :]
    end = parse_day(rest[0]) if rest else None
    if end is not None:
        rest = rest[1:]
    end = end or start
    amount: float | None = None
    currency: str | None = None
    for word in rest:
        if AMOUNT.match(word) and amount is None:
            amount = float(word.replace(",", ""))
        elif CURRENCY.match(word) and currency is None:
            currency = word.upper()
        else:
            raise UsageError(f"'{word}' is neither an amount (5000 or 5,000.50) nor a currency (USD).", ADD_USAGE)
    if currency and amount is None:
        raise UsageError(
            f"{currency} of how much? Give the amount before the currency, e.g. 5000 {currency}.", ADD_USAGE
        )
    if amount is not None and amount <= 0:
        raise UsageError("The amount must be more than zero.", ADD_USAGE)
    today = ctx.local_now.date()
    if start < today:
        raise UsageError(
            f"The start {start} is in the past (today is {today}); an MDF request is for an activity still to come.",
            ADD_USAGE,
        )
    if end < start:
        raise UsageError(f"The end {end} is before the start {start}; give the end date after the start.", ADD_USAGE)
    if amount is not None and currency is None:
        currency = ctx.knowledge.money.mdf.currency
    return name, start, end, amount, currency


def add(ctx: Context, args: list[str]) -> Reply:
    if not args:
        return form_reply("mdf-add", ADD_USAGE)
    name, start, end, amount, currency = _parse_add(args, ctx)
    by = ctx.user_id or "terminal"
    with transaction(ctx.db):
        request_id = store.add_request(ctx.db, name, start, end, amount, currency, ctx.user_id, by, ctx.now)
    card = request_card(ctx, request_id, f"MDF #{request_id} {name}: planned")
    today = ctx.local_now.date()
    row = store.get_request(ctx.db, request_id)
    assert row is not None
    dues = request_deadlines(row, ctx.knowledge.money.mdf, ctx.knowledge.calendars, ctx.tz)
    late = [d for d in dues if d.rule.id == "apply" and d.due.day < today]
    extra: list[Block] = []
    if late:
        extra.append(
            para(
                Strong("Too late for the usual lead time:"),
                f" {late[0].rule.label} was due {late[0].due.day}; {late[0].rule.late}.",
            )
        )
    return reply(*card.blocks[:1], *extra, *card.blocks[1:])


def step(ctx: Context, verb: str, args: list[str]) -> Reply:
    request_id = _id(args, f"mdf {verb} ID [NOTE]")
    text = " ".join(args[1:]).strip()
    target = VERBS[verb]
    row = store.get_request(ctx.db, request_id)
    if row is None:
        return error(f"There is no MDF request #{request_id}.", "See them all with ", Mono("/whisperer mdf all"), ".")
    state = str(row["state"])
    if state == target:
        return request_card(ctx, request_id, f"MDF #{request_id} is already {target}")
    if target not in MOVES[state]:
        nexts = MOVES[state]
        hint: tuple[Inline, ...] = (
            (
                "From ",
                Strong(state),
                " it can go to: ",
                ", ".join(nexts),
                " (e.g. ",
                Mono(f"/whisperer mdf {VERB_OF[nexts[0]]} {request_id}"),
                ").",
            )
            if nexts
            else ("It is finished; nothing follows ", Strong(state), ".")
        )
        return error(f"MDF #{request_id} is {state}, so it can't become {target}. Nothing was changed.", *hint)
    settings = ctx.knowledge.money.mdf
    ticked = store.evidence(ctx.db, request_id)
    entered = {str(s["state"]): str(s["at"]) for s in store.steps(ctx.db, request_id)}
    before = request_deadlines(row, settings, ctx.knowledge.calendars, ctx.tz, ticked, entered)
    by = ctx.user_id or "terminal"
    with transaction(ctx.db):
        moved = store.move_request(ctx.db, request_id, state, target, by, ctx.now, text)
    if not moved:  # someone else moved it between our read and our write
        return request_card(ctx, request_id, f"MDF #{request_id} changed meanwhile")
    today = ctx.local_now.date()
    warnings: list[Block] = []
    for d in before:
        if d.due.day < today:
            warnings.append(
                para(
                    Strong("Late:"),
                    f" {d.rule.label.lower()} was due {d.due.day} ({d.explain()})"
                    + (f"; {d.rule.late}." if d.rule.late else "."),
                )
            )
    if target == "claimed":
        missing = [
            i.id
            for i in settings.evidence
            if i.id not in ticked and not any(r.closed_by == i.id for r in settings.rules)
        ]
        if missing:
            warnings.append(
                para(Strong("Evidence not ticked yet:"), " " + ", ".join(missing) + ". A claim needs it all.")
            )
    card = request_card(ctx, request_id, f"MDF #{request_id} {row['name']}: {target}")
    return reply(*card.blocks[:1], *warnings, *card.blocks[1:], effects=REFRESH)


def tick(ctx: Context, args: list[str], on: bool) -> Reply:
    verb = "tick" if on else "untick"
    request_id = _id(args, f"mdf {verb} ID ITEM")
    settings = ctx.knowledge.money.mdf
    names = [i.id for i in settings.evidence]
    if len(args) < 2:
        raise UsageError(f"Which item? One of: {', '.join(names)}.", f"mdf {verb} ID ITEM")
    item = settings.item(args[1].lower())
    if item is None:
        raise UsageError(
            f"No evidence item '{args[1]}'. {did_you_mean(args[1], names)}Items: {', '.join(names)}.",
            f"mdf {verb} ID ITEM",
        )
    if store.get_request(ctx.db, request_id) is None:
        return error(f"There is no MDF request #{request_id}.", "See them all with ", Mono("/whisperer mdf all"), ".")
    with transaction(ctx.db):
        if on:
            store.tick_evidence(ctx.db, request_id, item.id, ctx.user_id or "terminal", ctx.now)
        else:
            store.untick_evidence(ctx.db, request_id, item.id)
    card = request_card(ctx, request_id)
    return reply(*card.blocks, effects=REFRESH)


def set_owner(ctx: Context, args: list[str]) -> Reply:
    request_id = _id(args, "mdf owner ID USER")
    match = USER.match(args[1]) if len(args) == 2 else None
    if match is None:
        raise UsageError(
            "Whose is it? Mention them (@name) or give their Slack user ID (U0123ABC).", "mdf owner ID USER"
        )
    if store.get_request(ctx.db, request_id) is None:
        return error(f"There is no MDF request #{request_id}.", "See them all with ", Mono("/whisperer mdf all"), ".")
    with transaction(ctx.db):
        store.set_owner(ctx.db, request_id, match.group(1) or match.group(2))
    return request_card(ctx, request_id)


@command(
    "mdf",
    USAGE,
    "MDF requests: plan one, record each step (a button too), tick the evidence, see deadlines and the quota.",
    'mdf add "Jakarta Cloud Summit" 2027-01-20 2027-01-21 5000 USD',
    "mdf",
    "mdf show 3",
    "mdf approve 3",
    "mdf tick 3 photos",
    group="money",
)
def mdf_command(ctx: Context, args: list[str]) -> Reply:
    if not args or args[0].lower() == "all":
        return listing(ctx, bool(args))
    action, rest = args[0].lower(), args[1:]
    if action == "add":
        return add(ctx, rest)
    if action == "show":
        return request_card(ctx, _id(rest, "mdf show ID"))
    if action in VERBS:
        return step(ctx, action, rest)
    if action in ("tick", "untick"):
        return tick(ctx, rest, action == "tick")
    if action == "owner":
        return set_owner(ctx, rest)
    if action == "quota":
        return quota(ctx)
    if action == "csv":
        from handlers.money.mdf_csv import csv_reply

        return csv_reply(ctx)
    if record_id(action) is not None:
        return request_card(ctx, _id(args, "mdf show ID"))
    choices = ["add", "show", "all", "quota", "csv", "tick", "untick", "owner", *VERBS]
    raise UsageError(f"I don't know 'mdf {action}'. {did_you_mean(action, choices)}")


assert set(STATES) == set(MOVES)


@deadline_source
def mdf_deadlines(ctx: Context, first: date, last: date) -> list[Deadline]:
    """Every open MDF request's next duties, for `deadlines`, the .ics export, Home and the digest."""
    settings = ctx.knowledge.money.mdf
    ticks = store.all_evidence(ctx.db)
    found = []
    for row in store.list_requests(ctx.db, (s for s in STATES if any(s in r.open_in for r in settings.rules))):
        for d in request_deadlines(row, settings, ctx.knowledge.calendars, ctx.tz, ticks.get(int(row["id"]), ())):
            if first <= d.due.day <= last:
                title = f"MDF #{d.request_id} {d.name}: {d.rule.label} ({d.explain()})"
                found.append(Deadline(d.due.day, title, ("MDF ", Mono(f"#{d.request_id}")), d.key))
    return found
