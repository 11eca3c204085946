"""Pure extraction, driven by the fixture files in tests/data: dates, versions, updated stamps, tier ladders."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from watchers.facts.dates import dated_sentences, find_dates, parse_day
from watchers.facts.tiers import classify_ladder, extract_ladder, ladder_from_lines
from watchers.facts.versions import Version, find_updated, find_version, same_version

DATA = Path(__file__).parent / "data"


def cases(file: str, table: str) -> list[Any]:
    with (DATA / file).open("rb") as handle:
        return list(tomllib.load(handle)[table])


@pytest.mark.parametrize("case", cases("dates.toml", "case"), ids=lambda c: c["text"][:40])
def test_find_dates(case: dict[str, Any]) -> None:
    assert [f.day.isoformat() for f in find_dates(case["text"])] == case["dates"]


@pytest.mark.parametrize("case", cases("dates.toml", "sentences"), ids=lambda c: c["text"][:30])
def test_dated_sentences(case: dict[str, Any]) -> None:
    assert [[s.day.isoformat(), s.sentence] for s in dated_sentences(case["text"])] == case["expected"]


def test_parse_day_takes_exactly_one_date() -> None:
    assert str(parse_day(" 31 March 2027 ")) == "2027-03-31"
    assert str(parse_day("2027年3月31日")) == "2027-03-31"
    assert parse_day("2027-03-31 and 2027-04-01") is None
    assert parse_day("by 2027-03-31") is None
    assert parse_day("2027-02-30") is None


@pytest.mark.parametrize("case", cases("versions.toml", "version"), ids=lambda c: c["text"][:40])
def test_find_version(case: dict[str, Any]) -> None:
    found = find_version(case["text"])
    assert (str(found) if found else "") == case["expected"]


@pytest.mark.parametrize("case", cases("versions.toml", "updated"), ids=lambda c: c["text"][:40])
def test_find_updated(case: dict[str, Any]) -> None:
    assert (find_updated(case["text"]) or "") == case["expected"]


def test_versions_compare_without_trailing_zeros() -> None:
    assert same_version(Version.parse("3.3"), Version.parse("3.3.0"))
    assert not same_version(Version.parse("3.3"), Version.parse("3.3.1"))
    assert Version.parse("3.10").key > Version.parse("3.9").key


@pytest.mark.parametrize("case", cases("tiers.toml", "ladder"), ids=lambda c: c["lines"][0][:30])
def test_ladder_from_lines(case: dict[str, Any]) -> None:
    assert ladder_from_lines(case["lines"]) == case["expected"]


def test_tiers_selector_reads_only_the_table() -> None:
    document = (
        "<main><table class='tiers'><tr><th>Level</th><th>Tier</th></tr><tr><td>1</td><td>Standard</td></tr>"
        "<tr><td>2</td><td>Premier</td></tr></table><p class='meta'>Last refreshed soon</p></main>"
    )
    assert extract_ladder("Level | Tier\n1 | Standard\nLast refreshed", document, "table.tiers") == [
        "Standard",
        "Premier",
    ]


@pytest.mark.parametrize("case", cases("tiers.toml", "change"), ids=lambda c: c["name"])
def test_classify_ladder(case: dict[str, Any]) -> None:
    events = [[e.kind, e.old or "", e.new or "", e.position or 0] for e in classify_ladder(case["old"], case["new"])]
    assert events == case["events"]
