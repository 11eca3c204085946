"""Reply model → Block Kit (Slack) or plain text (terminal, `whisperer ask`). The only place markup is made."""

from __future__ import annotations

import re
from typing import Any

from bot.slack import limits as blocklimits
from handlers.reply import (
    Action,
    Actions,
    Bullets,
    Code,
    Divider,
    Heading,
    Inline,
    Link,
    Mention,
    Mono,
    Note,
    Para,
    Reply,
    Strong,
    command_line,
    plain_text,
)
from watchers.reading.inert import inert

# Slack limits (bot/slack/limits.py has them all, and checks them): blocks per surface, 3000 characters per
# section text, 150 per header, ~12,000 characters of block text per message (msg_blocks_too_long); a button's
# text 75, an action_id 255, a button value 2000; 25 elements in an actions block.
MAX_BLOCKS = blocklimits.MAX_BLOCKS["message"]
MAX_SECTION = blocklimits.SECTION_TEXT
MAX_HEADER = blocklimits.HEADER_TEXT
MAX_MESSAGE_TEXT = blocklimits.MAX_MESSAGE_TEXT - 500  # headroom for the "left out" line
MAX_BUTTON = blocklimits.BUTTON_TEXT
MAX_ACTION_ID = blocklimits.ACTION_ID
MAX_VALUE = blocklimits.VALUE
MAX_ELEMENTS = blocklimits.ACTIONS_ELEMENTS
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def escape(text: str) -> str:
    """Slack's three control characters; with them escaped, <!channel> and <url|label> are inert text.

    Control characters and bidi overrides go too: whatever a source slipped past the watchers stops here."""
    return inert(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Slack's mrkdwn has no escape character. A zero-width space on both sides of a marker means it neither
# opens nor closes bold, italic, strike or code: Slack wants a marker at a word edge and next to a non-space.
# An underscore inside a word (snake_case) formats nothing, so it is left alone and stays copyable.
_ZWSP = "\u200b"
_MARKER = re.compile(r"[*~`]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
_QUOTE = re.compile(r"^(\s*)&gt;", re.MULTILINE)  # ">" at a line start would make a block quote


def plain(text: str) -> str:
    """Escaped text that cannot format itself in mrkdwn: stars, underscores, tildes and backticks stay characters."""
    return _QUOTE.sub(f"\\1{_ZWSP}&gt;", _MARKER.sub(lambda m: f"{_ZWSP}{m.group()}{_ZWSP}", escape(text)))


def _mrkdwn_inline(part: Inline) -> str:
    if isinstance(part, str):
        return plain(part)
    if isinstance(part, Strong):
        text = plain(part.text).strip()
        return f"*{text}*" if text else ""
    if isinstance(part, Mono):
        return f"`{escape(part.text).replace('`', 'ˋ')}`"
    if isinstance(part, Mention):
        return f"<@{part.user_id}>" if _USER_ID.match(part.user_id) else plain(f"@{part.name or part.user_id}")
    url = inert(part.url)
    if not url.startswith(("http://", "https://")) or any(c in url for c in "<>| \n"):
        return plain(f"{part.label} ({part.url})")
    return f"<{url.replace('&', '&amp;')}|{plain(part.label).replace('|', '¦')}>"


def mrkdwn(parts: tuple[Inline, ...]) -> str:
    return "".join(_mrkdwn_inline(p) for p in parts)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _code_text(block: Code) -> str:
    """A code section that fits one section's 3000 characters with its fences intact, counting what it drops."""
    lines = escape(block.text.replace("```", "ˋˋˋ")).splitlines()
    more = block.more
    while True:
        tail = f"\n… {more} more line{'s' if more != 1 else ''}" if more else ""
        text = f"```{chr(10).join(lines)}{tail}```"
        if len(text) <= MAX_SECTION or not lines:
            return text if len(text) <= MAX_SECTION else _clip(text, MAX_SECTION - 3) + "```"
        lines.pop()
        more += 1


def to_blocks(reply: Reply, surface: str = "message") -> list[dict[str, Any]]:
    """Block Kit for a message (or a "home" / "modal" view), cut to fit that surface's limits."""
    out: list[dict[str, Any]] = []
    for block in reply.blocks:
        if isinstance(block, Heading):
            text = _clip(inert(block.text), MAX_HEADER)
            out.append({"type": "header", "text": {"type": "plain_text", "text": text}})
        elif isinstance(block, Para):
            out.append(_section(mrkdwn(block.parts)))
        elif isinstance(block, Bullets):
            lines = [f"• {mrkdwn(item)}" for item in block.items]
            # One section per ~3000 characters: long lists split rather than truncate.
            chunk: list[str] = []
            for line in lines:
                if chunk and sum(len(c) + 1 for c in chunk) + len(line) > MAX_SECTION:
                    out.append(_section("\n".join(chunk)))
                    chunk = []
                chunk.append(_clip(line, MAX_SECTION))
            if chunk:
                out.append(_section("\n".join(chunk)))
        elif isinstance(block, Code):
            out.append(_section(_code_text(block)))
        elif isinstance(block, Note):
            out.append(
                {
                    "type": "context",
                    "elements": [{"type": "mrkdwn", "text": _clip(mrkdwn(block.parts), 2000)}],
                }
            )
        elif isinstance(block, Divider):
            out.append({"type": "divider"})
        elif isinstance(block, Actions):
            out.append({"type": "actions", "elements": [_element(a) for a in block.items[:MAX_ELEMENTS]]})
    return fit_blocks(out, surface)


def fit_blocks(blocks: list[dict[str, Any]], surface: str = "message") -> list[dict[str, Any]]:
    """Drop trailing blocks past the surface's block count (and, for messages, the ~12,000-character text
    budget), saying how many were left out; a closing hint (context block) is kept when it fits."""
    max_blocks = blocklimits.MAX_BLOCKS[surface]
    max_text = MAX_MESSAGE_TEXT if surface == "message" else None
    sizes = [blocklimits.text_length([b]) for b in blocks]
    if len(blocks) <= max_blocks and (max_text is None or sum(sizes) <= max_text):
        return blocks
    tail = blocks[-1] if blocks and blocks[-1]["type"] == "context" and sizes[-1] < 1000 else None
    budget = (max_text or 10**9) - (sizes[-1] if tail else 0) - 100
    room = max_blocks - 1 - (1 if tail else 0)
    kept: list[dict[str, Any]] = []
    used = 0
    for block, size in zip(blocks[: len(blocks) - (1 if tail else 0)], sizes, strict=False):
        if len(kept) >= room or used + size > budget:
            break
        kept.append(block)
        used += size
    left = len(blocks) - len(kept) - (1 if tail else 0)
    kept.append(_section(f"… {left} more block{'s' if left != 1 else ''} left out to fit Slack's limits"))
    return [*kept, *([tail] if tail else [])]


def action_id(action: Action) -> str:
    """`intent|value`: what a click means and what it acts on, readable back with `split_action_id`."""
    return f"{action.intent}|{action.value}"[:MAX_ACTION_ID]


def split_action_id(raw: str) -> tuple[str, str]:
    intent, _, value = raw.partition("|")
    return intent, value


def _element(action: Action) -> dict[str, Any]:
    label = {"type": "plain_text", "text": _clip(inert(action.label), MAX_BUTTON), "emoji": True}
    if action.pick == "date":
        return {"type": "datepicker", "action_id": action_id(action), "placeholder": label}
    button: dict[str, Any] = {
        "type": "button",
        "text": label,
        "action_id": action_id(action),
        # The typed command, so a click and a typed line run the very same code and checks.
        "value": action.command[:MAX_VALUE],
    }
    if action.style in ("primary", "danger"):
        button["style"] = action.style
    return button


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, MAX_SECTION)}}


