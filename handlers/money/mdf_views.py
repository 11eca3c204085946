"""What MDF answers look like: one request's card, the list, the quota; shared by the commands and the DMs."""

from __future__ import annotations

import re
from datetime import date

from handlers.money.mdf_rules import MdfDeadline, QuotaUse, money, quota_use, request_deadlines, when_text
from handlers.money.settings import BUTTONS, MOVES, VERB_OF, MdfSettings
from handlers.registry import Context
from handlers.reply import (
    Action,
    Block,
    Heading,
    Inline,
    Link,
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
from handlers.workdays import WEEKDAYS
from storage.programme import money as store

ADD_USAGE = "mdf add NAME START [END] [AMOUNT CURRENCY]"
USER = re.compile(r"^(?:<@([UW][A-Z0-9]+)(?:\|[^>]*)?>|@?([UW][A-Z0-9]{2,}))$")
LIST_LIMIT = 25


def _day(d: date) -> str:
    return f"{WEEKDAYS[d.weekday()][:3]} {d}"


def deadline_line(d: MdfDeadline, today: date) -> tuple[Inline, ...]:
    left = (d.due.day - today).days
    when = "today" if left == 0 else f"in {left} days" if left > 0 else f"{-left} days late"
    return (
        Strong(f"{d.rule.label} by {_day(d.due.day)}"),
        f" ({when}) — {d.explain()} · ",
        Link(d.rule.source, "source"),
    )


def step_actions(row: dict[str, object], settings: MdfSettings, ticked: set[str]) -> list[Action]:
    request_id = int(str(row["id"]))
    found: list[Action] = []
    for state in MOVES[str(row["state"])]:
        verb = VERB_OF[state]
        style = "danger" if verb == "reject" else "primary" if not found else ""
        found.append(Action(BUTTONS[verb], "mdf-step", f"{request_id}:{verb}", f"mdf {verb} {request_id}", style))
    if str(row["state"]) in ("planned", "applied"):
        return found  # evidence comes from the activity
    closing = {r.closed_by for r in settings.rules if r.closed_by}
    for item in settings.evidence:
        if item.id in closing and row["state"] != "reimbursed":
            continue
        if item.id not in ticked:
            found.append(
                Action(f"✓ {item.id}", "mdf-tick", f"{request_id}:{item.id}", f"mdf tick {request_id} {item.id}")
            )
    return found[:25]


def request_card(ctx: Context, request_id: int, heading: str = "") -> Reply:
    settings = ctx.knowledge.money.mdf
    row = store.get_request(ctx.db, request_id)
    if row is None:
        return error(f"There is no MDF request #{request_id}.", "See them all with ", Mono("/whisperer mdf all"), ".")
    today = ctx.local_now.date()
    ticked = store.evidence(ctx.db, request_id)
    history = store.steps(ctx.db, request_id)
    entered = {str(s["state"]): str(s["at"]) for s in history}
    blocks: list[Block] = [Heading(heading or f"MDF #{request_id} {row['name']}: {row['state']}")]
    span = f"{row['start']}" + (f" to {row['end']}" if row["end"] != row["start"] else "")
    owner: tuple[Inline, ...] = (" · owner ", Mention(str(row["owner"]))) if row["owner"] else (" · no owner",)
    blocks.append(para(f"Activity {span} · {money(row['amount'], row['currency'])}", *owner))
    dues = request_deadlines(row, settings, ctx.knowledge.calendars, ctx.tz, ticked, entered)
    if dues:
        blocks.append(bullets(*(deadline_line(d, today) for d in dues)))
        late = [d for d in dues if d.due.day < today and d.rule.late]
        for d in late:
            blocks.append(note(f"{d.rule.label} is late: {d.rule.late}."))
    elif row["state"] == "reimbursed":
        blocks.append(para("Done: reimbursed, and nothing left to do."))
    buttons = step_actions(row, settings, set(ticked))
    if buttons:
        blocks.append(actions(*buttons))
    checklist = [
        (("☑ " if item.id in ticked else "☐ ") + item.label + " · ", Mono(item.id)) for item in settings.evidence
    ]
    blocks.append(para(Strong("Evidence")))
    blocks.append(bullets(*checklist))
    if settings.warnings:
        blocks.append(note("⚠ " + " ".join(settings.warnings)))
    steps = [
        (
            f"{when_text(str(s['at']), ctx.tz)} {s['state']} by ",
            *_who(s["by"]),
            *((f": {s['note']}",) if s["note"] else ()),
        )
        for s in history[-8:]
    ]
    blocks.append(para(Strong("History")))
    blocks.append(bullets(*steps))
    blocks.append(
        note(
            "Steps: ",
            Mono(f"/whisperer mdf approve {request_id}"),
            " (apply, approve, reject, resubmit, held, claim, reimbursed) · tick evidence: ",
            Mono(f"/whisperer mdf tick {request_id} photos"),
        )
    )
    return reply(*blocks)


def _who(by: object) -> tuple[Inline, ...]:
    text = str(by or "the terminal")
    return (Mention(text),) if USER.match(text) else (text,)


def quota_lines(uses: list[QuotaUse]) -> list[tuple[Inline, ...]]:
    lines: list[tuple[Inline, ...]] = []
    for u in uses:
        c = u.quota.currency
        line: tuple[Inline, ...] = (
            Strong(f"{u.quota.period}: "),
            f"quota {money(u.quota.amount, c)} · committed {money(u.committed, c)} · claimed {money(u.claimed, c)} · "
            f"reimbursed {money(u.reimbursed, c)} · ",
            Strong(f"remaining {money(u.remaining, c)}"),
        )
        if u.remaining < 0:
            line += (" — over the quota",)
        if u.other_currency or u.no_amount:
            line += (f" ({u.other_currency} in another currency, {u.no_amount} without an amount: not counted)",)
        lines.append(line)
    return lines


def quota(ctx: Context) -> Reply:
    settings = ctx.knowledge.money.mdf
    if not settings.quotas:
        return reply(
            Heading("MDF quota"),
            para("No quota configured."),
            note(
                'Add one to whisperer.toml: [[mdf.quota]] period = "2027" (or "2027-Q1"), amount = 50000, '
                'currency = "USD".'
            ),
        )
    rows = store.list_requests(ctx.db)
    return reply(Heading("MDF quota"), bullets(*quota_lines([quota_use(q, rows) for q in settings.quotas])))


def listing(ctx: Context, everything: bool) -> Reply:
    settings = ctx.knowledge.money.mdf
    rows = store.list_requests(ctx.db)
    today = ctx.local_now.date()
    ticks = store.all_evidence(ctx.db)
    shown: list[tuple[Inline, ...]] = []
    finished = 0
    for row in rows:
        dues = request_deadlines(row, settings, ctx.knowledge.calendars, ctx.tz, ticks.get(int(row["id"]), ()))
        if not dues and row["state"] == "reimbursed" and not everything:
            finished += 1
            continue
        nxt: tuple[Inline, ...] = ()
        if dues:
            left = (dues[0].due.day - today).days
            when = "today" if left == 0 else f"in {left} days" if left > 0 else f"{-left} days late"
            nxt = (" · next: ", Strong(f"{dues[0].rule.label} by {_day(dues[0].due.day)}"), f" ({when})")
        shown.append(
            (
                Mono(f"#{row['id']}"),
                f" {row['name']} · ",
                Strong(str(row["state"])),
                f" · {row['start']} · {money(row['amount'], row['currency'])}",
                *nxt,
            )
        )
    if not rows:
        return reply(
            Heading("MDF requests"),
            para("None yet."),
            note(
                "Plan one: ",
                Mono(f"/whisperer {ADD_USAGE}"),
                " (in Slack, ",
                Mono("/whisperer mdf add"),
                " opens a form).",
            ),
        )
    blocks: list[Block] = [Heading("MDF requests")]
    blocks.append(bullets(*shown[:LIST_LIMIT]) if shown else para("Nothing open."))
    more = len(shown) - LIST_LIMIT
    tail = []
    if more > 0:
        tail.append(f"{more} more not shown (mdf show ID for one, mdf csv for all).")
    if finished:
        tail.append(f"{finished} finished (mdf all shows them).")
    if settings.quotas:
        blocks.append(bullets(*quota_lines([quota_use(q, rows) for q in settings.quotas])))
    blocks.append(
        note(
            *(" ".join(tail) + " " if tail else ""),
            "One: ",
            Mono("/whisperer mdf show ID"),
            " · new: ",
            Mono("/whisperer mdf add"),
        )
    )
    return reply(*blocks)
