"""How an alert says its level and why ("🔴 urgent: renames your tier"), and the machine summary line."""

from __future__ import annotations

from typing import Any

from handlers.reply import Block, Strong, note

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


def summary_line(text: str | None) -> tuple[Block, ...]:
    """The machine summary, labelled as such; already made inert when it was stored."""
    return (note("🤖 ", Strong("machine summary"), f": {text}"),) if text else ()
