"""Unified diffs and the one-line human summary of a change."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class TextDiff:
    diff: str
    added: list[str]
    removed: list[str]

    @property
    def summary(self) -> str:
        return summarise(self.added, self.removed)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def clip(text: str, width: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def summarise(added: Sequence[str], removed: Sequence[str]) -> str:
    """ "2 lines added, 1 removed: 'Deal registration: 72 hours …'" — the first added line is quoted."""
    parts = []
    if added:
        parts.append(f"{_plural(len(added), 'line')} added")
    if removed:
        parts.append(f"{len(removed)} removed" if added else f"{_plural(len(removed), 'line')} removed")
    head = ", ".join(parts) or "reordered"
    sample = added[0] if added else (removed[0] if removed else "")
    return f"{head}: '{clip(sample)}'" if sample else head


def diff_lines(old: Sequence[str], new: Sequence[str], old_label: str = "before", new_label: str = "after") -> TextDiff:
    lines = list(difflib.unified_diff(old, new, old_label, new_label, n=2, lineterm=""))
    added = [line[1:] for line in lines[2:] if line.startswith("+")]
    removed = [line[1:] for line in lines[2:] if line.startswith("-")]
    return TextDiff("\n".join(lines), added, removed)
