"""The App Home tab: the latest changes and source health at a glance, built from the commands' own replies."""

from __future__ import annotations

from handlers.registry import Context, dispatch_args
from handlers.reply import Block, Divider, Mono, Reply, note, para, reply
from storage import people


def home(ctx: Context, changes: int = 8) -> Reply:
    """What a user sees on the bot's Home tab; the same words as /whisperer changes and /whisperer sources."""
    blocks: list[Block] = [
        para(f"Watching the Huawei Cloud partner programme for {ctx.partner.get('name') or 'your company'}."),
    ]
    blocks += dispatch_args(ctx, ["changes", str(changes)]).blocks
    blocks.append(Divider())
    blocks += dispatch_args(ctx, ["sources"]).blocks
    blocks.append(Divider())
    mine = people.subscriptions_of(ctx.db, ctx.user_id) if ctx.user_id else []
    if mine:
        blocks.append(
            note("Your DM subscriptions: ", ", ".join(mine), ". Change them with ", Mono("/whisperer subscribe"), ".")
        )
    else:
        blocks.append(note("Get a DM when a topic changes: ", Mono("/whisperer subscribe policy"), "."))
    blocks.append(note("Everything else: ", Mono("/whisperer help"), "."))
    return reply(*blocks)
