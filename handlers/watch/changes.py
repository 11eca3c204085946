"""help, changes, diff, sources: what the watchers have seen."""

from __future__ import annotations

from datetime import datetime, tzinfo

from handlers.alerting.meaning import headline, meaning_blocks
from handlers.registry import COMMANDS, Context, UsageError, command, record_id, resolve, suggest
from handlers.reply import (
    Action,
    Block,
    Code,
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
from handlers.timeparse import parse_since
from storage.db import parse_stamp
from storage.outbox import delivery, ownership
from storage.team import people
from storage.watching import changes as store
from storage.watching import levels
from storage.watching import sources as state

TOPIC_WORDS = ("tiers", "policy", "certification", "rebate", "announcement", "deadlines")
GROUPS = {
    "watching": "Watching the sources",
    "admin": "Admin",
    "partner": "Partner knowledge",
    "people": "People and certifications",
    "money": "Money: MDF, settlements, funds, deals, working days",
}


def when(stamp: str | None, tz: tzinfo) -> str:
    if not stamp:
        return "never"
    return parse_stamp(stamp).astimezone(tz).strftime("%Y-%m-%d %H:%M")


def ago(stamp: str | None, now: datetime) -> str:
    if not stamp:
        return "never"
    seconds = int((now - parse_stamp(stamp)).total_seconds())
    if seconds < 90:
        return "just now"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return "just now"


@command(
    "help",
    "help [subcommand]",
    "List every subcommand, or show one in detail.",
    "help",
    "help changes",
)
def help_command(ctx: Context, args: list[str]) -> Reply:
    if args:
        cmd = resolve(args[0])
        if cmd is None:
            close = suggest(args[0], sorted(COMMANDS))
            return error(
                f"There is no subcommand '{args[0]}'.",
                *(("Did you mean ", Mono(close), "? ") if close else ()),
                "Try ",
                Mono("/whisperer help"),
                ".",
            )
        blocks: list[Block] = [
            Heading(f"/whisperer {cmd.name}"),
            para(cmd.summary),
            para("Usage: ", Mono(f"/whisperer {cmd.usage}")),
            bullets(*((Mono(f"/whisperer {ex}"),) for ex in cmd.examples)),
        ]
        if cmd.admin_only:
            blocks.append(note("Admins only."))
        if cmd.aliases:
            blocks.append(note("Also answers to: ", ", ".join(cmd.aliases)))
        return reply(*blocks)
    blocks = [
        Heading("Huawei Whisperer"),
        para("I refresh the partner portal so you don't have to refresh it twice and sigh."),
    ]
    for group, title in GROUPS.items():
        cmds = [c for c in COMMANDS.values() if c.group == group]
        if not cmds:
            continue
        blocks.append(para(Strong(title)))
        blocks.append(
            bullets(
                *(
                    (
                        Mono(f"/whisperer {c.usage}"),
                        f" — {c.summary}",
                        *((" (admins)",) if c.admin_only else ()),
                    )
                    for c in cmds
                )
            )
        )
    blocks.append(note("Details and examples: ", Mono("/whisperer help <subcommand>"), "."))
    return reply(*blocks)


def _source_ids(ctx: Context) -> list[str]:
    return state.source_ids(ctx.db)


@command(
    "changes",
    "changes [source|topic] [since] [limit]",
    "The latest changes, newest first; filter by source id or topic, and a date (2026-11-01) or age (7d).",
    "changes",
    "changes policy 7d",
    "changes partner-center-changes 2026-11-01",
)
def changes_command(ctx: Context, args: list[str]) -> Reply:
    source_id = topic = None
    since = None
    limit = 10
    ids = _source_ids(ctx)
    for arg in args:
        if arg in ids:
            source_id = arg
        elif arg.lower() in TOPIC_WORDS:
            topic = arg.lower()
        elif arg.isdigit() and int(arg) <= 500 and len(arg) <= 3:
            limit = max(1, int(arg))
        elif (moment := parse_since(arg, ctx.now, ctx.tz)) is not None:
            since = moment
        else:
            close = suggest(arg, [*ids, *TOPIC_WORDS])
            hint = f" Did you mean '{close}'?" if close else ""
            raise UsageError(f"'{arg}' is not a source id, a topic, a date (2026-11-01) or an age (7d).{hint}")
    rows = store.list_changes(ctx.db, source_id=source_id, topic=topic, since=since, limit=limit)
    since_text = f"since {since.astimezone(ctx.tz):%Y-%m-%d}" if since else None
    scope = " · ".join(part for part in (source_id, topic, since_text) if part)
    title = f"Latest changes ({scope})" if scope else "Latest changes"
    if not rows:
        return reply(
            Heading(title),
            para("Nothing has changed. Either the portal is quiet, or it is about to surprise us."),
            note("Sources are listed by ", Mono("/whisperer sources"), "."),
        )
    items: list[tuple[Inline, ...]] = []
    owners = ownership.owners_of(ctx.db, (int(row["id"]) for row in rows))
    names = {o: str(p["name"]) for o in set(owners.values()) if (p := people.find_person(ctx.db, o))}
    for row in rows:
        owner = owners.get(int(row["id"]))
        items.append(
            (
                Mono(f"#{row['id']}"),
                f" {when(row['detected_at'], ctx.tz)} · ",
                Strong(row["source_name"] or row["source_id"]),
                f" ({row['topic']}): {headline(row)}",
                *((" · 👤 ", Mention(owner, names.get(owner, ""))) if owner else ()),
            )
        )
    return reply(
        Heading(title),
        bullets(*items),
        note("See one in full with ", Mono(f"/whisperer diff {rows[0]['id']}"), "."),
    )


# A page of a diff: what one message (under Slack's ~12,000 characters of block text) or one modal holds.
PAGE_LINES = 60
PAGE_CHARS = 2800
CHUNKS_PER_PAGE = 3


def diff_pages(text: str) -> list[list[str]]:
    """The diff cut into pages of up to CHUNKS_PER_PAGE code chunks (each ≤ PAGE_LINES lines, PAGE_CHARS chars)."""
    chunks: list[str] = []
    lines: list[str] = []
    size = 0
    for raw in text.splitlines() or [""]:
        line = raw if len(raw) < PAGE_CHARS else raw[: PAGE_CHARS - 2] + "…"
        if lines and (len(lines) >= PAGE_LINES or size + len(line) + 1 > PAGE_CHARS):
            chunks.append("\n".join(lines))
            lines, size = [], 0
        lines.append(line)
        size += len(line) + 1
    chunks.append("\n".join(lines))
    return [chunks[i : i + CHUNKS_PER_PAGE] for i in range(0, len(chunks), CHUNKS_PER_PAGE)]


def page_actions(change_id: int, page: int, pages: int) -> tuple[Action, ...]:
    """Previous / next page of a diff: in a modal they turn its pages, elsewhere they are commands."""
    found: list[Action] = []
    if page > 1:
        found.append(Action("← Previous page", "diff-page", f"{change_id}:{page - 1}", f"diff {change_id} {page - 1}"))
    if page < pages:
        found.append(Action("Next page →", "diff-page", f"{change_id}:{page + 1}", f"diff {change_id} {page + 1}"))
    return tuple(found)


@command(
    "diff",
    "diff CHANGE_ID [PAGE]",
    "Show one change in full: its summary, source and unified diff (a long diff in pages).",
    "diff 42",
    "diff 42 2",
)
def diff_command(ctx: Context, args: list[str]) -> Reply:
    if len(args) not in (1, 2):
        raise UsageError("Tell me which change: its number, as shown by /whisperer changes (and a page if you like).")
    change_id = record_id(args[0])
    if change_id is None:
        raise UsageError(f"'{args[0]}' is not a change number.")
    page = record_id(args[1]) if len(args) == 2 else 1
    if page is None:
        raise UsageError(f"'{args[1]}' is not a page number.")
    row = store.get_change(ctx.db, change_id)
    if row is None:
        return error(f"There is no change #{change_id}.", "List recent ones with ", Mono("/whisperer changes"), ".")
    pages = diff_pages(row["diff"])
    if not 1 <= page <= len(pages):
        return error(
            f"Change #{change_id} has {len(pages)} page{'s' if len(pages) != 1 else ''}; there is no page {page}.",
            "Start at ",
            Mono(f"/whisperer diff {change_id}"),
            ".",
        )
    source: Inline = (
        Link(row["url"], row["source_name"] or row["source_id"])
        if row["url"].startswith("http")
        else (row["source_name"] or row["source_id"])
    )
    blocks: list[Block] = [
        Heading(f"Change #{row['id']}: {row['source_name'] or row['source_id']}"),
        *(meaning_blocks(ctx.db, row) if row.get("facts") or row.get("impacts") else (para(Strong(row["summary"])),)),
        note(source, f" · {row['topic']} · {row['kind']} · detected {when(row['detected_at'], ctx.tz)}"),
        *(Code(chunk) for chunk in pages[page - 1]),
    ]
    if len(pages) > 1:
        blocks.append(note(f"Page {page} of {len(pages)}."))
        blocks.append(actions(*page_actions(int(row["id"]), page, len(pages))))
    return reply(*blocks)


def _health(row: dict[str, object], now: datetime) -> tuple[str, str]:
    if row["paused"]:
        return "⏸", "paused"
    status = str(row["last_status"])
    if status == "never":
        return "·", "not checked yet"
    if row.get("session_expired_at"):  # a state, not a failure: the portal wants a fresh login
        return "🔒", f"session expired {ago(str(row['session_expired_at']), now)} ({row['session_reason']})"
    if status == "error":
        since = row["failing_since"]
        return (
            "✗",
            f"failing ×{row['failures']} since {ago(str(since), now) if since else '?'}: {row['last_error']}",
        )
    if status == "held":
        return "⚠", "held"  # the warning says why
    label = {"not_modified": "ok (not modified)", "unchanged": "ok", "new": "ok (first snapshot)"}.get(status, "ok")
    return "✓", label


@command("sources", "sources", "Every watched source and its health: last check, failures, changes.", "sources")
def sources_command(ctx: Context, args: list[str]) -> Reply:
    if args:
        raise UsageError("sources takes no arguments (to change sources, see /whisperer help source).")
    rows = state.list_sources(ctx.db)
    if not rows:
        return reply(
            Heading("Sources"),
            para("No sources yet. Add [[sources]] to whisperer.toml and run ", Mono("whisperer poll"), "."),
        )
    items: list[tuple[Inline, ...]] = []
    failing = expired = 0
    for row in rows:
        mark, label = _health(row, ctx.now)
        failing += mark == "✗"
        expired += mark == "🔒"
        items.append(
            (
                f"{mark} ",
                Strong(row["id"]),
                f" ({row['kind']}, {row['topic']}) — {label}; checked {ago(row['last_checked'], ctx.now)}; "
                f"{row['change_count']} change{'s' if row['change_count'] != 1 else ''}",
                *((f" — warning: {row['warning']}",) if row["warning"] else ()),
            )
        )
    summary = f"{len(rows)} sources, {failing} failing" if failing else f"{len(rows)} sources, all healthy"
    if expired:
        summary = f"{len(rows)} sources, {failing} failing, {expired} logged out (session expired)"
    warned = sum(bool(row["warning"]) for row in rows)
    if warned:
        summary += f" ({warned} with a warning)"
    return reply(Heading("Sources"), para(summary), bullets(*items), *_taught_rules(ctx), *_delivery_problems(ctx))


def _taught_rules(ctx: Context) -> tuple[Block, ...]:
    """The rules Not important taught: which changes of which source are low (see /whisperer ignore list)."""
    rules = levels.list_rules(ctx.db)
    if not rules:
        return ()
    items: list[tuple[Inline, ...]] = [
        (Strong(f"#{row['id']} {row['source_id']}"), f" → {row['level']}: ", Mono(str(row["pattern"]))) for row in rules
    ]
    return (para(Strong("⚪ Importance rules"), " (", Mono("/whisperer ignore list"), ")"), bullets(*items))


def _delivery_problems(ctx: Context) -> tuple[Block, ...]:
    """Targets that refuse alerts (bot not in the channel, channel gone): the admin's to-do list."""
    blocked = delivery.blocked_targets(ctx.db)
    if not blocked:
        return ()
    items: list[tuple[Inline, ...]] = []
    for row in blocked:
        fix: tuple[Inline, ...] = (f" — {row['fix']}",) if row["fix"] else ()
        items.append((Strong(row["target"]), f": {row['error']} since {ago(row['since'], ctx.now)}", *fix))
    return (para(Strong("⚠ Alerts not delivered")), bullets(*items))
