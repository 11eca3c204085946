"""What an alert says: composed from the outbox row and the database, rendered later by bot/."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from sqlite_utils import Database

from handlers.notices import compose_notice, emphasis
from handlers.reply import Block, Inline, Link, Mono, Reply, Strong, bullets, code_excerpt, note, para, reply
from handlers.watch_alerts import KINDS as WATCH_KINDS
from handlers.watch_alerts import compose_watch_alert
from handlers.watching import when
from storage import changes as store
from storage import sources as state

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


def compose_alert(db: Database, alert: dict[str, Any], tz: tzinfo) -> Reply | None:
    """The message for one outbox row; None when what it refers to has gone (nothing to say)."""
    kind = alert["kind"]
    payload = alert["payload"]
    if kind == "change":
        change = store.get_change(db, int(payload["change_id"]))
        if change is None:
            return None
        return reply(*change_blocks(change, tz), *_why(payload), ephemeral=False)
    source = state.get_source(db, str(alert.get("source_id") or payload.get("source_id")))
    if kind in WATCH_KINDS:
        return compose_watch_alert(kind, payload, source, tz)
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
        return reply(*notice.blocks, *change_blocks(change, tz), *tail, ephemeral=False)
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


def change_blocks(change: dict[str, Any], tz: tzinfo) -> tuple[Block, ...]:
    """What changed: source and topic, the summary, a diff excerpt, the link and the change id."""
    icon = TOPIC_ICONS.get(change["topic"], "🔔")
    return (
        para(f"{icon} ", Strong(change["source_name"] or change["source_id"]), f" changed ({change['topic']})"),
        para(change["summary"]),
        code_excerpt(change["diff"], max_lines=15, max_chars=1800),
        note(
            _source_link(change),
            f" · change #{change['id']} · {when(change['detected_at'], tz)} · ",
            Mono(f"/whisperer diff {change['id']}"),
        ),
    )
