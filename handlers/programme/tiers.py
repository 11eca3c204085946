"""tiers, tier, policy: what the partner programme calls things now, and which rules changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from handlers.registry import Context, UsageError, command, did_you_mean, suggest
from handlers.reply import Block, Heading, Inline, Link, Mono, Reply, Strong, bullets, code_excerpt, error, note, para
from handlers.reply import reply as make_reply
from storage.database import Database
from storage.db import parse_stamp
from storage.programme import knowledge
from storage.watching import changes as store


def day(stamp: str | None, tz: tzinfo) -> str:
    return parse_stamp(stamp).astimezone(tz).date().isoformat() if stamp else "?"


def source_label(row: dict[str, Any], name_key: str = "source_name", id_key: str = "source_id") -> Inline:
    name = str(row.get(name_key) or row.get(id_key) or "source")
    url = str(row.get("url") or "")
    return Link(url, name) if url.startswith(("http://", "https://")) else name


@dataclass(frozen=True)
class TierStep:
    old: str
    new: str
    stamp: str


@dataclass(frozen=True)
class TierAnswer:
    asked: str
    current: str | None  # the name it has now, if it is still on a ladder
    steps: tuple[TierStep, ...]  # renames followed from the asked name
    removed_at: str | None
    ladder: tuple[str, ...]
    ladder_source: dict[str, Any] | None


def resolve_tier(db: Database, name: str) -> TierAnswer | None:
    """Follow renames from any name the ladder has ever used to the name it has today."""
    ladders = knowledge.ladders(db)
    events = knowledge.tier_events(db)
    current = name
    steps: list[TierStep] = []
    since = ""
    removed_at = None
    for _ in range(len(events) + 1):
        step = next(
            (
                e
                for e in events
                if e["kind"] == "renamed"
                and e["old_name"].casefold() == current.casefold()
                and e["detected_at"] >= since
            ),
            None,
        )
        if step is None:
            break
        steps.append(TierStep(step["old_name"], step["new_name"], step["detected_at"]))
        current, since = step["new_name"], step["detected_at"]
    for row in ladders:
        for tier in row["tiers"]:
            if tier.casefold() == current.casefold():
                return TierAnswer(name, tier, tuple(steps), None, tuple(row["tiers"]), row)
    for e in events:
        if e["kind"] == "removed" and e["old_name"].casefold() == current.casefold():
            removed_at = e["detected_at"]
    if steps or removed_at:
        return TierAnswer(name, None, tuple(steps), removed_at, (), None)
    return None


def current_tier_name(db: Database, name: str) -> str:
    answer = resolve_tier(db, name)
    return answer.current if answer and answer.current else name


def tier_position(db: Database, name: str) -> tuple[int, tuple[str, ...]] | None:
    """1-based level of a tier (under any of its names) on its ladder, or None if no ladder knows it."""
    answer = resolve_tier(db, name)
    if answer is None or answer.current is None:
        return None
    folded = [t.casefold() for t in answer.ladder]
    return folded.index(answer.current.casefold()) + 1, answer.ladder


def partner_tier(ctx: Context) -> str | None:
    """The partner's tier under its current name (renames the bot saw are followed)."""
    return knowledge.effective_tier(ctx.db, ctx.partner.get("tier"))


