"""Noise control: turn extracted text into the canonical form whose hash decides "changed"."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from functools import cache

from watchers.reading.inert import inert, is_inert

# Volatile fragments that change on every visit and never mean anything to a partner.
# Each pattern is replaced (not the whole line dropped) so the rest of the line still counts.
# Each comes with the words one of its matches must contain: most pages hold few of them, and a
# substring test is far cheaper than running the pattern.
_NOISE: tuple[tuple[str, tuple[str, ...]], ...] = (
    # "47 seconds ago", "a minute ago", "3 hrs ago"
    (r"\b(?:\d+|an?|one|few)\s+(?:sec(?:ond)?s?|min(?:ute)?s?|hours?|hrs?)\s+ago\b", ("ago",)),
    (r"\bjust now\b", ("just now",)),
    # "Last refreshed at 10:42:07", "Updated at 09:15 UTC", "refreshed: 2026-11-26 10:42"
    (
        r"\b(?:last\s+)?(?:refreshed|updated|generated|rendered|fetched|loaded)\s*(?:at|on|:)?\s*"
        r"(?:\d{4}-\d{2}-\d{2}[ T])?\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?"
        r"(?:\s*(?:UTC|GMT|[+-]\d{2}:?\d{2}))?",
        ("refreshed", "updated", "generated", "rendered", "fetched", "loaded"),
    ),
    # Chinese relative times: "47秒前", "3分钟前", "2小时前", "刚刚"
    (r"\d+\s*(?:秒|分钟|小时)前", ("前",)),
    (r"刚刚", ("刚刚",)),
    # CSRF / session tokens written into the text
    # (the value must hold a digit: "Session: Registration" is content, "Session ID: 8f3a9c1e" is noise)
    (
        r"\b[\w-]*(?:csrf|xsrf|authenticity|session|sid|nonce|token)[\w-]*(?:\s+id)?"
        r"\s*[:=]\s*[\"']?(?=[A-Za-z0-9+/=_\-.]*\d)[A-Za-z0-9+/=_\-.]{8,}[\"']?",
        ("csrf", "xsrf", "authenticity", "session", "sid", "nonce", "token"),
    ),
    # visitor and view counters
    (
        r"\b(?:visitors?|views?|page\s*views?|hits|visits|reads)\s*[:：]?\s*[\d,.]+\b",
        ("visit", "view", "hits", "reads"),
    ),
    (r"\b[\d,.]+\s+(?:visitors?|views|page\s*views|hits|visits|reads)\b", ("visit", "view", "hits", "reads")),
    (r"(?:浏览|阅读|访问)(?:量|次数)?\s*[:：]?\s*[\d,]+", ("浏览", "阅读", "访问")),
)


@cache
def builtin_noise() -> tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]:
    """The noise patterns, compiled at the first page read rather than at import."""
    return tuple((re.compile(pattern, re.IGNORECASE), hints) for pattern, hints in _NOISE)


_SPACE = re.compile(r"[ \t\u00a0\u3000\u200b\r\f\v]+")
_ODD_SPACES = ("  ", "\t", "\u00a0", "\u3000", "\u200b", "\r", "\f", "\v")  # what _SPACE would change


def compile_patterns(patterns: Iterable[str]) -> tuple[re.Pattern[str], ...]:
    """Compile user ignore patterns; re.error propagates for the config loader to report."""
    return tuple(re.compile(p) for p in patterns)


def normalise_lines(
    lines: Iterable[str],
    ignore: Sequence[re.Pattern[str]] = (),
    unordered: bool = False,
) -> list[str]:
    """Collapse whitespace, strip volatile fragments and user noise, drop blank lines.

    Each step is first asked of the whole page, in C (a substring test, one scan), and run line by line only
    when the page needs it: most pages hold no odd whitespace, no control character, and few noise words."""
    raw_lines = lines if isinstance(lines, list) else list(lines)
    page = "\n".join(raw_lines)  # "\n" is neither a _SPACE nor a control character to `inert`
    spaced = any(odd in page for odd in _ODD_SPACES)
    controlled = not is_inert(page)
    cleaned: list[str] = []
    fixed: list[bool] = []  # `inert` removed something: spaces on either side of it may now touch
    for raw in raw_lines:
        # Escapes, control characters and bidi overrides go first (watchers/reading/inert.py): the snapshot is what
        # diffs, summaries and alerts are made of, so a page can neither write into a terminal nor reorder text.
        line = _SPACE.sub(" ", raw) if spaced else raw
        if controlled:
            safe = inert(line)
            fixed.append(safe != line)
            line = safe
        cleaned.append(line.strip())
    noisy = _noisy_lines("\x00".join(cleaned).casefold())  # see _noisy_lines: no cleaned line holds a NUL
    out: list[str] = []
    for index, line in enumerate(cleaned):
        before = line
        for pattern in noisy.get(index, ()):
            line = pattern.sub("", line)
        for pattern in ignore:
            line = pattern.sub("", line)
        # A line nothing was removed from is already collapsed and stripped: doing it again would change nothing.
        if line != before or (controlled and fixed[index]):
            line = _SPACE.sub(" ", line).strip()
        if line:
            out.append(line)
    if unordered:
        out = sorted(set(out))
    return out


def _noisy_lines(folded: str) -> dict[int, list[re.Pattern[str]]]:
    """Which lines hold a hint of which noise patterns (in their order), found in the whole casefolded page.

    The lines are joined by NUL: `inert` removes every NUL, and a page without control characters has none, so
    each NUL is a line break. casefold maps each character alone, so a line's hints are found where they were."""
    found: dict[int, list[re.Pattern[str]]] = {}
    for pattern, hints in builtin_noise():
        lines: set[int] = set()
        for hint in hints:
            at = folded.find(hint)
            line = scanned = 0
            while at >= 0:
                line += folded.count("\x00", scanned, at)
                lines.add(line)
                scanned = folded.find("\x00", at)  # a hint holds no NUL: go on from the next line
                if scanned < 0:
                    break
                at = folded.find(hint, scanned)
        for line in lines:
            found.setdefault(line, []).append(pattern)
    return found


def normalise_text(text: str, ignore: Sequence[re.Pattern[str]] = (), unordered: bool = False) -> str:
    return "\n".join(normalise_lines(text.splitlines(), ignore, unordered))


def content_hash(text: str) -> str:
    """The content address of a snapshot."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
