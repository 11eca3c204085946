"""Thresholds that follow their pages, pure: a source and a pattern whose first group is the number."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from watchers.facts.values import parse_amount


@dataclass(frozen=True)
class Follow:
    """follow = { source = "cross-cloud-policy", pattern = 'at least (\\d+)% year on year' }"""

    source: str
    pattern: str


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def check_pattern(pattern: str) -> str | None:
    """What is wrong with a follow pattern (for the config's message), or None."""
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        return f"not a regular expression ({exc})"
    if compiled.groups < 1:
        return "has no group: put the number in parentheses, e.g. 'at least (\\d+)%'"
    return None


def read_followed(follow: Follow, text: str) -> tuple[float, str] | None:
    """The number the pattern's first group captures on the page, and the matched words; None if not found."""
    match = _compiled(follow.pattern).search(text)
    if match is None or match.group(1) is None:
        return None
    value = parse_amount(match.group(1))
    return None if value is None else (value, " ".join(match.group(0).split())[:120])
