"""What a change means, shown: its fact lines as the headline, the impact on us, term glosses, and its twin.

Read from the change row (storage/watching/changes.py returns facts, impacts and glosses as JSON); used by the alert,
`diff`, `changes`, the digest and Home, so each says the same."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from handlers.reply import Block, Inline, Strong, bullets, note, para
from storage.database import Database
from storage.db import parse_stamp
from storage.watching import changes as store
from storage.watching import sources as state
from watchers.facts.changes import FactChange
from watchers.facts.gloss import show_gloss
from watchers.facts.impact import sentences
from watchers.recording.diffing import clip

TWIN_WINDOW = timedelta(days=7)


def _loaded(row: dict[str, Any], key: str) -> list[dict[str, Any]]:
    raw = row.get(key)
    if not raw:
        return []
    try:
        items = json.loads(str(raw))
    except ValueError:
        return []
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


# What a reader looks for first: thresholds and money, then dates and quantities; version stamps last.
_FIRST = ("percent", "money", "date", "quantity", "count", "period", "version")


def facts_of(row: dict[str, Any]) -> list[FactChange]:
    facts = [FactChange.from_dict(item) for item in _loaded(row, "facts")]
    return sorted(facts, key=lambda f: _FIRST.index(f.kind) if f.kind in _FIRST else len(_FIRST))


def impacts_of(row: dict[str, Any], skip: tuple[str, ...] = ()) -> list[str]:
    return sentences(item for item in _loaded(row, "impacts") if item.get("kind") not in skip)


def headline(row: dict[str, Any], limit: int = 2) -> str:
    """One line for lists: the facts (and the first impact) when there are any, else the line-count summary."""
    facts = facts_of(row)
    if not facts:
        impacts = impacts_of(row)
        return f"{impacts[0]} ({row['summary']})" if impacts else str(row["summary"])
    text = "; ".join(f.describe() for f in facts[:limit])
    if len(facts) > limit:
        text += f" (+{len(facts) - limit} more)"
    impacts = impacts_of(row)
    return f"{text} — {impacts[0]}" if impacts else text


def fact_lines(row: dict[str, Any]) -> list[tuple[Inline, ...]]:
    return [(*((f"{f.label}: ",) if f.label else ()), f"{f.old} → ", Strong(f.new)) for f in facts_of(row)]


def meaning_blocks(db: Database, row: dict[str, Any], skip: tuple[str, ...] = ()) -> tuple[Block, ...]:
    """Facts first, then what they mean for us; the line counts become detail; then glosses and the twin.
    `skip`: impact kinds the message already says (a tier-rename notice says "That is your tier")."""
    blocks: list[Block] = []
    facts = fact_lines(row)
    if facts:
        blocks.append(bullets(*(("📊 ", *line) for line in facts)))
    blocks += [para("👉 ", Strong(sentence)) for sentence in impacts_of(row, skip)]
    blocks.append(note(str(row["summary"])) if facts else para(str(row["summary"])))
    blocks += gloss_blocks(row)
    blocks += twin_blocks(db, row)
    return tuple(blocks)


def gloss_blocks(row: dict[str, Any]) -> list[Block]:
    out: list[Block] = []
    for item in _loaded(row, "glosses"):
        terms = [pair for pair in item.get("terms", []) if isinstance(pair, list) and len(pair) == 2]
        if terms:
            out.append(
                note(f"Term gloss, not a translation — {clip(str(item.get('line', '')), 60)}: {show_gloss(terms)}")
            )
    return out


def _fact_key(item: dict[str, Any]) -> tuple[str, str]:
    def side(which: str) -> str:
        for key in (f"{which}_day", f"{which}_number"):
            if item.get(key) is not None:
                return str(item[key])
        return str(item.get(which, "")).casefold().lstrip("v")

    return side("old"), side("new")


def twin_blocks(db: Database, row: dict[str, Any]) -> list[Block]:
    """With facts on a source that has a twin: the same fact change there, or that the twin has not caught up."""
    shown = {_fact_key(fact.as_dict()): f"{fact.old} → {fact.new}" for fact in facts_of(row)}
    mine = set(shown)
    source = state.get_source(db, str(row["source_id"]))
    if not mine or source is None:
        return []
    try:
        twin_id = json.loads(str(source.get("spec") or "{}")).get("twin")
    except ValueError:
        return []
    twin = state.get_source(db, str(twin_id)) if twin_id else None
    if twin is None:
        return []
    name = str(twin.get("name") or twin_id)
    since = parse_stamp(str(row["detected_at"])) - TWIN_WINDOW
    for other in store.list_changes(db, source_id=str(twin_id), since=since, limit=50):
        theirs = {_fact_key(item) for item in _loaded(other, "facts")}
        if mine & theirs:
            said = impacts_of(other)
            there = f" There: {said[0]}" if said and not impacts_of(row) else ""
            return [note(f"🔁 The same change is on its twin {name}: change #{other['id']}.{there}")]
    moved = ", ".join(list(shown.values())[:2])
    return [note(f"⏳ Its twin {name} has not caught up yet: it does not show {moved}.")]
