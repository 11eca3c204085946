"""rebate [ID], rebate confirm ID: is the partner eligible, criterion by criterion, and are the rules current?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from handlers.programme.deadlines import when_left
from handlers.programme.renewal import certified_holders, difference, number
from handlers.programme.thresholds import in_force
from handlers.programme.tiers import partner_tier, source_label, tier_position
from handlers.registry import Context, UsageError, admin_refusal, command, did_you_mean
from handlers.reply import Block, Heading, Inline, Mono, Reply, Strong, bullets, error, note, para, reply
from handlers.settings import Rebate
from handlers.watch.changes import when
from storage.db import parse_stamp, transaction
from storage.programme import metrics as store
from storage.watching import changes as changes_store
from storage.watching import sources as state


@dataclass(frozen=True)
class Criterion:
    ok: bool | None  # None: cannot tell (counts as not met)
    label: str
    actual: str
    required: str
    gap: str = ""
    origin: str = ""  # where a followed threshold came from and when it was read


def _tier(ctx: Context, rebate: Rebate) -> Criterion:
    assert rebate.min_tier is not None
    mine = partner_tier(ctx)
    required = f"{rebate.min_tier} or higher"
    if not mine:
        return Criterion(None, "Tier", "not configured", required, "set [partner] tier in whisperer.toml")
    have, need = tier_position(ctx.db, mine), tier_position(ctx.db, rebate.min_tier)
    if have is None or need is None:
        if mine.casefold() == rebate.min_tier.casefold():
            return Criterion(True, "Tier", mine, required)
        return Criterion(
            None, "Tier", mine, required, 'I need the tier ladder to compare: add a source with topic = "tiers"'
        )
    ladder = need[1]
    required = f"{ladder[need[0] - 1]} (level {need[0]}) or higher"
    actual = f"{ladder[have[0] - 1]} (level {have[0]})"
    if have[0] >= need[0]:
        return Criterion(True, "Tier", actual, required)
    return Criterion(False, "Tier", actual, required, f"move up {need[0] - have[0]} level(s) to {ladder[need[0] - 1]}")


def evaluate_rebate(ctx: Context, rebate: Rebate) -> list[Criterion]:
    today = ctx.local_now.date()
    values = store.current_metrics(ctx.db, ctx.now)
    out: list[Criterion] = []
    if rebate.min_tier:
        out.append(_tier(ctx, rebate))
    for name, bound, at_least in [(n, v, True) for n, v in rebate.min_metrics] + [
        (n, v, False) for n, v in rebate.max_metrics
    ]:
        metric = ctx.knowledge.metric(name)
        label, unit = (metric.label, metric.unit) if metric else (name, "")
        found = in_force(ctx.db, rebate.follow_of(name), bound, ctx.now)
        origin = found.provenance(ctx.tz, bound)
        bound = found.value
        required = f"{'≥' if at_least else '≤'} {number(bound, unit)}"
        row = values.get(name)
        if row is None:
            gap = f"record it: /whisperer metric set {name} VALUE"
            out.append(Criterion(None, label, "not set", required, gap, origin))
            continue
        value = float(row["value"])
        ok = value >= bound if at_least else value <= bound
        gap = (
            ""
            if ok
            else (
                f"raise it by {difference(abs(bound - value), unit)}"
                if at_least
                else f"bring it down to {number(bound, unit)}"
            )
        )
        out.append(Criterion(ok, label, number(value, unit), required, gap, origin))
    settings = ctx.knowledge.certifications
    for group, needed in rebate.min_certified:
        count = len(certified_holders(ctx.db, settings, group, today))
        label = f"Certified {group.replace('_', ' ')}"
        gap = "" if count >= needed else f"{needed - count} more with {settings.describe(group)}"
        out.append(Criterion(count >= needed, label, str(count), f"≥ {needed}", gap))
    if rebate.no_overdue_bills:
        row = values.get("overdue_bills")
        if row is None:
            out.append(
                Criterion(None, "Overdue bills", "not set", "none", "check, then /whisperer metric set overdue_bills 0")
            )
        else:
            bills = float(row["value"])
            gap = "" if bills == 0 else "pay them: overdue bills freeze every benefit request"
            out.append(Criterion(bills == 0, "Overdue bills", number(bills), "none", gap))
    if rebate.claim_opens or rebate.claim_closes:
        out.append(_window(rebate, today))
    return out


def _window(rebate: Rebate, today: date) -> Criterion:
    opens, closes = rebate.claim_opens, rebate.claim_closes
    span = f"{opens or '…'} → {closes or '…'}"
    if closes and today > closes:
        return Criterion(False, "Claim window", f"closed on {closes}", span, "wait for the next window")
    if opens and today < opens:
        return Criterion(True, "Claim window", f"opens {opens} ({when_left(opens, today)})", span)
    left = f"open, closes {closes} ({when_left(closes, today)})" if closes else "open"
    return Criterion(True, "Claim window", left, span)


def _stale(ctx: Context, rebate: Rebate) -> list[Block]:
    """A warning when the rules' source changed after an admin last confirmed the rules."""
    if not rebate.source:
        return []
    latest = changes_store.list_changes(ctx.db, source_id=rebate.source, limit=1)
    latest = [c for c in latest if parse_stamp(c["detected_at"]) <= ctx.now]
    confirmed = store.last_confirmation(ctx.db, rebate.id, ctx.now)
    if not latest or (confirmed and confirmed["confirmed_at"] >= latest[0]["detected_at"]):
        if confirmed is None:
            return [note("Rules not yet confirmed by an admin: ", Mono(f"/whisperer rebate confirm {rebate.id}"), ".")]
        return []
    change = latest[0]
    source = state.get_source(ctx.db, rebate.source) or {"id": rebate.source}
    since = (
        f"after they were last confirmed on {when(confirmed['confirmed_at'], ctx.tz)}"
        if confirmed
        else "and nobody has confirmed them since"
    )
    return [
        para(
            Strong("⚠ These rules may be stale: "),
            source_label(source, "name", "id"),
            f" changed on {when(change['detected_at'], ctx.tz)} {since}. Read ",
            Mono(f"/whisperer diff {change['id']}"),
            ", update [[rebates]] if needed, then ",
            Mono(f"/whisperer rebate confirm {rebate.id}"),
            ".",
        )
    ]


