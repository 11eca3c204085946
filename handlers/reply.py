"""The reply model: what a handler answers, before anyone decides between Block Kit and plain text.

Text inside the model is plain (never Slack markup); renderers escape it. Emphasis, links and code
are structure (Strong, Link, Mono), so source text can never turn into a mention or a forged link.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Strong:
    text: str


@dataclass(frozen=True)
class Mono:
    text: str


@dataclass(frozen=True)
class Link:
    url: str
    label: str


@dataclass(frozen=True)
class Mention:
    """A Slack user: `<@U…>` in Slack (Slack shows the name), `@name` or `@U…` in the terminal."""

    user_id: str
    name: str = ""


Inline = str | Strong | Mono | Link | Mention


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Para:
    parts: tuple[Inline, ...]


@dataclass(frozen=True)
class Bullets:
    items: tuple[tuple[Inline, ...], ...]


@dataclass(frozen=True)
class Code:
    text: str
    more: int = 0  # lines left out, shown as "… N more lines"


@dataclass(frozen=True)
class Note:
    """Small print: context lines, hints, "did you mean"."""

    parts: tuple[Inline, ...]


@dataclass(frozen=True)
class Divider:
    pass


@dataclass(frozen=True)
class Action:
    """Something the reader can do: a button in Slack, the same thing as a command to type elsewhere.

    `intent` names what it does ("ack", "diff", "mute", "cert-booked", …) and `value` what it acts on (a
    change id, a topic, a certification id); `command` is the /whisperer line that does exactly the same,
    so nothing is reachable only by clicking. A click is checked like the typed command (admins, holders).
    `pick` asks for a value first: "date" shows a date picker (the command's DATE is the date picked).
    """

    label: str
    intent: str
    value: str
    command: str
    style: str = ""  # "primary" | "danger" | "" (Slack's button styles)
    pick: str = ""  # "" | "date"


@dataclass(frozen=True)
class Actions:
    """A row of actions (at most 25 in Slack)."""

    items: tuple[Action, ...]


Block = Heading | Para | Bullets | Code | Note | Divider | Actions


@dataclass(frozen=True)
class Reply:
    blocks: tuple[Block, ...]
    ephemeral: bool = True
    error: bool = False
    # Side effects the caller (bot/) must carry out after replying, e.g. "reload-sources", or "refresh-message"
    # (what the clicked message shows has changed: redraw it).
    effects: tuple[str, ...] = field(default=())
    # A form that asks for the arguments instead ("cert-add", "deadline-add", "source-add"): Slack opens it as a
    # modal; the terminal shows the reply's blocks, which say what to type.
    form: str = ""
    # What the form opens with (e.g. the person and date `person leave` was typed with), as (field, value) pairs.
    form_meta: tuple[tuple[str, str], ...] = ()


def para(*parts: Inline) -> Para:
    return Para(tuple(parts))


def note(*parts: Inline) -> Note:
    return Note(tuple(parts))


def bullets(*items: tuple[Inline, ...] | Inline) -> Bullets:
    return Bullets(tuple(item if isinstance(item, tuple) else (item,) for item in items))


def actions(*items: Action) -> Actions:
    return Actions(tuple(items))


def reply(*blocks: Block, ephemeral: bool = True, effects: tuple[str, ...] = (), form: str = "") -> Reply:
    return Reply(tuple(blocks), ephemeral=ephemeral, effects=effects, form=form)


def error(problem: str, *fix: Inline) -> Reply:
    """An error reply: the problem in one line, then how to fix it."""
    blocks: list[Block] = [para(Strong("⚠ "), problem)]
    if fix:
        blocks.append(note(*fix))
    return Reply(tuple(blocks), ephemeral=True, error=True)


def command_line(action: Action) -> str:
    """The typed equivalent of an action, as shown next to it: "/whisperer ack 12"."""
    return f"/whisperer {action.command}"


def plain_text(parts: tuple[Inline, ...]) -> str:
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, Link):
            out.append(f"{part.label} ({part.url})" if part.label != part.url else part.url)
        elif isinstance(part, Mention):
            out.append(f"@{part.name or part.user_id}")
        else:
            out.append(part.text)
    return "".join(out)


def code_excerpt(text: str, max_lines: int = 20, max_chars: int = 2500) -> Code:
    """A diff or page excerpt trimmed to fit Slack's block limits, counting what was left out."""
    lines = text.splitlines()
    kept: list[str] = []
    size = 0
    for line in lines[:max_lines]:
        if size + len(line) + 1 > max_chars:
            break
        kept.append(line)
        size += len(line) + 1
    return Code("\n".join(kept), more=len(lines) - len(kept))


def storage_reply(problem: str, fix: str) -> Reply:
    """What a person sees when the answer needed a database the bot cannot use (full disk, file lost)."""
    return error(
        f"I can't write to my database right now: {problem}. Nothing was changed.",
        f"An admin can fix it: {fix}.",
    )
