"""Tier ladders: the ordered tier names on a page, and what changed between two ladders."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from watchers.patterns import lazy_pattern
from watchers.reading.html import parse_html

_CELL = " | "
_HEADER = lazy_pattern(r"^(?:partner\s+)?(?:tier|tiers|tier\s+name|name|等级|级别|级别名称|名称|合作伙伴级别)$", re.I)
_OTHER_HEADER = lazy_pattern(
    r"^(?:level|no\.?|#|rank|order|requirements?|benefits?|序号|排名|要求|条件|权益|说明)$", re.I
)
_NUMBERING = lazy_pattern(r"^\s*(?:\d{1,2}[.)、:]\s*|[-•·*]\s+)")
_NUMERIC = lazy_pattern(r"^[\d\s.#]+$")


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.split(_CELL)]


def ladder_from_lines(lines: Sequence[str]) -> list[str]:
    """Tier names in order. Table rows ("3 | Premier") give their tier-name cell; plain lines are names."""
    rows = [_cells(line) for line in lines if _CELL in line]
    names: list[str] = []
    if rows:
        column: int | None = None
        start = 0
        for i, row in enumerate(rows):
            named = [j for j, cell in enumerate(row) if _HEADER().match(cell)]
            if named and all(_HEADER().match(c) or _OTHER_HEADER().match(c) or not c for c in row):
                column, start = named[0], i + 1
                break
        for row in rows[start:]:
            if column is not None:
                cell = row[column] if column < len(row) else ""
            else:  # no header: the first cell that is not a number ("3 | Premier | 3 HCIE")
                cell = next((c for c in row if c and not _NUMERIC().match(c)), "")
            names.append(cell)
    else:
        for line in lines:
            line = _NUMBERING().sub("", line).strip()
            if line and len(line) <= 40 and len(line.split()) <= 5 and not _NUMERIC().match(line):
                names.append(line)
    seen: set[str] = set()
    ladder = []
    for name in names:
        name = name.strip()
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            ladder.append(name)
    return ladder


def extract_ladder(text: str, document: str = "", tiers_selector: str | None = None) -> list[str]:
    """The ladder from the snapshot text, or from the page itself when a tiers_selector narrows it."""
    lines = parse_html(document, tiers_selector) if tiers_selector and document else text.splitlines()
    return ladder_from_lines(lines)


@dataclass(frozen=True)
class TierEvent:
    kind: str  # "renamed" | "added" | "removed" | "reordered"
    old: str | None
    new: str | None
    position: int | None = None  # 1-based, in the new ladder (the old one for "removed")

    def describe(self) -> str:
        if self.kind == "renamed":
            return f"{self.old} is now called {self.new}"
        if self.kind == "added":
            return f"new tier {self.new} (level {self.position})"
        if self.kind == "removed":
            return f"tier {self.old} removed"
        return f"tiers reordered: {self.new} (was {self.old})"


def classify_ladder(old: Sequence[str], new: Sequence[str]) -> list[TierEvent]:
    """Renamed (same place, one name out and one in), added, removed, reordered; [] if only case changed."""
    a = [name.casefold() for name in old]
    b = [name.casefold() for name in new]
    if a == b:
        return []
    if sorted(a) == sorted(b):
        return [TierEvent("reordered", " → ".join(old), " → ".join(new))]
    events: list[TierEvent] = []
    moved = False
    in_a, in_b = set(a), set(b)  # membership tests below: a 10,000-row table must not be quadratic
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        for k in range(max(i2 - i1, j2 - j1)):
            o = old[i1 + k] if i1 + k < i2 else None
            n = new[j1 + k] if j1 + k < j2 else None
            if o is not None and n is not None and o.casefold() not in in_b and n.casefold() not in in_a:
                events.append(TierEvent("renamed", o, n, j1 + k + 1))
                continue
            if o is not None:
                if o.casefold() in in_b:
                    moved = True
                else:
                    events.append(TierEvent("removed", o, None, i1 + k + 1))
            if n is not None:
                if n.casefold() in in_a:
                    moved = True
                else:
                    events.append(TierEvent("added", None, n, j1 + k + 1))
    if moved:
        kept_old = [x for x in old if x.casefold() in in_b]
        kept_new = [x for x in new if x.casefold() in in_a]
        if [x.casefold() for x in kept_old] != [x.casefold() for x in kept_new]:
            events.append(TierEvent("reordered", " → ".join(old), " → ".join(new)))
    return events