def _answer(ctx: Context, rebate: Rebate) -> list[Block]:
    criteria = evaluate_rebate(ctx, rebate)
    failing = [c for c in criteria if c.ok is not True]
    verdict = "eligible" if not failing else "not eligible"
    head = f" — {verdict}" + (f" ({len(failing)} of {len(criteria)} criteria not met)" if failing else "")
    items: list[tuple[Inline, ...]] = []
    for c in criteria:
        mark = "✓" if c.ok else ("✗" if c.ok is False else "?")
        items.append(
            (
                f"{mark} ",
                Strong(c.label),
                f": {c.actual}; needs {c.required}",
                *((f" — {c.gap}",) if c.gap else ()),
                *((f" (threshold {c.origin})",) if c.origin else ()),
            )
        )
    blocks: list[Block] = [*_stale(ctx, rebate), para(Strong(rebate.name), head), bullets(*items)]
    if rebate.notes:
        blocks.append(note(rebate.notes))
    return blocks


@command(
    "rebate",
    "rebate [ID] | rebate confirm ID",
    "Rebate eligibility, every criterion ✓/✗ with actual vs required and what would close the gap.",
    "rebate",
    "rebate cross-cloud",
    "rebate confirm cross-cloud",
    group="partner",
    aliases=("rebates",),
)
def rebate_command(ctx: Context, args: list[str]) -> Reply:
    rebates = ctx.knowledge.rebates
    if args and args[0].lower() == "confirm":
        if not ctx.is_admin:
            return admin_refusal("confirm rebate rules")
        if len(args) != 2:
            raise UsageError("Which programme? rebate confirm ID.")
        rebate = _find(ctx, args[1])
        if isinstance(rebate, Reply):
            return rebate
        latest = changes_store.list_changes(ctx.db, source_id=rebate.source, limit=1) if rebate.source else []
        with transaction(ctx.db):
            store.confirm_rebate(
                ctx.db, rebate.id, ctx.now, ctx.user_id or "terminal", latest[0]["id"] if latest else None
            )
        return reply(para(f"Confirmed the rules of {rebate.name} as of {ctx.local_now:%Y-%m-%d %H:%M}."))
    if not rebates:
        return reply(
            Heading("Rebates"),
            para("No rebate programmes configured. Money left on the table is still money."),
            note("Describe them as [[rebates]] in whisperer.toml (see the README)."),
        )
    if len(args) > 1:
        raise UsageError("Give one programme id, or none for all.")
    chosen = rebates
    if args:
        found = _find(ctx, args[0])
        if isinstance(found, Reply):
            return found
        chosen = (found,)
    blocks: list[Block] = [Heading("Rebate eligibility")]
    for rebate in chosen:
        blocks += _answer(ctx, rebate)
    return reply(*blocks)


def _find(ctx: Context, rebate_id: str) -> Rebate | Reply:
    found = ctx.knowledge.rebate(rebate_id.lower())
    if found:
        return found
    ids = [r.id for r in ctx.knowledge.rebates]
    return error(
        f"There is no rebate programme '{rebate_id}'.",
        did_you_mean(rebate_id, ids),
        f"Programmes: {', '.join(ids) or 'none configured'}.",
    )
