"""How an alert says its level and why ("🔴 urgent: renames your tier"), and the machine summary line."""

from __future__ import annotations

from typing import Any

from handlers.reply import Block, Strong, note
from storage.database import Database
from storage.watching import summaries
from watchers.facts.summary import diff_key

LEVEL_MARKS = {"urgent": "🔴", "normal": "🔵", "low": "⚪"}
# Alerts that are urgent by their kind, with the reason they give.
URGENT_KINDS = {
    "session-expired": "the session expired (nothing behind the login is watched until it is renewed)",
    "metric-zone": "a watched metric changed zone",
}


def level_line(level: str | None, why: str | None) -> tuple[Block, ...]:
    """One line: the level and why; nothing for a change recorded before levels existed."""
    if not level:
        return ()
    return (note(f"{LEVEL_MARKS.get(level, '•')} ", Strong(level), f": {why}" if why else ""),)


def change_level_line(change: dict[str, Any] | None) -> tuple[Block, ...]:
    return level_line(change.get("level"), change.get("level_why")) if change else ()


def kind_level_line(kind: str, payload: dict[str, Any]) -> tuple[Block, ...]:
    """The level line of alerts that are not about one change (a metric's zone, a session)."""
    if kind == "metric-zone":
        why = f"moves {payload.get('metric')} into the {payload.get('zone') or 'other'} zone"
        return level_line("urgent", why)
    if kind in URGENT_KINDS:
        return level_line("urgent", URGENT_KINDS[kind])
    return ()


def summary_line(db: Database, change: dict[str, Any] | None) -> tuple[Block, ...]:
    """The machine summary of the change's diff, labelled as such, when one was written ([summary]); it was
    made inert before it was stored, and the renderer escapes it like any source text."""
    if not change or not change.get("diff"):
        return ()
    row = summaries.cached_summary(db, diff_key(str(change["diff"])))
    text = row.get("text") if row else None
    return (note("🤖 ", Strong("machine summary"), f": {text}"),) if text else ()
