"""The opportunity ledger: `deal add|offered|prereg …`, its steps, its checklist, `deal show ID`, `deals [FILTER]`.

`dealreg` (handlers/programme/dealreg.py) still answers "when must I register?"; a deal here is followed through
Huawei's validation until it is won, lost or expired, with every step kept (who, when).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from handlers.money.deal_rules import (
    CLOSED,
    ORIGINS,
    STATES,
    STEP_LABELS,
    STEPS,
    Clock,
    DealError,
    clock_title,
    conflict_rule,
    consequence,
    deal_clocks,
    local_day,
    next_steps,
    rfp_timing_met,
    show_money,
    split_money,
    step_problem,
)
from handlers.programme.deadlines import Deadline, deadline_source, when_left
from handlers.programme.dealreg import parse_rfp
from handlers.registry import Context, UsageError, command, record_id
from handlers.reply import (
    Action,
    Block,
    Heading,
    Inline,
    Mention,
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
from storage.db import transaction
from storage.programme import deals as store
from watchers.facts.dates import parse_day

ADD_USAGE = "deal add CUSTOMER [RFP_DATE [TIME]] [VALUE [CURRENCY]]"
USAGE = f"{ADD_USAGE} | deal offered|prereg CUSTOMER | deal STEP ID | deal check ID N | deal show ID"


def clocks_of(ctx: Context, deal: dict[str, Any]) -> list[Clock]:
    k = ctx.knowledge
    return deal_clocks(deal, k.deals, k.dealreg, k.calendars, ctx.tz)


def _clock_line(clock: Clock, today: date) -> tuple[Inline, ...]:
    shown = f"{clock.at:%A %Y-%m-%d %H:%M}" if clock.at else f"{clock.due:%A %Y-%m-%d}"
    tail = " (provisional: that year's holidays are not yet published)" if clock.provisional else ""
    return (
        "⏰ ",
        f"{clock.what} ",
        Strong(shown),
        f" ({when_left(clock.due, today)}; {clock.basis}{tail}), else {consequence(clock)}.",
    )


def _deal_word(deal: dict[str, Any]) -> str:
    return f"#{deal['id']} {deal['customer']}"


def _step_actions(deal: dict[str, Any]) -> list[Action]:
    found = []
    for verb in next_steps(str(deal["state"])):
        style = "primary" if verb in ("validate", "accept", "won", "submit") else ""
        style = "danger" if verb in ("lost", "reject", "decline") else style
        found.append(Action(STEP_LABELS[verb], "deal-step", f"{verb} {deal['id']}", f"deal {verb} {deal['id']}", style))
    return found


def _duplicates(ctx: Context, customer: str, deal_id: int) -> list[Block]:
    others = [d for d in store.deals_for_customer(ctx.db, customer) if d["id"] != deal_id and d["state"] != "lost"]
    if not others:
        return []
    listed = ", ".join(f"#{d['id']} ({d['state']}, {ORIGINS[d['origin']].lower()})" for d in others)
    return [
        para(
            "⚠️ ",
            Strong("Same customer twice: "),
            f"{customer} is already in the ledger as {listed}. Conflict rule: {conflict_rule(ctx.knowledge.deals)}.",
        )
    ]


def _new_deal(ctx: Context, origin: str, args: list[str]) -> Reply:
    words, value, currency = split_money(args)
    rfp = None
    if origin == "partner":
        for i in range(1, len(words)):
            if any(parse_day(" ".join(words[i : i + n])) for n in (1, 2, 3) if i + n <= len(words)):
                moment, _timed, rest = parse_rfp(words[i:], ctx)
                if rest:
                    raise DealError(
                        f"I read '{' '.join(rest)}' after the RFP date; put the customer first: /whisperer {ADD_USAGE}."
                    )
                words, rfp = words[:i], moment
                break
        if rfp is not None and rfp <= ctx.now:
            raise DealError(
                f"The RFP date {rfp.astimezone(ctx.tz):%Y-%m-%d %H:%M} is in the past; give the coming release date "
                "(or leave it out)."
            )
    customer = " ".join(words).strip()
    if not customer:
        raise DealError("Which customer? Give its name first, e.g. PT Nusantara Logistics.")
    rules = ctx.knowledge.deals
    extra: list[Block] = []
    state = {"partner": "draft", "huawei": "offered", "prereg": "preregistered"}[origin]
    if origin == "prereg":
        pending = _pending_preregistrations(ctx)
        if pending >= rules.prereg_limit:
            return error(
                f"{pending} pre-registrations are pending, and Huawei allows at most {rules.prereg_limit} at once "
                f"({rules.source}).",
                "Submit some as opportunities (",
                Mono("/whisperer deal submit ID"),
                ") or let go of others (",
                Mono("/whisperer deal expire ID"),
                "), then try again.",
            )
        if pending + 1 >= rules.prereg_warn:
            extra.append(note(f"⚠️ {pending + 1} of at most {rules.prereg_limit} pre-registrations are now pending."))
    with transaction(ctx.db):
        deal_id = store.add_deal(
            ctx.db,
            customer,
            origin,
            state,
            ctx.now,
            rfp=rfp,
            value=value,
            currency=currency,
            owner=ctx.user_id,
            by=ctx.user_id or "terminal",
        )
    deal = store.get_deal(ctx.db, deal_id)
    assert deal is not None
    verb = {"partner": "Added", "huawei": "Recorded Huawei's offer of", "prereg": "Pre-registered"}[origin]
    blocks: list[Block] = [para(f"{verb} deal #{deal_id}: ", Strong(customer), f" ({ORIGINS[origin].lower()}).")]
    today = ctx.local_now.date()
    blocks += [para(*_clock_line(c, today)) for c in clocks_of(ctx, deal)]
    blocks += _duplicates(ctx, customer, deal_id)
    blocks += extra
    blocks.append(note("The whole deal, its checklist and history: ", Mono(f"/whisperer deal show {deal_id}"), "."))
    blocks.append(actions(*_step_actions(deal)))
    return reply(*blocks)


def _pending_preregistrations(ctx: Context) -> int:
    today = ctx.local_now.date()
    rules = ctx.knowledge.deals
    pending = 0
    for deal in store.list_deals(ctx.db, ["preregistered"]):
        if (today - local_day(str(deal["state_at"]), ctx.tz)).days < rules.prereg_days:
            pending += 1
    return pending


def _find(ctx: Context, text: str | None) -> dict[str, Any]:
    deal_id = record_id(text) if text else None
    if deal_id is None:
        raise UsageError("Which deal? Give its number, as /whisperer deals shows it (e.g. 3).")
    deal = store.get_deal(ctx.db, deal_id)
    if deal is None:
        raise DealError(f"There is no deal #{deal_id}. List them with /whisperer deals all.")
    return deal


def _step(ctx: Context, verb: str, args: list[str]) -> Reply:
    deal = _find(ctx, args[0] if args else None)
    problem = step_problem(deal, verb)
    if problem:
        if deal["state"] == STEPS[verb][0]:
            return reply(para(f"Deal {_deal_word(deal)} is already {deal['state']}. Nothing changed."))
        return error(problem, "See where it stands: ", Mono(f"/whisperer deal show {deal['id']}"), ".")
    target = STEPS[verb][0]
    why = " ".join(args[1:]).strip() or None
    with transaction(ctx.db):
        store.move_deal(ctx.db, int(deal["id"]), target, ctx.now, ctx.user_id or "terminal", why)
    moved = store.get_deal(ctx.db, int(deal["id"]))
    assert moved is not None
    blocks: list[Block] = [para(f"Deal {_deal_word(moved)}: {deal['state']} → ", Strong(target), ".")]
    today = ctx.local_now.date()
    blocks += [para(*_clock_line(c, today)) for c in clocks_of(ctx, moved)]
    if target == "submitted":
        met = rfp_timing_met(moved, store.deal_steps(ctx.db, int(moved["id"])), ctx.knowledge.dealreg)
        if met is False:
            hours = ctx.knowledge.dealreg.hours_before
            blocks.append(note(f"⚠️ Submitted less than {hours} hours before the RFP ([dealreg] hours_before)."))
    if target == "validated":
        blocks += _duplicates(ctx, str(moved["customer"]), int(moved["id"]))
    found = _step_actions(moved)
    if found:
        blocks.append(actions(*found))
    return reply(*blocks, effects=("refresh-message",))


def _check(ctx: Context, args: list[str], done: bool) -> Reply:
    deal = _find(ctx, args[0] if args else None)
    items = ctx.knowledge.dealreg.checklist
    number = record_id(args[1]) if len(args) > 1 else None
    if number is None or number > len(items):
        raise DealError(f"Which item? Give its number, 1 to {len(items)}, as /whisperer deal show {deal['id']} lists.")
    with transaction(ctx.db):
        if done:
            changed = store.check_item(ctx.db, int(deal["id"]), number, ctx.now, ctx.user_id)
        else:
            changed = store.uncheck_item(ctx.db, int(deal["id"]), number)
    mark = "☑" if done else "☐"
    verb = ("ticked" if changed else "already ticked") if done else ("unticked" if changed else "not ticked")
    return reply(para(f"Deal {_deal_word(deal)}: {mark} {number}. {items[number - 1]} — {verb}."))


def show_deal(ctx: Context, deal: dict[str, Any]) -> Reply:
    today = ctx.local_now.date()
    money = show_money(deal.get("value"), deal.get("currency"))
    facts = [ORIGINS[str(deal["origin"])], f"{deal['state']} since {local_day(str(deal['state_at']), ctx.tz)}"]
    if money:
        facts.append(money)
    if deal.get("rfp"):
        facts.append(f"RFP {datetime.fromisoformat(str(deal['rfp'])).astimezone(ctx.tz):%Y-%m-%d %H:%M}")
    line: list[Inline] = [" · ".join(facts)]
    if deal.get("owner"):
        line += [" · owner ", Mention(str(deal["owner"]))]
    blocks: list[Block] = [Heading(f"Deal #{deal['id']}: {deal['customer']}"), para(*line)]
    blocks += [para(*_clock_line(c, today)) for c in clocks_of(ctx, deal)]
    ticked = store.checked_items(ctx.db, int(deal["id"]))
    steps = store.deal_steps(ctx.db, int(deal["id"]))
    items: list[tuple[Inline, ...]] = [
        (f"{'☑' if n in ticked else '☐'} {n}. {text}",) for n, text in enumerate(ctx.knowledge.dealreg.checklist, 1)
    ]
    met = rfp_timing_met(deal, steps, ctx.knowledge.dealreg)
    hours = ctx.knowledge.dealreg.hours_before
    timing = {True: "☑", False: "☒", None: "☐"}[met]
    items.append((f"{timing} Submitted at least {hours} hours before the RFP (checked from the dates)",))
    blocks += [para(Strong("Checklist")), bullets(*items)]
    history = [
        (f"{datetime.fromisoformat(str(s['at'])).astimezone(ctx.tz):%Y-%m-%d %H:%M} {s['state']}", *_by(s))
        for s in steps
    ]
    blocks += [para(Strong("History")), bullets(*history)]
    blocks += _duplicates(ctx, str(deal["customer"]), int(deal["id"]))
    found = _step_actions(deal)
    found += [
        Action(f"Tick {n}", "deal-check", f"{deal['id']} {n}", f"deal check {deal['id']} {n}")
        for n in range(1, len(ctx.knowledge.dealreg.checklist) + 1)
        if n not in ticked and deal["state"] not in CLOSED
    ]
    if found:
        blocks.append(actions(*found))
    return reply(*blocks)


def _by(step: dict[str, Any]) -> tuple[Inline, ...]:
    who = str(step.get("by") or "")
    tail: tuple[Inline, ...] = (f" — {step['note']}",) if step.get("note") else ()
    if who.startswith(("U", "W")) and who[1:].isalnum():
        return (" by ", Mention(who), *tail)
    return ((f" by {who}",) if who else ()) + tail


@command(
    "deal",
    USAGE,
    "The opportunity ledger: add a deal, follow it through Huawei's validation, tick its checklist.",
    "deal add PT Nusantara Logistics 2027-01-15 120000 USD",
    "deal submit 3",
    "deal show 3",
    "deal offered Bank Sentosa",
    "deal prereg PT Samudra",
    group="money",
)
def deal_command(ctx: Context, args: list[str]) -> Reply:
    if not args:
        raise UsageError("Say what to do: deal add CUSTOMER …, deal show ID, or a step such as deal submit ID.")
    verb, rest = args[0].lower(), args[1:]
    try:
        if verb == "add":
            return _new_deal(ctx, "partner", rest)
        if verb in ("offered", "ho"):
            return _new_deal(ctx, "huawei", rest)
        if verb in ("prereg", "preregister"):
            return _new_deal(ctx, "prereg", rest)
        if verb in STEPS:
            return _step(ctx, verb, rest)
        if verb in ("check", "tick", "uncheck", "untick"):
            return _check(ctx, rest, verb in ("check", "tick"))
        if verb == "show":
            return show_deal(ctx, _find(ctx, rest[0] if rest else None))
    except DealError as exc:
        return error(str(exc))
    if record_id(verb) is not None:
        return show_deal(ctx, _find(ctx, verb))
    known = ["add", "offered", "prereg", "show", "check", "uncheck", *STEPS]
    raise UsageError(f"I don't know the deal step '{verb}'. Steps: {', '.join(known)}.")


FILTERS = ("open", "all", "mine", "partner", "huawei", "prereg")


@command(
    "deals",
    "deals [open|all|mine|partner|huawei|prereg|STATE|CUSTOMER]",
    "The opportunity ledger: open deals by default, soonest deadline first; filter by state, origin or customer.",
    "deals",
    "deals submitted",
    "deals Nusantara",
    group="money",
)
def deals_command(ctx: Context, args: list[str]) -> Reply:
    words = [a.lower() for a in args]
    rows = store.list_deals(ctx.db)
    shown = "open"
    for word in words:
        if word in STATES:
            rows, shown = [r for r in rows if r["state"] == word], word
        elif word == "all":
            shown = "all"
        elif word == "mine":
            rows = [r for r in rows if r.get("owner") and r["owner"] == ctx.user_id]
        elif word in ORIGINS:
            rows = [r for r in rows if r["origin"] == word]
        elif word != "open":
            key = store.customer_key(" ".join(args[words.index(word) :]))
            rows, shown = [r for r in rows if key in str(r["customer_key"])], "all"
            break
    if shown == "open":
        rows = [r for r in rows if r["state"] not in CLOSED]
    today = ctx.local_now.date()
    if not rows:
        return reply(
            para("No deals match." if args else "No open deals. The pipeline is as quiet as a portal on a Sunday."),
            note("Add one with ", Mono(f"/whisperer {ADD_USAGE}"), "."),
        )
    listed = []
    for deal in rows:
        clocks = clocks_of(ctx, deal)
        soonest = min((c.due for c in clocks), default=date.max)
        listed.append((soonest, -int(deal["id"]), deal, clocks))
    listed.sort(key=lambda item: (item[0], item[1]))
    items: list[tuple[Inline, ...]] = []
    for _due, _id, deal, clocks in listed[:50]:
        money = show_money(deal.get("value"), deal.get("currency"))
        head: list[Inline] = [Mono(f"#{deal['id']}"), " ", Strong(str(deal["customer"])), f" — {deal['state']}"]
        if money:
            head.append(f" · {money}")
        for c in clocks:
            head.append(f" · {c.what[0].lower()}{c.what[1:]} {c.due:%Y-%m-%d} ({when_left(c.due, today)})")
        items.append(tuple(head))
    blocks: list[Block] = [Heading(f"Deals ({shown}): {len(rows)}"), bullets(*items)]
    if len(listed) > 50:
        blocks.append(note(f"… and {len(listed) - 50} more. Narrow it: /whisperer deals submitted, deals mine."))
    return reply(*blocks)


@deadline_source
def deal_deadlines(ctx: Context, first: date, last: date) -> list[Deadline]:
    """Every open deal's clocks: in `deadlines`, the .ics export, Home and the digest."""
    found = []
    for deal in store.list_deals(ctx.db, ["draft", "submitted", "offered", "preregistered"]):
        for c in clocks_of(ctx, deal):
            if first <= c.due <= last:
                key = f"deal:{deal['id']}:{c.kind}:{c.due}"
                found.append(Deadline(c.due, clock_title(c, deal), ("deal ledger ", Mono(f"#{deal['id']}")), key, c.at))
    return found


