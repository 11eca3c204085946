"""ack, mute, unmute: who is on a change, and holding a noisy source's alerts for a while.

The same functions give a change alert its buttons (`change_actions`) and its status lines (`change_status`),
so a click, a typed command and a redrawn message all say the same thing.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any

from handlers.registry import Context, UsageError, command, needs_user
from handlers.reply import Action, Block, Mention, Mono, Reply, Strong, error, note, para, reply
from handlers.watch.changes import when
from storage.database import Database
from storage.db import stamp, transaction
from storage.outbox import ownership
from storage.team import people
from storage.watching import changes as store
from storage.watching import sources as state
from watchers.sources import parse_every

REFRESH = ("refresh-message",)
DEFAULT_MUTE = "24h"
MAX_MUTE = timedelta(days=30)
# A second click within this margin of an existing mute's end is the same mute, not a new one.
SAME_MUTE = timedelta(minutes=10)


def mention(db: Database, user_id: str) -> Mention:
    """A Slack user, with their name when we know them (the terminal shows it; Slack shows its own)."""
    person = people.find_person(db, user_id)
    return Mention(user_id, str(person["name"]) if person else "")


def duration(seconds: int) -> str:
    """ "24 h", "6 h", "3 d", "30 min": how long a mute lasts, as people say it."""
    if seconds % 86400 == 0 and seconds > 2 * 86400:
        return f"{seconds // 86400} d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min"


def change_actions(
    change: dict[str, Any], *, owner: str | None, muted: bool, channel: bool = True
) -> tuple[Action, ...]:
    """What one can do about a change: read it all, take it, follow its topic, and (admins) mute its source."""
    change_id = str(change["id"])
    found: list[Action] = [Action("Full diff", "diff", change_id, f"diff {change_id}")]
    if owner is None:
        found.append(Action("I'm on it", "ack", change_id, f"ack {change_id}", style="primary"))
    if channel:
        topic = str(change["topic"])
        found.append(Action(f"Subscribe to {topic}", "subscribe", topic, f"subscribe {topic}"))
        if not muted:
            source = str(change["source_id"])
            found.append(Action("Mute this source 24 h (admins)", "mute", source, f"mute {source} {DEFAULT_MUTE}"))
        if change.get("level") != "low":  # teaches a rule: such changes of this source become low
            found.append(Action("Not important (admins)", "ignore", change_id, f"ignore {change_id}"))
    return tuple(found)


def change_status(
    db: Database, owner: dict[str, Any] | None, mute: dict[str, Any] | None, tz: tzinfo
) -> tuple[Block, ...]:
    """ "@ana is on it", "muted until …": what people acted on, shown under the alert."""
    lines: list[Block] = []
    if owner is not None:
        lines.append(
            note("👤 ", mention(db, str(owner["user_id"])), f" is on it (since {when(owner['taken_at'], tz)}).")
        )
    if mute is not None:
        lines.append(
            note(
                "🔇 ",
                mention(db, str(mute["muted_by"])),
                f" muted this source until {when(mute['until'], tz)}: its changes are still recorded, "
                "their alerts are held until then.",
            )
        )
    return tuple(lines)


def _change_id(args: list[str], verb: str) -> int:
    if len(args) != 1 or not args[0].lstrip("#").isdigit():
        raise UsageError(f"{verb} takes one change number, as shown by /whisperer changes (e.g. 12).")
    return int(args[0].lstrip("#"))


@command(
    "ack",
    "ack CHANGE_ID",
    "Say you're on a change (\"I'm on it\"): its alert and /whisperer changes show who took it.",
    "ack 12",
)
def ack_command(ctx: Context, args: list[str]) -> Reply:
    change_id = _change_id(args, "ack")
    refusal = needs_user(ctx, "ack")
    if refusal:
        return refusal
    assert ctx.user_id is not None
    change = store.get_change(ctx.db, change_id)
    if change is None:
        return error(f"There is no change #{change_id} any more.", "Recent ones: ", Mono("/whisperer changes"), ".")
    with transaction(ctx.db):
        owner, taken = ownership.take_change(ctx.db, change_id, ctx.user_id, ctx.now)
    what = f"change #{change_id} ({change['source_name'] or change['source_id']}: {change['summary']})"
    if taken:
        return reply(
            para("👍 You're on ", what, ". The alert now says so."), effects=(*REFRESH, f"redraw-change:{change_id}")
        )
    if owner == ctx.user_id:
        return reply(para(f"You are already on change #{change_id}; nothing changed."))
    row = ownership.change_owner(ctx.db, change_id)
    since = f" since {when(row['taken_at'], ctx.tz)}" if row else ""
    return reply(
        para("🙂 ", mention(ctx.db, owner), f" is already on change #{change_id}{since}, so I left it with them."),
        note("Two people on one change is one too many; ask them if they'd like a hand."),
    )


def _source_row(ctx: Context, args: list[str], verb: str, usage: str) -> dict[str, Any] | Reply:
    if not args:
        raise UsageError(f"{verb} needs a source id, as shown by /whisperer sources.", usage)
    row = state.get_source(ctx.db, args[0])
    if row is None or row["retired"]:
        return error(f"There is no source '{args[0]}' any more.", "See ", Mono("/whisperer sources"), ".")
    return row


@command(
    "mute",
    "mute SOURCE [DURATION]",
    "Hold a noisy source's alerts for a while (24h unless you say, e.g. 6h or 2d); changes are still recorded.",
    "mute csp-tiers",
    "mute partner-center-changes 6h",
    group="admin",
    admin_only=True,
)
def mute_command(ctx: Context, args: list[str]) -> Reply:
    usage = "mute SOURCE [DURATION]"
    found = _source_row(ctx, args, "mute", usage)
    if isinstance(found, Reply):
        return found
    if len(args) > 2:
        raise UsageError("mute takes a source and, optionally, how long (e.g. 24h).", usage)
    text = args[1] if len(args) == 2 else DEFAULT_MUTE
    try:
        length = timedelta(seconds=parse_every(text))
    except ValueError:
        raise UsageError(f"'{text}' is not a duration; write it like 30m, 6h or 2d.", usage) from None
    if length > MAX_MUTE:
        raise UsageError(f"{text} is longer than 30 days; for that long, pause the source instead.", usage)
    source_id = str(found["id"])
    until = ctx.now + length
    by = ctx.user_id or "terminal"
    with transaction(ctx.db):
        current = ownership.mute_of(ctx.db, source_id, ctx.now)
        same = current is not None and abs(datetime.fromisoformat(current["until"]) - until) <= SAME_MUTE
        if not same:
            ownership.mute_source(ctx.db, source_id, until, by, ctx.now)
    if same:
        assert current is not None
        return reply(para(Strong(source_id), f" is already muted until {when(current['until'], ctx.tz)}."))
    return reply(
        para(
            "🔇 Muted ",
            Strong(source_id),
            f" for {duration(int(length.total_seconds()))}, until {when(stamp(until), ctx.tz)}.",
        ),
        note(
            "Its changes are still recorded and its alerts are held until then. Unmute early with ",
            Mono(f"/whisperer unmute {source_id}"),
            ".",
        ),
        effects=(*REFRESH, f"redraw-source:{source_id}"),
    )


@command(
    "unmute",
    "unmute SOURCE",
    "End a mute early: the held alerts go out on the next delivery run.",
    "unmute csp-tiers",
    group="admin",
    admin_only=True,
)
def unmute_command(ctx: Context, args: list[str]) -> Reply:
    found = _source_row(ctx, args, "unmute", "unmute SOURCE")
    if isinstance(found, Reply):
        return found
    source_id = str(found["id"])
    with transaction(ctx.db):
        removed = ownership.unmute_source(ctx.db, source_id)
        if removed:
            ownership.release_held(ctx.db, source_id, ctx.now)
    if not removed:
        return reply(para(Strong(source_id), " was not muted; nothing changed."))
    return reply(
        para("🔔 ", Strong(source_id), " is unmuted; alerts held for it go out now."),
        effects=(*REFRESH, f"redraw-source:{source_id}"),
    )
