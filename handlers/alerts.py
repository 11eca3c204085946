"""What an alert says: composed from the outbox row and the database, rendered later by bot/."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from sqlite_utils import Database

from handlers.reply import Block, Heading, Inline, Link, Mono, Reply, Strong, code_excerpt, note, para, reply
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
        icon = TOPIC_ICONS.get(change["topic"], "🔔")
        why: tuple[Block, ...] = ()
        if payload.get("subscription"):  # a DM fanned out to someone subscribed to this topic
            topic = str(payload["subscription"])
            why = (
                note(
                    "You get this DM because you subscribed to ",
                    Mono(topic),
                    ". Stop with ",
                    Mono(f"/whisperer unsubscribe {topic}"),
                    ".",
                ),
            )
        return reply(
            para(
                f"{icon} ",
                Strong(change["source_name"] or change["source_id"]),
                f" changed ({change['topic']})",
            ),
            para(change["summary"]),
            code_excerpt(change["diff"], max_lines=15, max_chars=1800),
            note(
                _source_link(change),
                f" · change #{change['id']} · {when(change['detected_at'], tz)} · ",
                Mono(f"/whisperer diff {change['id']}"),
            ),
            *why,
            ephemeral=False,
        )
    source = state.get_source(db, str(alert.get("source_id") or payload.get("source_id")))
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
    if "text" in payload:  # alerts from later features carry their own wording
        heading = (Heading(str(payload["heading"])),) if payload.get("heading") else ()
        return reply(*heading, para(str(payload["text"])), ephemeral=False)
    return None