def fallback_text(reply: Reply, limit: int = 300) -> str:
    """The notification text Slack shows in pushes and to screen readers (escaped)."""
    for block in reply.blocks:
        if isinstance(block, Heading):
            return plain(_clip(block.text, limit))
        if isinstance(block, (Para, Note)):
            return plain(_clip(plain_text(block.parts), limit))
    return "Huawei Whisperer"


_BOLD, _DIM, _RESET, _RED = "\033[1m", "\033[2m", "\033[0m", "\033[31m"


def _text_inline(part: Inline, color: bool) -> str:
    # Text is made inert before our own colour codes go around it: a page can never write into a terminal.
    if isinstance(part, Strong):
        return f"{_BOLD}{inert(part.text)}{_RESET}" if color else inert(part.text)
    if isinstance(part, Mono):
        return inert(part.text)
    if isinstance(part, (Link, Mention)):
        return inert(plain_text((part,)))
    return inert(part)


def to_text(reply: Reply, color: bool = False) -> str:
    lines: list[str] = []
    for block in reply.blocks:
        if isinstance(block, Heading):
            heading = inert(block.text)
            lines.append(f"{_BOLD}{heading}{_RESET}" if color else heading)
            lines.append("=" * min(len(heading), 72) if not color else "")
        elif isinstance(block, Para):
            lines.append("".join(_text_inline(p, color) for p in block.parts))
        elif isinstance(block, Bullets):
            lines.extend(f"  • {''.join(_text_inline(p, color) for p in item)}" for item in block.items)
        elif isinstance(block, Code):
            lines.extend(f"    {line}" for line in inert(block.text).splitlines())
            if block.more:
                lines.append(f"    … {block.more} more line{'s' if block.more != 1 else ''}")
        elif isinstance(block, Note):
            text = "".join(_text_inline(p, False) for p in block.parts)
            lines.append(f"{_DIM}{text}{_RESET}" if color else f"  {text}")
        elif isinstance(block, Divider):
            lines.append("-" * 40)
        elif isinstance(block, Actions):
            # Every button is also a command: the terminal shows what to type instead.
            lines.extend(f"  → {command_line(a)}   — {a.label}" for a in block.items)
    text = "\n".join(line for line in lines if line != "" or not color)
    if reply.error and color:
        text = f"{_RED}{text}{_RESET}"
    return text
