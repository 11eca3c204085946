"""Noise control and change summaries, case by case from tests/data/normalise.json."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from conftest import DATA

from watchers.reading.normalise import content_hash, normalise_lines, normalise_text
from watchers.recording.diffing import diff_lines, summarise

CASES: list[dict[str, Any]] = json.loads((DATA / "normalise.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES, ids=[c["why"] for c in CASES])
def test_normalise_line(case: dict[str, Any]) -> None:
    expected = [case["out"]] if case["out"] else []
    assert normalise_lines([case["in"]]) == expected


def test_normalising_twice_changes_nothing() -> None:
    once = normalise_lines([c["in"] for c in CASES])
    assert normalise_lines(once) == once


# Lines whose whitespace, control characters or noise words make normalise_lines do work a plain page skips.
ODD = [
    "Tier \x07 Gold",  # removing the BEL leaves two spaces, which collapse
    "Tier\u200b\u200bGold\x00",
    "\x1b[31mElite\x1b[0m: 6%\tnow",
    "Premier:\xa0\xa08%",
    "Visitors: 12\x00,345 · Updated at 10:42 · 3 views",
    "Straße ΑΣ İstanbul: seen 5 minutes ago",
    "first half\nLast refreshed 3 seconds ago",
    "刚刚 更新 · 浏览量: 1,234",
    "plain line",
]


@pytest.mark.parametrize("ignore", [(), (re.compile(r"Gold"),), (re.compile(r"\s+"),)])
def test_a_line_normalises_the_same_whatever_the_page_around_it(ignore: tuple[re.Pattern[str], ...]) -> None:
    """normalise_lines asks the whole page first whether a step is needed: no line may depend on another."""
    lines = [c["in"] for c in CASES] + ODD
    alone = [out for line in lines for out in normalise_lines([line], ignore)]
    assert normalise_lines(lines, ignore) == alone
    assert normalise_lines(iter(lines[::-1]), ignore) == [
        o for line in lines[::-1] for o in normalise_lines([line], ignore)
    ]
    assert normalise_lines(["plain line", *ODD[:1]]) == ["plain line", "Tier Gold"]


def test_user_patterns_remove_only_what_they_match() -> None:
    ignore = (re.compile(r"Build \S+"), re.compile(r"^Rendered by node-\d+$"))
    lines = ["Deal registration: 90 days", "Footer · Build 2026.11.26-7f3a", "Rendered by node-7", "Elite: 6%"]

    assert normalise_lines(lines, ignore) == ["Deal registration: 90 days", "Footer ·", "Elite: 6%"]


def test_unordered_sorts_and_drops_duplicates() -> None:
    assert normalise_lines(["Zeta", "alpha", "Zeta", "Beta"], unordered=True) == ["Beta", "Zeta", "alpha"]
    assert normalise_lines(["Zeta", "alpha", "Zeta", "Beta"]) == ["Zeta", "alpha", "Zeta", "Beta"]


def test_the_hash_ignores_noise_and_sees_content() -> None:
    before = "Elite: 6%\nLast refreshed 47 seconds ago\nVisitors: 12,345"
    later = "Elite: 6%\nLast refreshed 3 minutes ago\nVisitors: 12,399"
    edited = "Elite: 7%\nLast refreshed 3 minutes ago\nVisitors: 12,399"

    assert content_hash(normalise_text(before)) == content_hash(normalise_text(later))
    assert content_hash(normalise_text(before)) != content_hash(normalise_text(edited))


@pytest.mark.parametrize(
    ("added", "removed", "summary"),
    [
        (
            ["Deal registration: 90 days", "Premier: 8%"],
            ["Deal registration: 72 hours"],
            "2 lines added, 1 removed: 'Deal registration: 90 days'",
        ),
        (["Premier: 8%"], [], "1 line added: 'Premier: 8%'"),
        ([], ["Legacy: closed", "Old: gone"], "2 lines removed: 'Legacy: closed'"),
        (["a"], ["b", "c"], "1 line added, 2 removed: 'a'"),
        ([], [], "reordered"),
        (["x" * 200], [], f"1 line added: '{'x' * 79}…'"),
        (["Tier   with\tspaces"], [], "1 line added: 'Tier with spaces'"),
    ],
)
def test_summaries(added: list[str], removed: list[str], summary: str) -> None:
    assert summarise(added, removed) == summary


def test_diff_lines_counts_and_labels() -> None:
    diff = diff_lines(
        ["Tier", "Elite: 6%", "Advanced: 4%"], ["Tier", "Elite: 7%", "Advanced: 4%", "Premier: 8%"], "a", "b"
    )

    assert diff.added == ["Elite: 7%", "Premier: 8%"]
    assert diff.removed == ["Elite: 6%"]
    assert diff.summary == "2 lines added, 1 removed: 'Elite: 7%'"
    assert diff.diff.splitlines()[:2] == ["--- a", "+++ b"]
