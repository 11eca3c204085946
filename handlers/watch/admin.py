"""source add|remove|pause|resume (admins) and subscribe|unsubscribe (anyone): changing what is watched."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from handlers.registry import Context, UsageError, command, form_reply, needs_user, suggest
from handlers.reply import Mono, Reply, Strong, bullets, error, note, para, reply
from storage.db import transaction
from storage.team import people
from storage.watching import sources as state
from watchers.fetching.errors import FetchError
from watchers.fetching.network import AddressRefused
from watchers.sources import KINDS, TOPICS, SourceSpec, format_every, parse_every

RELOAD = ("reload-sources",)
SOURCE_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")  # the same rule as whisperer.toml's [[sources]] id
MIN_EVERY = 300  # sources added from Slack are checked at most every 5 minutes, to stay polite to the portal
SOURCE_ACTIONS = ("add", "remove", "pause", "resume")
SOURCE_USAGE = {
    "add": "source add ID KIND URL [topic] [every]",
    "remove": "source remove ID",
    "pause": "source pause ID",
    "resume": "source resume ID",
}


def slack_url(text: str) -> str:
    """Slack wraps URLs typed in a slash command as <https://…> or <https://…|label>; take the URL back."""
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1].split("|", 1)[0]
    return text.replace("&amp;", "&")


@command(
    "source",
    "source add|remove|pause|resume ID …",
    "Change what is watched: add a page or feed, remove one added from Slack, pause or resume any. "
    "`source add` alone opens a form in Slack.",
    "source add hcpn-notices feed https://example.com/notices.xml announcement 1h",
    "source pause csp-tiers",
    "source resume csp-tiers",
    "source remove hcpn-notices",
    group="admin",
    admin_only=True,
)
def source_command(ctx: Context, args: list[str]) -> Reply:
    if not args:
        raise UsageError("Tell me what to do: add, remove, pause or resume.")
    action, rest = args[0].lower(), args[1:]
    if action not in SOURCE_ACTIONS:
        close = suggest(action, list(SOURCE_ACTIONS))
        hint = f" Did you mean '{close}'?" if close else ""
        raise UsageError(f"'{args[0]}' is not something I can do to a source.{hint}")
    if action == "add":
        if not rest:
            return form_reply("source-add", SOURCE_USAGE["add"])
        return _add(ctx, rest)
    if len(rest) != 1:
        raise UsageError(f"source {action} takes one source id.", SOURCE_USAGE[action])
    source_id = rest[0]
    with transaction(ctx.db):
        row = state.get_source(ctx.db, source_id)
        if row is None or row["retired"]:
            known = [r["id"] for r in state.list_sources(ctx.db)]
            close = suggest(source_id, known)
            return error(
                f"There is no source '{source_id}'.",
                *(("Did you mean ", Mono(close), "? ") if close else ()),
                "See ",
                Mono("/whisperer sources"),
                ".",
            )
        if action == "remove":
            if row["origin"] != "slack":
                return error(
                    f"'{source_id}' is defined in whisperer.toml, so removing it here would not last.",
                    "Delete its [[sources]] table from whisperer.toml (and reload), or stop it with ",
                    Mono(f"/whisperer source pause {source_id}"),
                    ".",
                )
            state.retire_source(ctx.db, source_id)
            return reply(
                para("🗑 Stopped watching ", Strong(source_id), ". Its recorded changes stay searchable."),
                effects=RELOAD,
            )
        pause = action == "pause"
        if bool(row["paused"]) == pause:
            state_word = "paused" if pause else "running"
            return reply(para(Strong(source_id), f" is already {state_word}; nothing changed."))
        state.set_paused(ctx.db, source_id, pause)
    if pause:
        return reply(
            para("⏸ Paused ", Strong(source_id), ". Resume with ", Mono(f"/whisperer source resume {source_id}"), "."),
            effects=RELOAD,
        )
    return reply(para("▶ Resumed ", Strong(source_id), "; it is checked again on its schedule."), effects=RELOAD)