def _is(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.casefold() == b.casefold()


@command(
    "tiers",
    "tiers",
    "The tier ladder, your tier on it, and every rename seen.",
    "tiers",
    group="partner",
)
def tiers_command(ctx: Context, args: list[str]) -> Reply:
    if args:
        raise UsageError("tiers takes no arguments; to look up one tier, use /whisperer tier NAME.")
    mine = partner_tier(ctx)
    configured = ctx.partner.get("tier")
    blocks: list[Block] = [Heading("Tier ladder")]
    ladders = knowledge.ladders(ctx.db)
    if not ladders:
        blocks.append(
            para(
                "No tier ladder yet: add a source with ",
                Mono('topic = "tiers"'),
                " to whisperer.toml and run ",
                Mono("whisperer poll"),
                ".",
            )
        )
    for row in ladders:
        items: list[tuple[Inline, ...]] = []
        for i, tier in enumerate(row["tiers"], start=1):
            if _is(tier, mine):
                former = f", formerly {configured}" if configured and not _is(configured, mine) else ""
                items.append((f"{i}. ", Strong(tier), f"  ← {ctx.partner.get('name', 'you')}{former}"))
            else:
                items.append((f"{i}. {tier}",))
        blocks += [para("From ", source_label(row), f" (as of {day(row['observed_at'], ctx.tz)}):"), bullets(*items)]
        if mine and not any(_is(t, mine) for t in row["tiers"]):
            blocks.append(note(f"Your tier, {mine}, is not on this ladder: check [partner] tier in whisperer.toml."))
    if mine:
        blocks.append(para("Your tier: ", Strong(mine), "."))
    else:
        blocks.append(note("Your own tier is not configured: set [partner] tier in whisperer.toml."))
    events = knowledge.tier_events(ctx.db)
    if events:
        history: list[tuple[Inline, ...]] = []
        for e in reversed(events):
            text: str = {
                "renamed": f"{e['old_name']} → {e['new_name']}",
                "added": f"added {e['new_name']}",
                "removed": f"removed {e['old_name']}",
                "reordered": f"reordered: {e['new_name']}",
            }.get(e["kind"], str(e["kind"]))
            change = f", change #{e['change_id']}" if e["change_id"] else ""
            history.append(
                (f"{day(e['detected_at'], ctx.tz)}: ", text, f" ({e['source_name'] or e['source_id']}{change})")
            )
        blocks += [para(Strong("History")), bullets(*history)]
    else:
        blocks.append(note("No renames seen yet. Tier names are stable, for now."))
    return make_reply(*blocks)


@command(
    "tier",
    "tier NAME",
    "What a tier is called now, where it sits on the ladder, and whether it is yours (old names work too).",
    "tier Premier",
    group="partner",
)
def tier_command(ctx: Context, args: list[str]) -> Reply:
    if not args:
        raise UsageError("Which tier? Give its name, old or new.")
    name = " ".join(args).strip()
    answer = resolve_tier(ctx.db, name)
    mine = partner_tier(ctx)
    if answer is None:
        known = sorted(
            {t for row in knowledge.ladders(ctx.db) for t in row["tiers"]}
            | {e["old_name"] for e in knowledge.tier_events(ctx.db) if e["old_name"]}
        )
        if not known:
            return error(
                f"I know no tiers yet, so not '{name}'.",
                "Add a source with ",
                Mono('topic = "tiers"'),
                " and run ",
                Mono("whisperer poll"),
                ".",
            )
        close = suggest(name, [k.lower() for k in known])
        hint = next((k for k in known if k.lower() == close), None) if close else None
        return error(
            f"I don't know a tier called '{name}'.",
            *((f"Did you mean '{hint}'? ",) if hint else ()),
            "Known tiers: ",
            ", ".join(known),
            ".",
        )
    lines: list[Block] = []
    final = answer.current or (answer.steps[-1].new if answer.steps else name)
    yours = "; that is your tier" if _is(final, mine) else ""
    if answer.steps:
        history = ", then ".join(f"{s.new} on {day(s.stamp, ctx.tz)}" for s in answer.steps)
        lines.append(para(Strong(answer.steps[0].old), f" was renamed {history}{yours}."))
    if answer.current:
        level = [t.casefold() for t in answer.ladder].index(answer.current.casefold()) + 1
        sentence: list[Inline] = [
            Strong(answer.current),
            f" is level {level} of {len(answer.ladder)} on the ",
            source_label(answer.ladder_source or {}),
            ": ",
            " → ".join(answer.ladder),
            ".",
        ]
        if not answer.steps and yours:
            sentence.append(" That is your tier.")
        elif not yours and mine:
            sentence.append(f" Your tier is {mine}.")
        lines.append(para(*sentence))
        if not answer.steps:
            former = [
                e
                for e in knowledge.tier_events(ctx.db)
                if e["kind"] == "renamed" and _is(e["new_name"], answer.current)
            ]
            if former:
                lines.append(
                    note(f"It was called {former[-1]['old_name']} until {day(former[-1]['detected_at'], ctx.tz)}.")
                )
    if answer.removed_at:
        lines.append(para(Strong(final), f" was removed from the ladder on {day(answer.removed_at, ctx.tz)}."))
    return make_reply(Heading(f"Tier: {name}"), *lines)


def _changed_lines(diff: str, limit: int = 6) -> list[tuple[Inline, ...]]:
    body = [line for line in diff.splitlines()[2:] if line[:1] in "+-"]
    items: list[tuple[Inline, ...]] = [(Mono(line[:1]), " ", line[1:]) for line in body[:limit]]
    if len(body) > limit:
        items.append((f"… {len(body) - limit} more",))
    return items


def _match_policy(rows: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    folded = name.casefold()
    for row in rows:
        if folded in (row["id"].casefold(), str(row["name"]).casefold()):
            return row
    partial = [r for r in rows if folded in r["id"].casefold() or folded in str(r["name"]).casefold()]
    return partial[0] if len(partial) == 1 else None


@command(
    "policy",
    "policy [NAME]",
    "Tracked policies with their current version, when they last changed and the lines that changed.",
    "policy",
    "policy cross-cloud-policy",
    group="partner",
)
def policy_command(ctx: Context, args: list[str]) -> Reply:
    rows = knowledge.policy_sources(ctx.db)
    if not rows:
        return make_reply(
            Heading("Policies"),
            para("No policy sources. Add one with ", Mono('topic = "policy"'), " to whisperer.toml."),
        )
    if args:
        name = " ".join(args)
        row = _match_policy(rows, name)
        if row is None:
            return error(
                f"No tracked policy matches '{name}'.",
                did_you_mean(name, [r["id"] for r in rows]),
                "List them with ",
                Mono("/whisperer policy"),
                ".",
            )
        return _policy_detail(ctx, row)
    items: list[tuple[Inline, ...]] = []
    for row in rows:
        label = source_label(row, "name", "id")
        if not row["version"]:
            items.append((label, " — no version string found on the page"))
            continue
        updated = f", page says updated {row['updated']}" if row["updated"] else ""
        was = f" (was {row['previous_version']})" if row["previous_version"] else ""
        items.append(
            (
                label,
                " — ",
                Strong(row["version"]),
                f"{was}{updated}; version since {day(row['version_at'], ctx.tz)}; "
                f"last change {day(row['last_change_at'], ctx.tz) if row['last_change_at'] else 'none yet'}",
            )
        )
    blocks: list[Block] = [Heading("Policies"), bullets(*items)]
    for row in rows:
        if row["last_change_id"]:
            change = store.get_change(ctx.db, int(row["last_change_id"]))
            if change:
                blocks.append(
                    para(
                        Strong(str(row["name"] or row["id"])),
                        f" changed on {day(change['detected_at'], ctx.tz)} (#{change['id']}):",
                    )
                )
                blocks.append(bullets(*_changed_lines(change["diff"])))
    blocks.append(note("One in detail: ", Mono(f"/whisperer policy {rows[0]['id']}"), "."))
    return make_reply(*blocks)


def _policy_detail(ctx: Context, row: dict[str, Any]) -> Reply:
    title = str(row["name"] or row["id"])
    versions = knowledge.policy_versions(ctx.db, row["id"])
    blocks: list[Block] = [Heading(f"{title} {row['version'] or '(no version found)'}")]
    blocks.append(note(source_label(row, "name", "id"), f" · {row['id']}"))
    if versions:
        blocks.append(
            bullets(
                *(
                    (
                        Strong(v["version"]) if i == 0 else v["version"],
                        f" — seen {day(v['observed_at'], ctx.tz)}",
                        f", page says updated {v['updated']}" if v["updated"] else "",
                        f" (change #{v['change_id']})" if v["change_id"] else "",
                    )
                    for i, v in enumerate(versions)
                )
            )
        )
    if row["last_change_id"]:
        change = store.get_change(ctx.db, int(row["last_change_id"]))
        if change:
            blocks.append(para(f"Last change, {day(change['detected_at'], ctx.tz)}: {change['summary']}"))
            blocks.append(code_excerpt(change["diff"], max_lines=30, max_chars=2500))
            blocks.append(note("In full: ", Mono(f"/whisperer diff {change['id']}")))
    else:
        blocks.append(para("No change seen since the first snapshot."))
    return make_reply(*blocks)
