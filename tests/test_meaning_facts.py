"""Fact changes, driven by the fixture pages in tests/data/facts: English, Chinese, Indonesian, Portuguese, noise."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from watchers.facts.changes import FactChange, fact_changes, facts_from_diff, headline
from watchers.reading.normalise import normalise_text
from watchers.reading.observe import patterns
from watchers.recording.diffing import diff_lines

DATA = Path(__file__).parent / "data" / "facts"


def _cases() -> list[Any]:
    out = []
    for file in sorted(DATA.glob("*.toml")):
        with file.open("rb") as handle:
            out += [pytest.param(case, id=f"{file.stem}: {case['name']}") for case in tomllib.load(handle)["case"]]
    return out


@pytest.mark.parametrize("case", _cases())
def test_fact_changes(case: dict[str, Any]) -> None:
    ignore = patterns(tuple(case.get("ignore", ())))
    old = normalise_text(case["old"], ignore).splitlines()
    new = normalise_text(case["new"], ignore).splitlines()
    diff = diff_lines(old, new)
    facts = fact_changes(diff.removed, diff.added)
    assert [f.describe() for f in facts] == case["facts"]
    assert [f.describe() for f in facts_from_diff(diff.diff)] == case["facts"]  # the same from a stored diff


def test_every_language_has_a_fixture_with_facts_and_one_without() -> None:
    for stem in ("en", "zh", "id", "pt"):
        with (DATA / f"{stem}.toml").open("rb") as handle:
            cases = tomllib.load(handle)["case"]
        assert any(c["facts"] for c in cases), stem
    with (DATA / "noise.toml").open("rb") as handle:
        assert all(not c["facts"] for c in tomllib.load(handle)["case"])


def test_facts_keep_numbers_and_days_and_round_trip() -> None:
    facts = fact_changes(
        ["Cloud consumption growth must be at least 20% year on year.", "Claims close on 15 Jan 2027."],
        ["Cloud consumption growth must be at least 25% year on year.", "Claims close on 31 Jan 2027."],
    )
    assert (facts[0].old_number, facts[0].new_number) == (20.0, 25.0)
    assert (facts[1].old_day, facts[1].new_day) == ("2027-01-15", "2027-01-31")
    assert [FactChange.from_dict(f.as_dict()) for f in facts] == facts
    assert headline(facts, limit=1).endswith("(+1 more)")


def test_a_rewritten_page_pairs_only_identical_sentences() -> None:
    old = [f"Row {i}: quota {i}% of plan, {i} seats" for i in range(200)]
    new = [f"Row {i}: quota {i + 1}% of plan, {i} seats" for i in range(200)]
    facts = fact_changes(old, new)
    assert len(facts) == 12  # capped: past that the diff says more
    assert facts[0].describe() == "Row 0: quota … of plan, 0 seats: 0% → 1%"
