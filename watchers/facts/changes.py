"""Fact changes, pure: from the removed and added lines of a diff, the values that changed, each with its label.

"Cloud consumption growth must be at least … year on year: 20% → 25%". Lines are paired by what they say around
their values (the same sentence with other numbers), not by position; values inside a pair by kind and by the words
just before them. Page counters, "N seconds ago" and footers give no facts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from difflib import SequenceMatcher
from typing import Any

from watchers.facts.values import Value, find_values
from watchers.patterns import lazy_pattern

MAX_FACTS = 12  # per change: past this the diff itself says more
_PAIRING_BUDGET = 2500  # line comparisons per change before only exact templates are paired (a rewritten page)
_SIMILAR = 0.6
_NOISE = lazy_pattern(
    r"views?\b|visit(?:s|ors?)\b|visitas|downloads?\b|likes?\b|comments?\b|shares\b|reads\b|"
    r"(?:seconds?|minutes?|mins?|hours?)\s+ago|refreshed|copyright|©|all rights reserved|"
    r"浏览|阅读|访问|点击|点赞|评论|版权|ICP|刷新|"
    r"dilihat|pengunjung|hak cipta|visualiza|acessos|direitos reservados",
    re.IGNORECASE,
)
_BULLET = lazy_pattern(r"^\s*(?:[-•·*]|\d{1,2}[.)、])\s+")
_WORD_BEFORE = lazy_pattern(r"(\S+\s*){1,3}$")


@dataclass(frozen=True)
class FactChange:
    """One value that moved: what it is (label), from what, to what. Numbers and days kept for comparisons."""

    kind: str
    label: str
    old: str
    new: str
    old_number: float | None = None
    new_number: float | None = None
    old_day: str | None = None
    new_day: str | None = None

    def describe(self) -> str:
        return f"{self.label}: {self.old} → {self.new}" if self.label else f"{self.old} → {self.new}"

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FactChange:
        fields = ("kind", "label", "old", "new", "old_number", "new_number", "old_day", "new_day")
        return cls(**{k: data[k] for k in fields if k in data})


def _template(line: str, values: Sequence[Value]) -> str:
    parts, last = [], 0
    for v in values:
        parts.append(line[last : v.start])
        parts.append("#")
        last = v.end
    parts.append(line[last:])
    return " ".join("".join(parts).casefold().split())


def _clip_left(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    cut = text[-width:]
    space = cut.find(" ")
    return "…" + (cut[space + 1 :] if 0 <= space < width // 2 else cut)


def _clip_right(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    cut = text[:width]
    space = cut.rfind(" ")
    return (cut[:space] if space > width // 2 else cut) + "…"


def label_of(line: str, value: Value) -> str:
    """The words around a value, the value itself shown as "…"; trimmed to a readable length."""
    before = _BULLET().sub("", line[: value.start]).strip()
    after = line[value.end :].strip().rstrip("。．.;；:：,，!！")
    before, after = _clip_left(before, 60), _clip_right(after, 40)
    label = " ".join(p for p in (before, "…" if after else "", after) if p)
    return label.rstrip(" :：-—") or value.kind


def _is_noise(line: str, value: Value) -> bool:
    window = line[max(0, value.start - 40) : value.end + 30]
    return bool(_NOISE().search(window))


def _context(line: str, value: Value) -> str:
    match = _WORD_BEFORE().search(line[: value.start])
    return (match.group(0) if match else line[max(0, value.start - 8) : value.start]).casefold().strip()


def _pair_values(old: Sequence[Value], new: Sequence[Value], old_line: str, new_line: str) -> list[tuple[Value, Value]]:
    """Values of the same kind, matched by the words before them (then by order among equals)."""
    if [v.kind for v in old] == [v.kind for v in new]:
        return list(zip(old, new, strict=True))
    pairs: list[tuple[Value, Value]] = []
    used: set[int] = set()
    for o in old:
        best, score = None, -1.0
        for j, n in enumerate(new):
            if j in used or n.kind != o.kind:
                continue
            s = SequenceMatcher(None, _context(old_line, o), _context(new_line, n)).ratio()
            if s > score:
                best, score = j, s
        if best is not None and score >= 0.5:
            used.add(best)
            pairs.append((o, new[best]))
    return pairs


def _lines(lines: Iterable[str]) -> list[tuple[str, tuple[Value, ...], str]]:
    out = []
    for line in lines:
        values = tuple(find_values(line))
        if values:
            out.append((line, values, _template(line, values)))
    return out


def fact_changes(removed: Sequence[str], added: Sequence[str]) -> list[FactChange]:
    """The values that changed between the removed and the added lines of one diff, with their labels."""
    old, new = _lines(removed), _lines(added)
    if not old or not new:
        return []
    pairs: list[tuple[int, int]] = []
    free_new: dict[str, list[int]] = {}
    for j, (_, _, template) in enumerate(new):
        free_new.setdefault(template, []).append(j)
    taken: set[int] = set()
    rest: list[int] = []
    for i, (_, _, template) in enumerate(old):  # the same sentence with other values
        if free_new.get(template):
            j = free_new[template].pop(0)
            pairs.append((i, j))
            taken.add(j)
        else:
            rest.append(i)
    if rest and len(rest) * (len(new) - len(taken)) <= _PAIRING_BUDGET:
        for i in rest:  # a sentence reworded around its value: the most similar one left
            matcher = SequenceMatcher(None, autojunk=False)
            matcher.set_seq2(old[i][2])
            best, score = None, _SIMILAR
            for j, (_, _, template) in enumerate(new):
                if j in taken:
                    continue
                matcher.set_seq1(template)
                if matcher.real_quick_ratio() < score or matcher.quick_ratio() < score:
                    continue
                ratio = matcher.ratio()
                if ratio >= score:
                    best, score = j, ratio
            if best is not None:
                pairs.append((i, best))
                taken.add(best)
    facts: list[FactChange] = []
    seen: set[tuple[str, str, str]] = set()
    for i, j in sorted(pairs, key=lambda p: p[1]):
        old_line, old_values, _ = old[i]
        new_line, new_values, _ = new[j]
        for o, n in _pair_values(old_values, new_values, old_line, new_line):
            if o.key == n.key or _is_noise(old_line, o) or _is_noise(new_line, n):
                continue
            fact = FactChange(
                kind=n.kind,
                label=label_of(new_line, n),
                old=o.text,
                new=n.text,
                old_number=o.number,
                new_number=n.number,
                old_day=o.day.isoformat() if o.day else None,
                new_day=n.day.isoformat() if n.day else None,
            )
            if (fact.label, fact.old, fact.new) not in seen:
                seen.add((fact.label, fact.old, fact.new))
                facts.append(fact)
    return facts[:MAX_FACTS]


def facts_from_diff(diff: str) -> list[FactChange]:
    """The same, read back from a stored unified diff (changes recorded before facts were kept)."""
    lines = diff.splitlines()[2:]
    removed = [line[1:] for line in lines if line.startswith("-")]
    added = [line[1:] for line in lines if line.startswith("+")]
    return fact_changes(removed, added)


def headline(facts: Sequence[FactChange], limit: int = 3) -> str:
    """One line for a list or a notification: the first facts, and how many more."""
    shown = "; ".join(f.describe() for f in facts[:limit])
    return shown + (f" (+{len(facts) - limit} more)" if len(facts) > limit else "")
