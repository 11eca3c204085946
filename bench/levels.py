"""Benchmark: the cost of issue 15's per-change work: the level decision, the value transitions that group one
event's alerts, and a taught rule's pattern, on 1,000 realistic diffs (policy, tier, JSON and dashboard lines).

    python bench/levels.py [--diffs 1000]

A benchmark, not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from watchers.facts.levels import ImportanceRule, decide_level, learned_pattern  # noqa: E402
from watchers.facts.transitions import value_transitions  # noqa: E402

LINES = (
    "Cloud consumption growth must be at least {n}% year on year.",
    "data.emi.score: {f}",
    "{d} | {tier}",
    "Ecosystem Maturity Index (EMI) Score: {f} ({zone} Zone)",
    "Claims for Q4 2026 must be filed by 2027-01-{d:02d}.",
    "© {y} Huawei Technologies Co., Ltd. All rights reserved.",
    "云消费同比增长不低于{n}%。",
    "Market development funds: {d}% of eligible consumption.",
)
TIERS = ("Premier", "Certified Plus", "Advanced", "Core", "Standard")
ZONES = ("Green", "Yellow", "Red")


def line(rng: random.Random, template: str) -> str:
    return template.format(
        n=rng.randint(10, 40),
        f=round(rng.uniform(50, 90), 1),
        d=rng.randint(1, 28),
        tier=rng.choice(TIERS),
        zone=rng.choice(ZONES),
        y=rng.randint(2020, 2027),
    )


def diffs(count: int) -> list[tuple[list[str], list[str]]]:
    rng = random.Random(15)
    out = []
    for _ in range(count):
        templates = rng.sample(LINES, rng.randint(1, 4))
        out.append(([line(rng, t) for t in templates], [line(rng, t) for t in templates]))
    return out


def per_item(
    label: str, items: list[tuple[list[str], list[str]]], work: Callable[[list[str], list[str]], object]
) -> None:
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for removed, added in items:
            work(removed, added)
        best = min(best, time.perf_counter() - start)
    print(f"  {label:<42} {best / len(items) * 1e6:8.1f} µs per diff (best of 5, {len(items)} diffs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--diffs", type=int, default=1000)
    args = parser.parse_args()
    items = diffs(args.diffs)
    rules = [ImportanceRule("typo|spelling", "low"), ImportanceRule("deal registration", "urgent", topic="policy")]
    print(f"bench/levels.py: {len(items)} diffs of 1-4 changed lines")

    def level(removed: list[str], added: list[str]) -> object:
        return decide_level(
            source_id="s", topic="policy", added=added, removed=removed, importance=None, rules=rules, urgent_reasons=()
        )

    per_item("level decision (2 config rules)", items, level)
    per_item("value transitions (event grouping)", items, value_transitions)
    per_item("taught rule pattern (Not important)", items, learned_pattern)


if __name__ == "__main__":
    main()
