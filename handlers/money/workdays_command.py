"""workdays DATE N: the working-day arithmetic every money rule uses, shown with the days it skipped."""

from __future__ import annotations

import re

from handlers.registry import Context, UsageError, command
from handlers.reply import Block, Heading, Inline, Reply, Strong, bullets, note, para, reply
from handlers.workdays import WEEKDAYS, CalendarError, Count, Due
from watchers.facts.dates import parse_day

MAX_DAYS = 500


def day_text(due: Due) -> str:
    """ "Wednesday 2026-02-18 (working days, Indonesia (ID) calendar)" — a deadline with its basis."""
    return f"{WEEKDAYS[due.day.weekday()]} {due.day} ({due.basis})"


def _count_lines(count: Count) -> list[tuple[Inline, ...]]:
    lines: list[tuple[Inline, ...]] = []
    for skipped in count.skipped:
        lines.append((f"{skipped.day} {WEEKDAYS[skipped.day.weekday()][:3]}: {skipped.reason}",))
    for worked in count.worked_weekends:
        lines.append((f"{worked} {WEEKDAYS[worked.weekday()][:3]}: ", Strong("worked"), " (adjusted working day)"))
    return sorted(lines, key=lambda line: str(line[0]))


@command(
    "workdays",
    "workdays DATE N",
    "N working days after DATE (before it when N is negative), in both calendars, with the days skipped.",
    "workdays 2026-02-12 3",
    "workdays 2026-12-24 -10",
    group="money",
)
def workdays_command(ctx: Context, args: list[str]) -> Reply:
    if len(args) != 2:
        raise UsageError("Give a date and a number of working days (negative to count back).")
    start = parse_day(args[0])
    if start is None:
        raise UsageError(f"'{args[0]}' is not a date; write it as 2026-02-12.")
    if not re.fullmatch(r"[+-]?\d{1,4}", args[1]):
        raise UsageError(f"'{args[1]}' is not a whole number of working days; e.g. 10 or -10.")
    days = int(args[1])
    if abs(days) > MAX_DAYS:
        raise UsageError(f"{days} working days is more than I count ({MAX_DAYS} at most); give a smaller number.")
    calendars = ctx.knowledge.calendars
    try:
        mine = calendars.due(start, days, whose="partner")
        theirs = calendars.due(start, days, whose="huawei")
    except CalendarError as exc:
        raise UsageError(str(exc)) from None
    direction = "after" if days >= 0 else "before"
    blocks: list[Block] = [Heading(f"{abs(days)} working day{'s' if abs(days) != 1 else ''} {direction} {start}")]
    for count in mine.counts:
        blocks.append(
            para(Strong(f"{count.calendar}: "), f"{WEEKDAYS[count.day.weekday()]} {count.day}")
            if not count.provisional
            else para(
                Strong(f"{count.calendar}: "),
                f"{WEEKDAYS[count.day.weekday()]} {count.day} ",
                Strong("provisional"),
                f" ({', '.join(map(str, count.provisional_years))} not yet known to the holiday calendar)",
            )
        )
        lines = _count_lines(count)
        if lines:
            blocks.append(bullets(*lines))
        else:
            blocks.append(note("No weekend or holiday in between."))
    if len(mine.counts) > 1:
        blocks.append(
            note(
                f"Your own duties take the earlier date ({mine.day}); Huawei's response times the later "
                f"({theirs.day}). Change the calendars under [calendar] in whisperer.toml."
            )
        )
    return reply(*blocks)
