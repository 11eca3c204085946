"""One event, one post: alerts from one poll that carry the same value transition (73.8 → 68.1, Premier →
Certified Plus) belong together; the first one posted names the event and the rest go in its thread."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from handlers.reply import Block, Strong, note
from storage.database import Database
from storage.outbox import threads
from storage.watching import changes as store
from watchers.facts.levels import diff_sides
from watchers.facts.transitions import transition, value_transitions


def alert_transitions(db: Database, alert: dict[str, Any]) -> tuple[str, ...]:
    """The value transitions an alert is about: from its change's diff, or from its own old and new values."""
    payload = alert.get("payload") or {}
    found: list[str] = []
    if alert.get("kind") != "change" and payload.get("old") is not None and payload.get("new") is not None:
        moved = transition(payload["old"], payload["new"])
        if moved:
            found.append(moved)
    if alert.get("kind") == "change" and alert.get("change_id"):
        change = store.get_change(db, int(alert["change_id"]))
        if change is not None:
            found.extend(diff_transitions(str(change["diff"] or "")))
    return tuple(dict.fromkeys(found))


@lru_cache(maxsize=256)
def diff_transitions(diff: str) -> tuple[str, ...]:
    """A diff's transitions, remembered: a head is compared with every alert that might join it."""
    removed, added = diff_sides(diff)
    return value_transitions(removed, added)


def shared_event(
    db: Database, alert: dict[str, Any], heads: Sequence[dict[str, Any]]
) -> tuple[dict[str, Any], str] | None:
    """The first head whose event (its own transitions and those of the alerts in its thread) shares a value
    transition with the alert, and that transition."""
    mine = {moved.casefold(): moved for moved in alert_transitions(db, alert)}
    if not mine:
        return None
    for head in heads:
        theirs = set(alert_transitions(db, head))
        if head.get("event"):
            for member in threads.event_members(db, str(head["posted_channel"]), str(head["ts"])):
                theirs.update(alert_transitions(db, member))
        common = [mine[key] for key in mine if key in {moved.casefold() for moved in theirs}]
        if common:
            return head, common[0]
    return None


def _what(alert: dict[str, Any]) -> str:
    payload = alert.get("payload") or {}
    if str(alert.get("kind", "")).startswith("metric-"):
        return f"metric {payload.get('metric')}"
    return str(alert.get("source_id") or payload.get("source_id") or "a source")


def event_line(db: Database, alert: dict[str, Any]) -> tuple[Block, ...]:
    """On the head of an event: what moved and everything that saw it, the details being in its thread."""
    if not alert.get("event") or not alert.get("posted_channel") or not alert.get("ts"):
        return ()
    members = threads.event_members(db, str(alert["posted_channel"]), str(alert["ts"]))
    if not members:
        return ()
    seen = list(dict.fromkeys([_what(alert), *(_what(member) for member in members)]))
    moved = list(dict.fromkeys(str(row["event"]) for row in [alert, *members] if row.get("event")))
    return (
        note(
            "📌 ",
            Strong(f"One event: {' · '.join(moved)}"),
            f", seen by {len(seen)}: {', '.join(seen)} (each one's details and buttons are in the thread)",
        ),
    )
