"""How much a change matters: urgent, normal or low, by transparent rules, with the reason said in words.

Pure: the caller gathers the change's lines, the source's `importance`, the `[[importance]]` rules (and the rules
admins taught with *Not important*) and the urgent reasons found elsewhere (tier renamed, metric zone, …).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from watchers.patterns import lazy_pattern

LEVELS = ("urgent", "normal", "low")
IMPORTANCES = LEVELS  # a source's `importance`: its changes' level when no reason says otherwise

# Lines that change without meaning anything to a partner, once the built-in noise (watchers/reading/normalise.py)
# has been removed: copyright years, "last updated" dates, build numbers, request ids.
_NOISE_LIKE = lazy_pattern(
    r"©|\bcopyright\b|all rights reserved|\blast (?:updated|modified|refreshed|reviewed)\b|\bupdated (?:on|at)\b"
    r"|\bpage generated\b|\bgenerated (?:on|at|in)\b|\bbuild\s*[:#]?\s*[\w.-]*\d|\brequest[- ]id\b|\btrace[- ]id\b"
    r"|\bserver time\b|版权所有|更新时间|最后更新",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ImportanceRule:
    """`[[importance]]`: when `when` (a regular expression) matches the added or removed text, the level is `level`.

    A rule that lowers a change applies only when every changed line matches (one noisy line cannot hide a real
    change); a rule that raises it applies when any line does. `topic` limits it to sources of that topic,
    `source` to one source (rules taught with *Not important*). `label` is how the reason names the rule."""

    when: str
    level: str
    topic: str | None = None
    source: str | None = None
    label: str = ""

    def applies_to(self, source_id: str, topic: str) -> bool:
        return (self.topic is None or self.topic == topic) and (self.source is None or self.source == source_id)

    def matches(self, lines: Sequence[str], current: str) -> bool:
        if not lines:
            return False
        pattern = re.compile(self.when, re.IGNORECASE)
        lowers = LEVELS.index(self.level) > LEVELS.index(current)
        found = [bool(pattern.search(line.strip())) for line in lines]
        return all(found) if lowers else any(found)

    def describe(self) -> str:
        return self.label or f"the rule when = '{self.when}'"


@dataclass(frozen=True)
class Verdict:
    """A level and why, as the alert says it: "urgent: renames your tier (Premier → Certified Plus)"."""

    level: str
    why: str

    def __str__(self) -> str:
        return f"{self.level}: {self.why}"


def noise_like(lines: Sequence[str]) -> bool:
    """Every changed line is of the kind that changes without meaning (copyright, "last updated", build ids)."""
    return bool(lines) and all(_NOISE_LIKE().search(line) for line in lines)


def decide_level(
    *,
    source_id: str,
    topic: str,
    added: Sequence[str],
    removed: Sequence[str],
    importance: str | None,
    rules: Sequence[ImportanceRule],
    urgent_reasons: Sequence[str],
) -> Verdict:
    """The level of one change, and why.

    In order: an urgent reason makes it urgent; else only noise-like lines or `importance = "low"` make it low,
    `importance = "urgent"` urgent, anything else normal. Then each matching rule, in order, sets the level
    (the last one wins), so what a user wrote has the last word."""
    lines = [*removed, *added]
    if urgent_reasons:
        verdict = Verdict("urgent", "; ".join(dict.fromkeys(urgent_reasons)))
    elif noise_like(lines):
        verdict = Verdict("low", "only noise-like lines changed (copyright, 'last updated', build numbers)")
    elif importance in ("low", "urgent"):
        verdict = Verdict(importance, f'the source is marked importance = "{importance}"')
    else:
        verdict = Verdict("normal", "a change on a watched page")
    for rule in rules:
        if rule.applies_to(source_id, topic) and rule.level != verdict.level and rule.matches(lines, verdict.level):
            verdict = Verdict(rule.level, f"{rule.describe()} matches the changed lines")
    return verdict


def diff_sides(diff: str) -> tuple[list[str], list[str]]:
    """The removed and added lines of a unified diff (headers and context left out)."""
    removed: list[str] = []
    added: list[str] = []
    for line in diff.splitlines():
        if line.startswith(("---", "+++", "@@")):
            continue
        if line.startswith("-"):
            removed.append(line[1:])
        elif line.startswith("+"):
            added.append(line[1:])
    return removed, added


_NUMBER = lazy_pattern(r"\d+(?:[.,]\d+)*")


def learned_pattern(removed: Sequence[str], added: Sequence[str], limit: int = 8) -> str:
    """The `when` of a rule taught by *Not important*: each changed line, numbers generalised, anchored.

    So a rule from "Views this week: 1,204" also matches "Views this week: 1,377", and nothing else."""
    parts: list[str] = []
    for line in dict.fromkeys(line.strip() for line in [*removed, *added] if line.strip()):
        pieces = _NUMBER().split(line)
        generalised = r"\d[\d.,]*".join(re.escape(piece).replace("\\ ", " ") for piece in pieces)
        if generalised not in parts:
            parts.append(generalised)
        if len(parts) >= limit:
            break
    return "^(?:" + "|".join(parts) + ")$" if parts else r"^$"
