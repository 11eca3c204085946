"""dealreg RFP_DATE [CUSTOMER]: the last moment to register a deal, the checklist, and a deadline."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from handlers.registry import Context, UsageError, command
from handlers.reply import Block, Heading, Inline, Mono, Reply, Strong, bullets, note, para, reply
from storage.db import transaction
from storage.programme import deadlines as store
from watchers.facts.dates import parse_day

_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_CLOCKISH = re.compile(r"^\d+[:.]\d+$")


def span(delta: timedelta) -> str:
    """3 days 14 hours, 5 hours, 40 minutes."""
    minutes = int(abs(delta.total_seconds()) // 60)
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    parts = [f"{days} day{'s' if days != 1 else ''}"] if days else []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if not days and not hours:
        parts.append(f"{mins} minute{'s' if mins != 1 else ''}")
    return " ".join(parts[:2])


def parse_rfp(args: list[str], ctx: Context) -> tuple[datetime, bool, list[str]]:
    """The RFP release moment (team timezone), whether its time was given, and the words left (customer)."""
    first = args[0]
    if "T" in first and parse_day(first.split("T")[0]):
        try:
            moment = datetime.fromisoformat(first)
        except ValueError:
            raise UsageError(f"'{first}' is not a date and time; write 2027-01-15T14:00.") from None
        return (moment if moment.tzinfo else moment.replace(tzinfo=ctx.tz)), True, args[1:]
    for n in (3, 2, 1):
        day = parse_day(" ".join(args[:n])) if len(args) >= n else None
        if day is None:
            continue
        rest = args[n:]
        clock = _CLOCK.match(rest[0]) if rest else None
        if clock and int(clock.group(1)) < 24 and int(clock.group(2)) < 60:
            return datetime.combine(day, time(int(clock.group(1)), int(clock.group(2))), ctx.tz), True, rest[1:]
        if rest and _CLOCKISH.match(rest[0]):  # a time that isn't one must not become part of the customer
            raise UsageError(f"'{rest[0]}' is not a time of day; write it on the 24-hour clock, e.g. 14:00.")
        return datetime.combine(day, ctx.knowledge.dealreg.rfp_time, ctx.tz), False, rest
    raise UsageError(f"'{first}' is not a date; write the RFP release date as 2027-01-15 (a time may follow: 14:00).")


@command(
    "dealreg",
    "dealreg RFP_DATE [TIME] [CUSTOMER]",
    "The last moment to register a deal before an RFP, the checklist, and a deadline in /whisperer deadlines.",
    "dealreg 2027-01-15 PT Nusantara Logistics",
    "dealreg 2027-01-15 14:00 Nusantara",
    group="partner",
)
def dealreg_command(ctx: Context, args: list[str]) -> Reply:
    if not args:
        raise UsageError("When is the RFP released? Give its date.")
    settings = ctx.knowledge.dealreg
    release, timed, rest = parse_rfp(args, ctx)
    release = release.astimezone(ctx.tz)
    customer = " ".join(rest).strip()
    deadline = release - timedelta(hours=settings.hours_before)
    now = ctx.now.astimezone(ctx.tz)
    tz = getattr(ctx.tz, "key", str(ctx.tz))
    title = f"Deal registration{f': {customer}' if customer else ''}"
    shown = f"{deadline:%A %Y-%m-%d %H:%M} {tz}"
    if deadline.time() == time(0, 0):
        shown += f" (that is, by the end of {deadline - timedelta(minutes=1):%A %Y-%m-%d})"
    blocks: list[Block] = [Heading(title)]
    rfp = f"RFP release {release:%Y-%m-%d %H:%M}" + ("" if timed else f" (time not given: {release:%H:%M} assumed)")
    if now >= deadline:
        blocks.append(
            para(
                Strong("Too late. "),
                f"Registration had to be in by {shown}, {span(now - deadline)} ago: "
                f"{settings.hours_before} hours before the {rfp}.",
            )
        )
        if now >= release:
            blocks.append(note("The RFP is already out."))
        return reply(*blocks)
    blocks.append(
        para(
            "Register by ",
            Strong(shown),
            f" — {span(deadline - now)} from now, {settings.hours_before} hours before the {rfp}.",
        )
    )
    if not timed:
        blocks.append(
            note(
                "Know the release time? Give it for an exact deadline: ", Mono("/whisperer dealreg 2027-01-15 14:00 …")
            )
        )
    blocks.append(para(Strong("Checklist")))
    blocks.append(bullets(*((f"☐ {item}",) for item in settings.checklist)))
    key = f"dealreg:{customer.casefold()}:{release.isoformat()}"
    summary = f"Register the deal{f' with {customer}' if customer else ''} (RFP out {release:%Y-%m-%d %H:%M})"
    with transaction(ctx.db):
        deadline_id, added = store.add_deadline(
            ctx.db, key, deadline, summary, "dealreg", ctx.now, created_by=ctx.user_id or "terminal"
        )
    where: tuple[Inline, ...] = (
        ("Added to ", Mono("/whisperer deadlines"), f" as #{deadline_id}.")
        if added
        else ("Already in ", Mono("/whisperer deadlines"), f" as #{deadline_id}.")
    )
    blocks.append(note(*where))
    return reply(*blocks)
