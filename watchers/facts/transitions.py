"""Value transitions in a change ("73.8 → 68.1", "Premier → Certified Plus"): what lets alerts about one event,
seen by several sources, be told apart from alerts that merely happen at the same time. Pure."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*%?|[^\W\d_]+|\S", re.UNICODE)
_NUMBER = re.compile(r"^(\d+(?:[.,]\d+)*)(%?)$")


def value(text: str) -> str:
    """One side of a transition in a comparable form: numbers as numbers (73.80 = 73.8), spaces collapsed
    (compare the results casefolded: "Premier" and "PREMIER" are one tier)."""
    text = text.strip().strip(":=\"'()[]{},;").strip()
    match = _NUMBER.match(text)
    if match:
        raw = match.group(1)
        if "," in raw and "." not in raw and not re.search(r",\d{3}\b", raw):
            raw = raw.replace(",", ".")  # 73,8 written the European way
        try:
            return f"{float(raw.replace(',', '')):g}{match.group(2)}"
        except ValueError:
            return raw
    return " ".join(text.split())


def transition(old: object, new: object) -> str | None:
    """ "73.8 → 68.1", or None when nothing moved or a side is empty."""
    a, b = value(str(old)), value(str(new))
    if not a or not b or a.casefold() == b.casefold():
        return None
    return f"{a} → {b}"


def _meaningful(side: str) -> bool:
    """Not a bare one-digit count or a stray symbol: "1 → 2" happens everywhere and proves nothing."""
    if _NUMBER.match(side):
        return len(re.sub(r"\D", "", side)) >= 2
    return sum(ch.isalpha() for ch in side) >= 3


PAIR_LINES = 40  # lines per side considered: an event's values sit in a few lines, and pairing is quadratic


def _pairs(removed: Sequence[str], added: Sequence[str]) -> Iterable[tuple[str, str]]:
    """Each removed line with the added line most like it (a line pairs once); cheap bounds skip hopeless pairs."""
    free = list(added[:PAIR_LINES])
    for old in removed[:PAIR_LINES]:
        best, score = None, 0.4
        for new in free:
            matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
            if matcher.real_quick_ratio() < score or matcher.quick_ratio() < score:
                continue
            ratio = matcher.ratio()
            if ratio >= score:
                best, score = new, ratio
        if best is not None:
            free.remove(best)
            yield old, best


def value_transitions(removed: Sequence[str], added: Sequence[str], limit: int = 20) -> tuple[str, ...]:
    """The runs of words or numbers that changed inside lines that otherwise stayed, as transitions."""
    found: list[str] = []
    for old, new in _pairs(removed, added):
        a, b = _TOKEN.findall(old), _TOKEN.findall(new)
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
            if op != "replace":
                continue
            left, right = " ".join(a[i1:i2]), " ".join(b[j1:j2])
            moved = transition(left, right)
            if moved and _meaningful(value(left)) and _meaningful(value(right)) and moved not in found:
                found.append(moved)
        if len(found) >= limit:
            break
    return tuple(found[:limit])
