"""ignore: what *Not important* teaches. A rule built from a change's lines makes such changes of its source low
(recorded, listed by `changes` and in the digest, never posted). Nothing is ever dropped; `ignore` in the
config still removes noise before hashing."""

from __future__ import annotations

from typing import Any

from handlers.alerting.levels import LEVEL_MARKS
from handlers.registry import Context, UsageError, admin_refusal, command, record_id
from handlers.reply import (
    Action,
    Block,
    Heading,
    Inline,
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
from handlers.watch.changes import when
from storage.db import transaction
from storage.watching import changes as store
from storage.watching import levels as stored
from watchers.facts.levels import ImportanceRule, diff_sides, learned_pattern

USAGE = "ignore CHANGE_ID | ignore confirm CHANGE_ID | ignore list | ignore remove RULE_ID"
SHOWN = 8  # past changes a proposal lists by number


def would_match(db: Any, source_id: str, pattern: str) -> list[dict[str, Any]]:
    """The source's past changes a rule with this pattern would have made low."""
    rule = ImportanceRule(pattern, "low", source=source_id)
    found = []
    for row in stored.source_diffs(db, source_id):
        removed, added = diff_sides(str(row["diff"] or ""))
        if rule.matches([*removed, *added], "normal"):
            found.append(row)
    return found


def _change(ctx: Context, args: list[str], verb: str) -> dict[str, Any] | Reply:
    change_id = record_id(args[0]) if len(args) == 1 else None
    if change_id is None:
        raise UsageError(f"{verb} takes one change number, as shown by /whisperer changes (e.g. 12).")
    change = store.get_change(ctx.db, change_id)
    if change is None:
        return error(f"There is no change #{change_id}.", "Recent ones: ", Mono("/whisperer changes"), ".")
    removed, added = diff_sides(str(change["diff"] or ""))
    if not removed and not added:
        return error(f"Change #{change_id} has no changed lines to build a rule from.", "Nothing was stored.")
    return change


def _pattern(change: dict[str, Any]) -> str:
    removed, added = diff_sides(str(change["diff"] or ""))
    return learned_pattern(removed, added)


def propose(ctx: Context, change: dict[str, Any]) -> Reply:
    source_id, pattern = str(change["source_id"]), _pattern(change)
    matched = would_match(ctx.db, source_id, pattern)
    existing = stored.find_rule(ctx.db, source_id, pattern)
    blocks: list[Block] = [
        para(
            "⚪ Make changes like #",
            str(change["id"]),
            " of ",
            Strong(source_id),
            " ",
            Strong("low"),
            ": still recorded, listed by ",
            Mono("/whisperer changes"),
            " and in the digest, never posted to the channel.",
        ),
        para("The rule (every changed line must match; numbers may differ):"),
        note(Mono(pattern)),
    ]
    if change.get("level") == "urgent":
        blocks.append(
            note(f"⚠ #{change['id']} was urgent ({change.get('level_why')}); such changes would be low all the same.")
        )
    if matched:
        shown: list[tuple[Inline, ...]] = [
            (f"#{row['id']} ", when(row["detected_at"], ctx.tz), f" — {row['summary']}") for row in matched[:SHOWN]
        ]
        blocks.append(para(f"It would have matched {len(matched)} past change{'s' if len(matched) != 1 else ''}:"))
        blocks.append(bullets(*shown))
        if len(matched) > SHOWN:
            blocks.append(note(f"… and {len(matched) - SHOWN} more."))
    if existing is not None:
        blocks.append(note(f"This rule is already stored (#{existing['id']}); nothing to confirm."))
        return reply(*blocks)
    change_id = str(change["id"])
    confirm = Action("Confirm: make such changes low", "ignore-confirm", change_id, f"ignore confirm {change_id}")
    blocks.append(actions(confirm))
    blocks.append(
        note("Nothing is stored until you confirm. Undo later with ", Mono("/whisperer ignore remove N"), ".")
    )
    return reply(*blocks)


def confirm(ctx: Context, change: dict[str, Any]) -> Reply:
    source_id, pattern = str(change["source_id"]), _pattern(change)
    with transaction(ctx.db):
        existing = stored.find_rule(ctx.db, source_id, pattern)
        rule_id = stored.add_rule(
            ctx.db, source_id, pattern, "low", int(change["id"]), ctx.user_id or "terminal", ctx.now
        )
    if existing is not None:
        return reply(
            para(f"Rule #{rule_id} already makes such changes of ", Strong(source_id), " low; nothing changed.")
        )
    return reply(
        para(
            f"{LEVEL_MARKS['low']} Stored rule #{rule_id}: such changes of ", Strong(source_id), " are low from now on."
        ),
        note(
            "They are still recorded, listed by ",
            Mono(f"/whisperer changes {source_id}"),
            " and in the digest. Remove it with ",
            Mono(f"/whisperer ignore remove {rule_id}"),
            ".",
        ),
    )


def rule_items(rows: list[dict[str, Any]], ctx: Context) -> list[tuple[Inline, ...]]:
    return [
        (
            Strong(f"#{row['id']}"),
            " ",
            Strong(str(row["source_id"])),
            f" → {row['level']}: ",
            Mono(str(row["pattern"])),
            f" (from change #{row['change_id']}, {when(row['created_at'], ctx.tz)})" if row["change_id"] else "",
        )
        for row in rows
    ]


def list_rules(ctx: Context) -> Reply:
    rows = stored.list_rules(ctx.db)
    if not rows:
        return reply(
            Heading("Importance rules"),
            para("No taught rules yet. Click ", Strong("Not important"), " on a change alert (admins) to propose one."),
        )
    return reply(
        Heading("Importance rules"),
        para(f"{len(rows)} rule{'s' if len(rows) != 1 else ''} taught with Not important:"),
        bullets(*rule_items(rows, ctx)),
        note(
            "[[importance]] rules in whisperer.toml apply too. Remove one of these with ",
            Mono("/whisperer ignore remove N"),
            ".",
        ),
    )


def remove(ctx: Context, args: list[str]) -> Reply:
    rule_id = record_id(args[0]) if len(args) == 1 else None
    if rule_id is None:
        raise UsageError("ignore remove takes one rule number, as shown by /whisperer ignore list (e.g. 3).")
    with transaction(ctx.db):
        row = stored.get_rule(ctx.db, rule_id)
        removed = stored.remove_rule(ctx.db, rule_id)
    if not removed or row is None:
        return error(f"There is no rule #{rule_id}.", "See ", Mono("/whisperer ignore list"), ".")
    return reply(
        para(
            f"Removed rule #{rule_id}: changes of ",
            Strong(str(row["source_id"])),
            " like it get their usual level again.",
        ),
        note("Changes already recorded keep the level they were given."),
    )


@command(
    "ignore",
    USAGE,
    "Not important: propose a rule that makes such changes of a source low (recorded, not posted); list, remove.",
    "ignore 12",
    "ignore confirm 12",
    "ignore list",
    "ignore remove 3",
)
def ignore_command(ctx: Context, args: list[str]) -> Reply:
    verb = args[0].lower() if args else ""
    if verb == "list":
        if len(args) != 1:
            raise UsageError("ignore list takes no more arguments.")
        return list_rules(ctx)
    if not ctx.is_admin:
        return admin_refusal("teach or remove importance rules")
    if verb == "remove":
        return remove(ctx, args[1:])
    if verb == "confirm":
        found = _change(ctx, args[1:], "ignore confirm")
        return found if isinstance(found, Reply) else confirm(ctx, found)
    found = _change(ctx, args, "ignore")
    return found if isinstance(found, Reply) else propose(ctx, found)