def _add(ctx: Context, args: list[str]) -> Reply:
    usage = SOURCE_USAGE["add"]
    if len(args) < 3:
        raise UsageError("source add needs an id, a kind and a URL.", usage)
    source_id, kind, url = args[0], args[1].lower(), slack_url(args[2])
    if not SOURCE_ID.match(source_id):
        raise UsageError(
            f"'{source_id}' is not a usable source id: use lowercase letters, digits, '.', '_' or '-' (up to 64).",
            usage,
        )
    if kind == "file":
        return error(
            "Sources of kind 'file' read the bot's own disk, so they cannot be added from Slack.",
            "Add them to whisperer.toml as [[sources]] instead.",
        )
    if kind not in KINDS:
        close = suggest(kind, [k for k in KINDS if k != "file"])
        hint = f" Did you mean '{close}'?" if close else ""
        kinds = ", ".join(k for k in KINDS if k != "file")
        raise UsageError(f"'{args[1]}' is not a kind of source; use {kinds}.{hint}", usage)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"'{url}' is not an http(s) URL; write the full address, https:// included.", usage)
    try:
        ctx.network.check_url(url)  # the same policy as every fetch: Slack cannot add what the file does not allow
    except AddressRefused as exc:
        return error(f"I won't watch that address: {exc}.", "Only whoever edits whisperer.toml can allow it.")
    except FetchError:
        pass  # a name that does not resolve today may tomorrow; each poll checks it again and says why
    topic, every, every_text = "announcement", 1800, "30m"
    for arg in args[3:]:
        if arg.lower() in TOPICS:
            topic = arg.lower()
            continue
        try:
            every, every_text = parse_every(arg), arg
        except ValueError:
            close = suggest(arg, list(TOPICS))
            hint = f" Did you mean '{close}'?" if close else ""
            raise UsageError(
                f"'{arg}' is neither a topic ({', '.join(TOPICS)}) nor an interval such as 30m or 6h.{hint}", usage
            ) from None
    if every < MIN_EVERY:
        raise UsageError(f"Every {every_text} is too often for someone else's portal; use 5m or more.", usage)
    spec = SourceSpec(id=source_id, kind=kind, url=url, topic=topic, every=every)
    with transaction(ctx.db):
        existing = state.get_source(ctx.db, source_id)
        if existing is not None and not existing["retired"]:
            return error(
                f"A source called '{source_id}' already exists ({existing['kind']}, {existing['url']}).",
                "Pick another id, or see ",
                Mono("/whisperer sources"),
                ".",
            )
        specs = [*state.stored_specs(ctx.db, "slack"), spec.public_dict()]
        state.sync_sources(ctx.db, specs, ctx.now, origin="slack")
    return reply(
        para("👀 Now watching ", Strong(source_id), f" ({kind}, {topic}) every {format_every(every)}: ", url),
        note("The first check stores a snapshot; changes after that are posted to the alerts channel."),
        effects=RELOAD,
    )


def _topic(ctx: Context, args: list[str], verb: str) -> str:
    if len(args) != 1:
        raise UsageError(f"{verb} takes one topic: {', '.join(TOPICS)}.")
    topic = args[0].lower()
    if topic not in TOPICS:
        close = suggest(topic, list(TOPICS))
        hint = f" Did you mean '{close}'?" if close else ""
        raise UsageError(f"'{args[0]}' is not a topic; use one of {', '.join(TOPICS)}.{hint}")
    return topic


@command(
    "subscribe",
    "subscribe TOPIC",
    "Get a DM whenever a source on this topic changes urgently (tiers, policy, certification, rebate, …).",
    "subscribe policy",
    "subscribe tiers",
)
def subscribe_command(ctx: Context, args: list[str]) -> Reply:
    refusal = needs_user(ctx, "subscribe")
    if refusal:
        return refusal
    assert ctx.user_id is not None
    if not args:
        mine = people.subscriptions_of(ctx.db, ctx.user_id)
        listing = bullets(*(Mono(t) for t in mine)) if mine else para("You are not subscribed to any topic yet.")
        return reply(
            para(Strong("Your subscriptions")),
            listing,
            note("Subscribe with ", Mono("/whisperer subscribe TOPIC"), f"; topics: {', '.join(TOPICS)}."),
        )
    topic = _topic(ctx, args, "subscribe")
    with transaction(ctx.db):
        added = people.subscribe(ctx.db, ctx.user_id, topic, ctx.now)
    if not added:
        return reply(para("You are already subscribed to ", Strong(topic), "."))
    return reply(
        para("🔔 Subscribed: you will get a DM when a ", Strong(topic), " source changes urgently."),
        note("Stop with ", Mono(f"/whisperer unsubscribe {topic}"), "."),
    )


@command("unsubscribe", "unsubscribe TOPIC", "Stop the DMs for a topic.", "unsubscribe policy")
def unsubscribe_command(ctx: Context, args: list[str]) -> Reply:
    refusal = needs_user(ctx, "unsubscribe")
    if refusal:
        return refusal
    assert ctx.user_id is not None
    topic = _topic(ctx, args, "unsubscribe")
    with transaction(ctx.db):
        removed = people.unsubscribe(ctx.db, ctx.user_id, topic)
    if not removed:
        return reply(para("You were not subscribed to ", Strong(topic), "; nothing changed."))
    return reply(para("🔕 Unsubscribed from ", Strong(topic), ". The channel alerts continue as before."))
