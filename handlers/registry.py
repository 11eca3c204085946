"""The /whisperer command table: one place that knows every subcommand, its usage and its help."""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from importlib import import_module
from typing import Any

from handlers.reply import Mono, Reply, error, note, para, reply
from handlers.settings import KnowledgeSettings
from storage.database import Database
from watchers.fetching.network import NetworkPolicy

Handler = Callable[["Context", list[str]], Reply]


@dataclass(frozen=True)
class Context:
    """Everything a handler may use: the database, the time, who asks, and the team's settings."""

    db: Database
    now: datetime
    tz: tzinfo
    user_id: str | None = None
    admins: tuple[str, ...] = ()
    operator: bool = False  # the terminal's own user, who holds the database file anyway
    partner: Mapping[str, Any] = field(default_factory=dict)
    sections: Mapping[str, Any] = field(default_factory=dict)
    sources: tuple[Any, ...] = ()  # SourceSpec objects from the configuration
    alerts_channel: str | None = None
    knowledge: KnowledgeSettings = field(default_factory=KnowledgeSettings)  # [renewal], [[rebates]], …
    network: NetworkPolicy = field(default_factory=NetworkPolicy)  # [fetch] allow_private, for source add

    @property
    def is_admin(self) -> bool:
        return self.operator or (self.user_id is not None and self.user_id in self.admins)

    @property
    def local_now(self) -> datetime:
        return self.now.astimezone(self.tz)


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    summary: str
    examples: tuple[str, ...]
    handler: Handler
    group: str = "watching"
    admin_only: bool = False  # the whole command; some commands check per sub-action instead
    aliases: tuple[str, ...] = ()


COMMANDS: dict[str, Command] = {}
_ALIASES: dict[str, str] = {}

# The modules whose import registers the subcommands, in the order help lists them (watching first). Importing
# `handlers` registers nothing: the poll path and config loading need none of these.
COMMAND_MODULES = (
    "handlers.watch.changes",
    "handlers.watch.admin",
    "handlers.watch.importance",
    "handlers.watch.ownership",
    "handlers.programme.tiers",
    "handlers.programme.deadlines",
    "handlers.programme.dealreg",
    "handlers.money.deals",
    "handlers.money.funds",
    "handlers.money.mdf",
    "handlers.money.settlements",
    "handlers.money.workdays_command",
    "handlers.programme.renewal",
    "handlers.overview.digest",
    "handlers.team.certs",
    "handlers.overview.home",
    "handlers.programme.glossary",
    "handlers.programme.rebates",
    "handlers.team.plan_view",
    "handlers.team.whatif",
    "handlers.team.leavers",
    "handlers.team.matrix",
)
_loaded = False


def load_commands() -> Mapping[str, Command]:
    """Import every subcommand module (once) and return the command table in help order.

    A module imported earlier on its own (the digest job imports its handler) registered out of turn, so the
    table is put back in COMMAND_MODULES order; within a module, commands keep the order they are defined in.
    """
    global _loaded
    if not _loaded:
        for module in COMMAND_MODULES:
            import_module(module)
        rank = {module: i for i, module in enumerate(COMMAND_MODULES)}
        ordered = sorted(COMMANDS.items(), key=lambda item: rank.get(item[1].handler.__module__, len(rank)))
        COMMANDS.clear()
        COMMANDS.update(ordered)
        _loaded = True
    return COMMANDS


def command(
    name: str,
    usage: str,
    summary: str,
    *examples: str,
    group: str = "watching",
    admin_only: bool = False,
    aliases: tuple[str, ...] = (),
) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        COMMANDS[name] = Command(name, usage, summary, examples or (name,), fn, group, admin_only, aliases)
        for alias in aliases:
            _ALIASES[alias] = name
        return fn

    return register


class UsageError(Exception):
    """Bad arguments: the message names the problem; `usage` shows the right form."""

    def __init__(self, problem: str, usage: str = "") -> None:
        super().__init__(problem)
        self.usage = usage


def suggest(word: str, choices: list[str]) -> str | None:
    close = difflib.get_close_matches(word.lower(), choices, n=1, cutoff=0.6)
    if close:
        return close[0]
    prefixed = [c for c in choices if c.startswith(word.lower())]
    return prefixed[0] if len(prefixed) == 1 else None


