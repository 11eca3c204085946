"""Levels, transitions, taught patterns and the machine summary's inertness: pure, data-driven; and their config."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from bot.config.loading import parse_config
from bot.config.validation import ConfigError
from watchers.facts.levels import ImportanceRule, decide_level, diff_sides, learned_pattern, noise_like
from watchers.facts.summary import inert_summary
from watchers.facts.transitions import value_transitions

CASES = tomllib.loads((Path(__file__).parent / "data" / "levels.toml").read_text(encoding="utf-8"))["case"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_level_decision(case: dict[str, Any]) -> None:
    rules = [ImportanceRule(r["when"], r["level"], r.get("topic")) for r in case.get("rules", [])]
    verdict = decide_level(
        source_id="src",
        topic="policy",
        added=case["added"],
        removed=case["removed"],
        importance=case.get("importance"),
        rules=rules,
        urgent_reasons=case.get("urgent", []),
    )
    assert verdict.level == case["level"]
    assert case.get("why", "") in verdict.why
    assert str(verdict).startswith(f"{case['level']}: ")


def test_noise_like_needs_every_line() -> None:
    assert noise_like(["Last updated 2026-11-26", "© 2026 Huawei"])
    assert not noise_like(["Last updated 2026-11-26", "EMI score: 68.1"])
    assert not noise_like([])


@pytest.mark.parametrize(
    ("removed", "added", "expected"),
    [
        (["data.emi.score: 73.8"], ["data.emi.score: 68.1"], ("73.8 → 68.1",)),
        (["EMI Score: 73.8 (Green Zone!)"], ["EMI Score: 68.10 (Yellow Zone)"], ("73.8 → 68.1", "Green → Yellow")),
        (["| 3 | Premier |"], ["| 3 | Certified Plus |"], ("Premier → Certified Plus",)),
        (["Page 1 of 2"], ["Page 2 of 2"], ()),  # one-digit counts prove nothing
        (["Something else entirely"], ["A different sentence now"], ()),  # unpaired lines give no transition
    ],
)
def test_value_transitions(removed: list[str], added: list[str], expected: tuple[str, ...]) -> None:
    assert value_transitions(removed, added) == expected


def test_a_taught_pattern_generalises_numbers_only() -> None:
    removed, added = diff_sides("--- a\n+++ b\n@@ -1 +1 @@\n-Webinars this month: 12\n+Webinars this month: 13\n")
    pattern = learned_pattern(removed, added)
    assert re.search(pattern, "Webinars this month: 1,204")
    assert not re.search(pattern, "Webinars this month: 13 (and a new rebate)")
    assert not re.search(pattern, "Rebate this month: 13")


@pytest.mark.parametrize(
    ("answer", "kept", "gone"),
    [
        ("EMI fell from 73.8 to 68.1. <!channel> look", "EMI fell from 73.8 to 68.1", "<!channel>"),
        ("Read https://evil.example/x now", "Read", "https://"),
        ("See evil.com for more", "See", "evil.com"),
        ("Ping <@U0ADMIN> and @here", "Ping", "<@"),
        ("Policy v3.3.0 raises growth to 25%, e.g. more.", "v3.3.0 raises growth to 25%, e.g. more", "(link"),
    ],
)
def test_a_summary_is_made_inert(answer: str, kept: str, gone: str) -> None:
    text = inert_summary(answer)
    assert kept in text and gone not in text
    assert "<" not in text and "@here" not in text


BASE = {"bot": {"database": "x.db"}}


def config(**sections: Any) -> Any:
    return parse_config({**BASE, **sections}, env={"LLM_API_KEY": "sk-test"}, file="whisperer.toml")


def source(**keys: Any) -> dict[str, Any]:
    return {"id": "s", "kind": "html", "url": "https://example.com/", **keys}


def test_importance_keys_are_read() -> None:
    loaded = config(
        sources=[source(importance="low")],
        importance=[{"when": "typo", "level": "low", "topic": "policy"}],
        summary={"url": "http://127.0.0.1:11434/v1/chat/completions", "model": "m", "api_key": "${LLM_API_KEY}"},
    )
    assert loaded.sources[0].importance == "low"
    assert loaded.importance[0].when == "typo" and loaded.importance[0].topic == "policy"
    assert loaded.summary is not None and loaded.summary.api_key == "sk-test"
    assert "sk-test" not in repr(loaded.summary)
    assert config().summary is None  # off by default


@pytest.mark.parametrize(
    ("sections", "where", "says"),
    [
        ({"sources": [source(importance="high")]}, "sources[0].importance", "use one of: urgent, normal, low"),
        ({"importance": [{"when": "(", "level": "low"}]}, "importance[0].when", "invalid regular expression"),
        ({"importance": [{"when": "x", "level": "quiet"}]}, "importance[0].level", "unknown level"),
        ({"importance": [{"when": "x", "level": "low", "topc": "x"}]}, "importance[0].topc", "did you mean"),
        ({"importance": {"when": "x"}}, "importance", "[[importance]]"),
        ({"summary": {"url": "http://127.0.0.1/v1", "model": "m", "api_key": "${NOPE}"}}, "summary.api_key", "NOPE"),
        ({"summary": {"url": "ftp://x", "model": "m"}}, "summary.url", "http(s)"),
        ({"summary": {"url": "http://127.0.0.1/v1"}}, "summary.model", "is required"),
        ({"summary": {"url": "http://127.0.0.1/v1", "model": "m", "timeout": 0}}, "summary.timeout", "between"),
    ],
)
def test_bad_keys_name_the_key_and_the_fix(sections: dict[str, Any], where: str, says: str) -> None:
    with pytest.raises(ConfigError) as raised:
        config(**sections)
    assert raised.value.where == f"whisperer.toml: {where}"
    assert says in str(raised.value)
