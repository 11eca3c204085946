"""deadlines, deadline add/remove: one list from every origin, in the team's timezone."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from handlers.programme.tiers import partner_tier, source_label
from handlers.registry import Context, UsageError, admin_refusal, command, form_reply, record_id
from handlers.reply import Block, Heading, Inline, Mono, Reply, Strong, bullets, error, note, para, reply
from handlers.team.certificates import first_name
from storage.db import parse_stamp, transaction
from storage.programme import deadlines as store
from storage.team import certifications as certs
from watchers.facts.dates import parse_day

DEFAULT_DAYS = 90


@dataclass(frozen=True)
class Deadline:
    due: date  # in the team's timezone
    title: str
    origin: tuple[Inline, ...]  # where it came from, for people
    key: str  # stable, for calendar UIDs
    at: datetime | None = None  # a moment, for deadlines with a time of day
    ref: int | None = None  # stored deadlines: the id `deadline remove` takes


DeadlineSource = Callable[[Context, date, date], list[Deadline]]
# Features that keep deadlines of their own (MDF requests, settlements, …) register a source here.
DEADLINE_SOURCES: list[DeadlineSource] = []


def deadline_source(fn: DeadlineSource) -> DeadlineSource:
    """Register `fn(ctx, first, last)`: its deadlines from `first` to `last` join every deadline list."""
    DEADLINE_SOURCES.append(fn)
    return fn


def when_left(due: date, today: date) -> str:
    days = (due - today).days
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    return f"in {days} days" if days > 0 else f"{-days} days ago"


def collect_deadlines(ctx: Context, days: int) -> list[Deadline]:
    """Everything due from now to `days` days ahead: partner status, renewal, certifications, rebate claim
    windows, and stored ones (typed, found in sources, deal registrations). Soonest first."""
    today = ctx.local_now.date()
    last = today + timedelta(days=days)
    found: list[Deadline] = []
    partner = str(ctx.partner.get("name") or "Your company")
    expires = ctx.partner.get("status_expires")
    if isinstance(expires, date):
        tier = partner_tier(ctx)
        what = f"{partner}'s partner status{f' ({tier})' if tier else ''} expires"
        found.append(Deadline(expires, what, ("[partner] status_expires",), f"partner-status:{expires}"))
    renewal = ctx.knowledge.renewal.date
    if renewal and renewal != expires:
        found.append(Deadline(renewal, "Partner renewal review", ("[renewal] date",), f"renewal:{renewal}"))
    for cert in certs.list_certifications(ctx.db, until=last):
        found.append(
            Deadline(
                date.fromisoformat(cert["expires"]),
                f"{first_name(cert['person'])}'s {cert['name']} expires",
                ("certifications ", Mono(f"#{cert['id']}")),
                f"cert:{cert['id']}:{cert['expires']}",
            )
        )
    for rebate in ctx.knowledge.rebates:
        for day, verb in ((rebate.claim_opens, "opens"), (rebate.claim_closes, "closes")):
            if day:
                found.append(
                    Deadline(
                        day,
                        f"Claim window for {rebate.name} {verb}",
                        (f"[[rebates]] {rebate.id}",),
                        f"rebate:{rebate.id}:{verb}:{day}",
                    )
                )
    for row in store.live_deadlines(ctx.db):
        at = parse_stamp(row["due"]).astimezone(ctx.tz) if row["timed"] else None
        origin: tuple[Inline, ...] = {
            "manual": (f"added by {row['created_by'] or 'the terminal'} ",),
            "dealreg": ("deal registration ",),
        }.get(row["origin"], (source_label(row), " "))
        found.append(
            Deadline(
                at.date() if at else date.fromisoformat(row["due"]),
                row["title"],
                (*origin, Mono(f"#{row['id']}")),
                row["key"],
                at,
                int(row["id"]),
            )
        )
    for more in DEADLINE_SOURCES:
        found.extend(more(ctx, today, last))
    upcoming = [d for d in found if today <= d.due <= last and (d.at is None or d.at >= ctx.now.astimezone(ctx.tz))]
    return sorted(upcoming, key=lambda d: (d.due, d.at.time() if d.at else datetime.min.time(), d.title))


@command(
    "deadlines",
    "deadlines [DAYS]",
    "Every deadline in the next DAYS days (90 by default), soonest first, with days left and its origin.",
    "deadlines",
    "deadlines 30",
    group="partner",
)
def deadlines_command(ctx: Context, args: list[str]) -> Reply:
    days = DEFAULT_DAYS
    if args:
        if len(args) != 1 or not args[0].isdigit() or not 0 < int(args[0]) <= 3660:
            raise UsageError(f"'{' '.join(args)}' is not a number of days (1 to 3660).")
        days = int(args[0])
    today = ctx.local_now.date()
    items = collect_deadlines(ctx, days)
    tz = getattr(ctx.tz, "key", str(ctx.tz))
    title = f"Deadlines in the next {days} days ({tz})"
    if not items:
        return reply(
            Heading(title),
            para(f"No deadlines in the next {days} days. Enjoy it while it lasts."),
            note("Add one with ", Mono("/whisperer deadline add DATE TEXT"), "."),
        )
    rows: list[tuple[Inline, ...]] = []
    for d in items:
        moment = f"{d.due} {d.at:%H:%M}" if d.at else str(d.due)
        rows.append((Strong(moment), f" ({when_left(d.due, today)}) — {d.title} · ", *d.origin))
    return reply(
        Heading(title),
        bullets(*rows),
        note(
            "Add: ",
            Mono("/whisperer deadline add DATE TEXT"),
            " · remove: ",
            Mono("/whisperer deadline remove ID"),
            " · calendar: ",
            Mono("whisperer deadlines --ics > deadlines.ics"),
        ),
    )


@command(
    "deadline",
    "deadline add DATE TEXT | deadline remove ID",
    "Add a deadline of your own, or remove one (yours, or any if you are an admin). `deadline add` alone opens a "
    "form in Slack.",
    "deadline add 2027-01-15 Submit the Q1 MDF application",
    "deadline remove 4",
    group="partner",
)
def deadline_command(ctx: Context, args: list[str]) -> Reply:
    if not args or args[0].lower() not in ("add", "remove", "rm"):
        raise UsageError("Say what to do: deadline add DATE TEXT, or deadline remove ID.")
    if args[0].lower() == "add":
        if len(args) == 1:
            return form_reply("deadline-add", "deadline add DATE TEXT")
        if len(args) < 3:
            raise UsageError("deadline add needs a date and what is due.")
        day = parse_day(args[1])
        if day is None:
            raise UsageError(f"'{args[1]}' is not a date; write it as YYYY-MM-DD, e.g. 2027-01-15.")
        today = ctx.local_now.date()
        if day < today:
            raise UsageError(f"{day} has already passed (today is {today}); deadlines are about the future.")
        text = " ".join(args[2:]).strip()
        key = f"manual:{day}:{hashlib.sha1(text.casefold().encode('utf-8')).hexdigest()[:12]}"
        with transaction(ctx.db):
            deadline_id, added = store.add_deadline(
                ctx.db, key, day, text, "manual", ctx.now, created_by=ctx.user_id or "terminal"
            )
        if not added:
            return reply(para(f"That one is already on the list as #{deadline_id}."))
        return reply(
            para(f"Added #{deadline_id}: {day} ({when_left(day, today)}) — {text}."),
            note("See them all with ", Mono("/whisperer deadlines"), "."),
        )
    to_remove = record_id(args[1]) if len(args) == 2 else None
    if to_remove is None:
        raise UsageError("Which deadline? Give its number, as shown by /whisperer deadlines (e.g. #4).")
    deadline_id = to_remove
    row = store.get_deadline(ctx.db, deadline_id)
    if row is None or row["removed_at"]:
        return error(f"There is no deadline #{deadline_id}.", "List them with ", Mono("/whisperer deadlines"), ".")
    mine = row["created_by"] is not None and row["created_by"] == (ctx.user_id or "terminal")
    if not (ctx.is_admin or (mine and row["origin"] != "source")):
        return admin_refusal("remove deadlines that others added or that sources state")
    with transaction(ctx.db):
        store.remove_deadline(ctx.db, deadline_id, ctx.now, ctx.user_id or "terminal")
    blocks: list[Block] = [para(f"Removed #{deadline_id}: {row['title']}.")]
    if row["origin"] == "source":
        blocks.append(note("It came from a source; it stays removed even if the page keeps saying it."))
    return reply(*blocks)
