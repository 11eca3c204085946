"""Alerts that carry their own wording (tier renames, policy versions, reminders, DMs).

The payload holds plain text: "text" (required; *stars* mark emphasis), and optionally "heading",
"excerpt" (a diff shown as code), "items" (bullets), "note" (small print) and "actions" (buttons, each a
dict of handlers.reply.Action's fields). Nothing in it is Slack markup,
so renderers escape it like any other text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from handlers.reply import (
    Action,
    Block,
    Heading,
    Inline,
    Reply,
    Strong,
    actions,
    bullets,
    code_excerpt,
    note,
    para,
    reply,
)

_EMPHASIS = re.compile(r"\*([^*\n]+)\*")


def emphasis(text: str) -> tuple[Inline, ...]:
    """ "Heads-up: *Premier* is now called …" → plain text with Strong parts."""
    parts: list[Inline] = []
    last = 0
    for match in _EMPHASIS.finditer(text):
        if match.start() > last:
            parts.append(text[last : match.start()])
        parts.append(Strong(match.group(1)))
        last = match.end()
    if last < len(text):
        parts.append(text[last:])
    return tuple(parts)


def compose_notice(payload: Mapping[str, Any]) -> Reply:
    blocks: list[Block] = []
    if payload.get("heading"):
        blocks.append(Heading(str(payload["heading"])))
    for paragraph in str(payload["text"]).split("\n\n"):
        blocks.append(para(*emphasis(paragraph)))
    if payload.get("items"):
        blocks.append(bullets(*(emphasis(str(item)) for item in payload["items"])))
    if payload.get("excerpt"):
        blocks.append(code_excerpt(str(payload["excerpt"]), max_lines=15, max_chars=1800))
    if payload.get("note"):
        blocks.append(note(*emphasis(str(payload["note"]))))
    if payload.get("actions"):
        blocks.append(actions(*(Action(**{k: str(v) for k, v in a.items()}) for a in payload["actions"])))
    return reply(*blocks, ephemeral=False)
