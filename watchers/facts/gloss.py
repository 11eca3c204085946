"""Term glosses, pure: the programme's words found in a line of Chinese (or another non-Latin script), with their
English. A gloss of terms, not a translation: the words it knows, in order, and nothing else."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from watchers.facts.terms import TERMS
from watchers.patterns import lazy_pattern

_NON_LATIN = lazy_pattern(r"[\u0400-\u04ff\u0600-\u06ff\u0e00-\u0e7f\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff]")
MAX_GLOSSED_LINES = 6


def needs_gloss(line: str) -> bool:
    return bool(_NON_LATIN().search(line))


def term_list(extra: Iterable[tuple[str, str]] = ()) -> dict[str, str]:
    """The bundled list, then the glossary's terms written in a non-Latin script (they win)."""
    terms = dict(TERMS)
    for term, meaning in extra:
        if needs_gloss(term) and meaning.strip():
            terms[term.strip()] = " ".join(meaning.split())[:60]
    return terms


def gloss_line(line: str, terms: Mapping[str, str]) -> list[tuple[str, str]]:
    """Longest known terms first, left to right; each term once."""
    by_first: dict[str, list[str]] = {}
    for term in sorted(terms, key=len, reverse=True):
        by_first.setdefault(term[0], []).append(term)
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    i = 0
    while i < len(line):
        for term in by_first.get(line[i], ()):
            if line.startswith(term, i):
                if term not in seen:
                    seen.add(term)
                    found.append((term, terms[term]))
                i += len(term)
                break
        else:
            i += 1
    return found


def gloss_lines(lines: Iterable[str], terms: Mapping[str, str]) -> list[dict[str, object]]:
    """[{"line": …, "terms": [[term, english], …]}] for the changed lines that need one (at most a few)."""
    out: list[dict[str, object]] = []
    shown: set[tuple[str, ...]] = set()
    for line in lines:
        if len(out) >= MAX_GLOSSED_LINES or not needs_gloss(line):
            continue
        found = gloss_line(line, terms)
        key = tuple(term for term, _ in found)
        if found and key not in shown:  # the old and new line of one sentence share their gloss
            shown.add(key)
            out.append({"line": line, "terms": [list(pair) for pair in found]})
    return out


def show_gloss(terms: Iterable[Iterable[str]]) -> str:
    """ "云消费 cloud consumption · 同比 year on year · 增长 growth" """
    return " · ".join(" ".join(pair) for pair in terms)