@dataclass(frozen=True)
class DealReminder:
    """One reminder the daily sweep sends once (its key): to the deal's owner, or the channel when it has none."""

    key: str
    owner: str | None
    message: Reply


def deal_reminders(ctx: Context) -> list[DealReminder]:
    """Each open deal's clock that has reached its warning day: Huawei's validation running out (its last
    working days), an offer to accept, a pre-registration about to lapse."""
    today = ctx.local_now.date()
    found = []
    for deal in store.list_deals(ctx.db, ["submitted", "offered", "preregistered"]):
        for c in clocks_of(ctx, deal):
            if c.warn_from is None or not c.warn_from <= today <= c.due:
                continue
            heading = {
                "validation": "Huawei has not validated this deal yet",
                "accept": "Huawei offered you an opportunity",
                "prereg": "A pre-registration is about to lapse",
            }[c.kind]
            fix = {
                "validation": "Chase your Huawei account manager, then record the answer:",
                "accept": "Accept it in Partner Center, then record it:",
                "prereg": "Submit it as an opportunity before then, or let it go:",
            }[c.kind]
            message = reply(
                Heading(heading),
                para(Strong(f"{clock_title(c, deal)}.")),
                para(*_clock_line(c, today)),
                note(fix),
                actions(*_step_actions(deal)),
                ephemeral=False,
            )
            found.append(DealReminder(f"deal:{deal['id']}:{c.kind}-warning:{c.due}", deal.get("owner"), message))
    return found
