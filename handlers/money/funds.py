"""fund [NAME], fund tick|untick NAME ITEM [NOTE]: gated funds and how far the partner is towards each gate."""

from __future__ import annotations

from handlers.money.settings import Fund
from handlers.registry import Context, UsageError, command, did_you_mean
from handlers.reply import Action, Block, Heading, Inline, Mono, Reply, Strong, actions, bullets, note, para, reply
from storage.db import transaction
from storage.programme import money as store

USAGE = "fund [NAME] | fund tick|untick NAME ITEM [NOTE]"


def _fund(ctx: Context, name: str) -> Fund:
    fund = ctx.knowledge.money.fund(name)
    if fund is None:
        ids = [f.id for f in ctx.knowledge.money.funds]
        raise UsageError(f"No fund '{name}'. {did_you_mean(name, ids)}Funds: {', '.join(ids) or 'none configured'}.")
    return fund


def progress(ctx: Context, fund: Fund, heading: str = "") -> Reply:
    ticks = store.fund_ticks(ctx.db, fund.id)
    counts = {item.id: [t for t in ticks if t["item"] == item.id] for item in fund.items}
    lines: list[tuple[Inline, ...]] = []
    missing: list[str] = []
    buttons: list[Action] = []
    for item in fund.items:
        have = len(counts[item.id])
        mark = "☑" if have >= item.count else "☐"
        notes = [str(t["note"]) for t in counts[item.id] if t["note"]]
        line: tuple[Inline, ...] = (f"{mark} {item.label} ", Strong(f"{have} of {item.count}"), " · ", Mono(item.id))
        if notes:
            line += (f" ({'; '.join(notes)})",)
        lines.append(line)
        if have < item.count:
            missing.append(f"{item.count - have} more {item.label.lower()}")
            buttons.append(
                Action(f"+1 {item.id}", "fund-tick", f"{fund.id}:{item.id}", f"fund tick {fund.id} {item.id}")
            )
    met = sum(len(counts[i.id]) >= i.count for i in fund.items)
    blocks: list[Block] = [
        Heading(heading or f"{fund.name}: {met} of {len(fund.items)} requirements met"),
        bullets(*lines),
    ]
    if missing:
        blocks.append(para(Strong("Missing:"), " " + "; ".join(missing) + "."))
    else:
        blocks.append(para(Strong("Every requirement is met."), " Time to apply."))
    if buttons:
        blocks.append(actions(*buttons))
    blocks.append(
        note(
            "Tick one: ",
            Mono(f'/whisperer fund tick {fund.id} {fund.items[0].id} "what it was"'),
            *((f" · requirements from {fund.source}",) if fund.source else ()),
        )
    )
    return reply(*blocks)


@command(
    "fund",
    USAGE,
    "Gated funds: each requirement with its count (references 2 of 3), what is missing, and ticks.",
    "fund innovation",
    'fund tick innovation references "PT Maju Bersama"',
    group="money",
)
def fund_command(ctx: Context, args: list[str]) -> Reply:
    funds = ctx.knowledge.money.funds
    if not args:
        if not funds:
            return reply(Heading("Gated funds"), para("None configured."), note("Add [[funds]] to whisperer.toml."))
        rows = []
        for fund in funds:
            ticks = store.fund_ticks(ctx.db, fund.id)
            met = sum(sum(t["item"] == i.id for t in ticks) >= i.count for i in fund.items)
            rows.append((Strong(fund.name), f" ({fund.id}): {met} of {len(fund.items)} requirements met"))
        return reply(Heading("Gated funds"), bullets(*rows), note("One: ", Mono("/whisperer fund NAME")))
    action = args[0].lower()
    if action not in ("tick", "untick"):
        return progress(ctx, _fund(ctx, " ".join(args)))
    if len(args) < 3:
        raise UsageError(f"Which fund and which requirement? e.g. fund {action} innovation references")
    fund = _fund(ctx, args[1])
    item = fund.item(args[2].lower())
    if item is None:
        ids = [i.id for i in fund.items]
        raise UsageError(
            f"{fund.name} has no requirement '{args[2]}'. {did_you_mean(args[2], ids)}They are: {', '.join(ids)}."
        )
    text = " ".join(args[3:]).strip()
    if action == "tick":
        with transaction(ctx.db):
            store.tick_fund(ctx.db, fund.id, item.id, text, ctx.user_id or "terminal", ctx.now)
        return reply(
            *progress(ctx, fund, f"{fund.name}: {item.label.lower()} ticked").blocks, effects=("refresh-message",)
        )
    with transaction(ctx.db):
        removed = store.untick_fund(ctx.db, fund.id, item.id)
    if removed is None:
        return reply(*progress(ctx, fund, f"{fund.name}: no {item.label.lower()} to untick").blocks)
    return reply(
        *progress(ctx, fund, f"{fund.name}: one {item.label.lower()} unticked").blocks, effects=("refresh-message",)
    )
