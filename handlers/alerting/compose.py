"""What an alert says: composed from the outbox row and the database, rendered later by bot/."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from handlers.alerting.events import event_line
from handlers.alerting.levels import change_level_line, kind_level_line, summary_line
from handlers.alerting.meaning import meaning_blocks
from handlers.alerting.notices import compose_notice, emphasis
from handlers.alerting.watch_alerts import KINDS as WATCH_KINDS
from handlers.alerting.watch_alerts import compose_watch_alert
from handlers.reply import (
    Actions,
    Block,
    Inline,
    Link,
    Mono,
    Reply,
    Strong,
    actions,
    bullets,
    code_excerpt,
    note,
    para,
    reply,
)
from handlers.reply_codec import decode_reply
from handlers.watch.changes import when
from handlers.watch.ownership import change_actions, change_status
from storage.database import Database
from storage.outbox import ownership, threads
from storage.watching import changes as store
from storage.watching import sources as state

TOPIC_ICONS = {
    "tiers": "🏷",
    "policy": "📜",
    "certification": "🎓",
    "rebate": "💰",
    "announcement": "📣",
    "deadlines": "⏰",
}


def _source_link(row: dict[str, Any]) -> Inline:
    name = row.get("source_name") or row.get("name") or row.get("source_id") or row.get("id") or "source"
    url = str(row.get("url") or "")
    return Link(url, str(name)) if url.startswith(("http://", "https://")) else str(name)


def compose_alert(db: Database, alert: dict[str, Any], tz: tzinfo, now: datetime | None = None) -> Reply | None:
    """The message for one outbox row; None when what it refers to has gone (nothing to say).

    A row that heads a thread (bot/delivery/threads.py) says how many alerts followed in it. With `now` (redrawing a
    message after a click) a mute in force at that moment is shown too."""
    payload = alert.get("payload") or {}
    # Messages composed when queued (the weekly digest) carry their reply model with them.
    message = decode_reply(payload["reply"]) if "reply" in payload else _compose(db, alert, tz, now)
    replies = threads.thread_size(db, alert["posted_channel"], alert["ts"]) if alert.get("posted_channel") else 0
    if message is None or not replies or not alert.get("ts"):
        return message
    more = note(f"🧵 {replies} more in thread")
    blocks = list(message.blocks)
    blocks[:0] = event_line(db, alert)  # the head of one event seen by several sources says so first
    blocks.insert(len(blocks) - 1 if blocks and isinstance(blocks[-1], Actions) else len(blocks), more)  # above buttons
    return Reply(tuple(blocks), message.ephemeral, message.error, message.effects)


def _compose(db: Database, alert: dict[str, Any], tz: tzinfo, now: datetime | None) -> Reply | None:
    kind = alert["kind"]
    payload = alert["payload"]
    if kind == "change":
        change = store.get_change(db, int(payload["change_id"]))
        if change is None:
            return None
        dm = bool(payload.get("subscription"))
        acted = acted_on(db, change, tz, now, channel=not dm)
        return reply(
            *change_blocks(change, tz, db),
            *summary_line(db, change),
            *change_level_line(change),
            *_why(payload),
            *acted,
            ephemeral=False,
        )
    source = state.get_source(db, str(alert.get("source_id") or payload.get("source_id")))
    if kind in WATCH_KINDS:
        watch = compose_watch_alert(kind, payload, source, tz)
        return reply(*watch.blocks, *kind_level_line(kind, payload), ephemeral=False) if watch else None
    if kind == "source-failing":
        name: Inline = _source_link(source) if source else str(payload.get("source_id"))
        return reply(
            para("🚨 ", Strong("Source failing: "), name, f" has failed {payload['failures']} checks in a row."),
            para(f"Last error: {payload['error']}"),
            note("I'll say once when it recovers. Until then its last good snapshot stands."),
            ephemeral=False,
        )
    if kind == "source-recovered":
        name = _source_link(source) if source else str(payload.get("source_id"))
        return reply(
            para("✅ ", Strong("Source recovered: "), name, " answers again."),
            note(f"It had failed {payload['failures']} checks in a row."),
            ephemeral=False,
        )
    if kind == "alert-summary":
        summary = _summary(source, payload)
        return reply(*summary.blocks, *_why(payload), ephemeral=False)
    if "text" in payload:  # alerts from later features carry their own wording
        change = store.get_change(db, int(alert["change_id"])) if alert.get("change_id") else None
        if change is None:
            return compose_notice(payload)
        # A tier rename or policy version replaces the page-diff alert of its change: say both in one message.
        notice = compose_notice({k: v for k, v in payload.items() if k not in ("excerpt", "note")})
        tail = (note(*emphasis(str(payload["note"]))),) if payload.get("note") else ()
        return reply(
            *notice.blocks,
            *change_blocks(change, tz, db, ("tier",)),
            *tail,
            *summary_line(db, change),
            *change_level_line(change),
            *acted_on(db, change, tz, now),
            ephemeral=False,
        )
    return None


def _why(payload: dict[str, Any]) -> tuple[Block, ...]:
    if not payload.get("subscription"):
        return ()
    topic = str(payload["subscription"])  # a DM fanned out to someone subscribed to this topic
    return (
        note(
            "You get this DM because you subscribed to ",
            Mono(topic),
            ". Stop with ",
            Mono(f"/whisperer unsubscribe {topic}"),
            ".",
        ),
    )


def _summary(source: dict[str, Any] | None, payload: dict[str, Any]) -> Reply:
    """Flood control's one message for everything past a source's alert_limit in one poll: nothing is lost."""
    name: Inline = _source_link(source) if source else str(payload.get("source_id"))
    more, what = int(payload["more"]), str(payload.get("what") or "change")
    items = [str(item) for item in payload.get("items") or []]
    blocks: list[Block] = [
        para(
            "🗂 ",
            Strong(f"{more} more {what}{'s' if more != 1 else ''}"),
            " on ",
            name,
            f" in the same check, after the {payload.get('shown', '')} I posted.",
        ),
    ]
    if items:
        blocks.append(bullets(*items))
        if more > len(items):
            blocks.append(note(f"… and {more - len(items)} more."))
    blocks.append(note("Every one is recorded. The full list: ", Mono(str(payload["command"])), "."))
    return reply(*blocks, ephemeral=False)


def acted_on(
    db: Database, change: dict[str, Any], tz: tzinfo, now: datetime | None, channel: bool = True
) -> tuple[Block, ...]:
    """Who took the change, whether its source is muted, and the buttons to do either (or read it all)."""
    owner = ownership.change_owner(db, int(change["id"]))
    mute = ownership.mute_of(db, str(change["source_id"]), now) if now is not None else None
    found = change_actions(change, owner=owner["user_id"] if owner else None, muted=mute is not None, channel=channel)
    return (*change_status(db, owner, mute, tz), actions(*found))


def change_blocks(
    change: dict[str, Any], tz: tzinfo, db: Database | None = None, skip: tuple[str, ...] = ()
) -> tuple[Block, ...]:
    """What changed: source and topic, the facts and what they mean for us (else the summary), a diff excerpt,
    the link and the change id (the whole diff is one of the alert's actions)."""
    icon = TOPIC_ICONS.get(change["topic"], "🔔")
    meaning = meaning_blocks(db, change, skip) if db is not None else (para(change["summary"]),)
    return (
        para(f"{icon} ", Strong(change["source_name"] or change["source_id"]), f" changed ({change['topic']})"),
        *meaning,
        code_excerpt(change["diff"], max_lines=15, max_chars=1800),
        note(_source_link(change), f" · change #{change['id']} · {when(change['detected_at'], tz)}"),
    )