def needs_user(ctx: Context, verb: str) -> Reply | None:
    """A refusal for personal commands run without a Slack user (the terminal without --user), else None."""
    if ctx.user_id:
        return None
    return error(
        f"{verb} is personal: it needs your Slack user ID.",
        "In Slack just click or type it; in the terminal add ",
        Mono("--user U0123ABC"),
        " to whisperer ask.",
    )


def did_you_mean(word: str, choices: list[str], quote: str = "'") -> str:
    """ "Did you mean 'x'? " for the closest choice, or "" when nothing is close."""
    close = suggest(word, choices)
    return f"Did you mean {quote}{close}{quote}? " if close else ""


class UnbalancedQuote(ValueError):
    """A line with a quote that never closes: guessing where the name ends would store the wrong one."""


_APOSTROPHE = re.compile(r"(?<=\w)'(?=\w)")


def split_args(text: str) -> list[str]:
    """Split like a shell ("two words" stay one argument); an apostrophe inside a word (O'Brien) is a letter.

    Raises UnbalancedQuote for a quote that is never closed.
    """
    text = text.replace("\u201c", '"').replace("\u201d", '"')  # a phone's curly quotes
    try:
        return shlex.split(text)
    except ValueError:
        pass
    try:
        return shlex.split(_APOSTROPHE.sub("\\'", text))
    except ValueError:
        raise UnbalancedQuote(text) from None


SHARE_WORD = "share"


def split_share(text: str) -> tuple[str, bool]:
    """`changes policy share` → ("changes policy", True): a trailing `share` posts the answer for everyone."""
    words = text.split()
    if words and words[-1].lower() == SHARE_WORD:
        return text.rstrip()[: -len(words[-1])].rstrip(), True
    return text, False


MAX_ID = 2**63 - 1  # SQLite's largest INTEGER; a bigger number cannot name a row


def record_id(text: str) -> int | None:
    """A row number as typed (`42` or `#42`), or None when it is not one (letters, 0, too many digits)."""
    raw = text.removeprefix("#")
    if not re.fullmatch(r"[0-9]+", raw):
        return None
    number = int(raw)
    return number if 0 < number <= MAX_ID else None


def resolve(name: str) -> Command | None:
    name = name.lower()
    return COMMANDS.get(name) or COMMANDS.get(_ALIASES.get(name, ""))


def dispatch(ctx: Context, text: str) -> Reply:
    """Parse `/whisperer <subcommand> [args]` and run the handler; every problem becomes a clear reply.

    A trailing `share` is Slack's business (it makes the answer public); everywhere else it is ignored, so a
    line means the same in Slack, `whisperer ask` and the terminal.
    """
    text, _share = split_share(text.strip())
    try:
        args = split_args(text)
    except UnbalancedQuote:
        return error(
            "That line has a quote that is never closed, so I can't tell where the name ends.",
            "Close it, e.g. ",
            Mono('/whisperer cert add "Budi Santoso" HCIA-Cloud 2025-06-10'),
            ", or leave the quotes out for a one-word value.",
        )
    return dispatch_args(ctx, args)


def dispatch_args(ctx: Context, args: list[str]) -> Reply:
    """The same as dispatch, for arguments already split (the CLI's own subcommands)."""
    load_commands()
    if not args:
        args = ["help"]
    name, rest = args[0], args[1:]
    cmd = resolve(name)
    if cmd is None:
        close = suggest(name, sorted([*COMMANDS, *_ALIASES]))
        return error(
            f"I don't know the subcommand '{name}'.",
            *(("Did you mean ", Mono(close), "? ") if close else ()),
            "Try ",
            Mono("/whisperer help"),
            " for the list.",
        )
    if cmd.admin_only and not ctx.is_admin:
        return admin_refusal(f"use /whisperer {cmd.name}")
    try:
        return cmd.handler(ctx, rest)
    except UsageError as exc:
        usage = exc.usage or cmd.usage
        return error(str(exc), "Usage: ", Mono(f"/whisperer {usage}"), "  e.g. ", Mono(f"/whisperer {cmd.examples[0]}"))


def admin_refusal(action: str) -> Reply:
    return error(
        f"Only admins can {action}.",
        "Ask one of the admins listed in whisperer.toml ([bot] admins), or ask them to add your Slack user ID.",
    )


def form_reply(form: str, usage: str) -> Reply:
    """Arguments left out where a form can ask for them: Slack opens the form, the terminal says what to type."""
    return reply(
        para("This one has a form in Slack. Here, type it in one line:"),
        note(Mono(f"/whisperer {usage}")),
        form=form,
    )
