"""Benchmark: the cost of reading fact changes (and term glosses) per change, on 1,000 realistic diffs.

    python bench/facts.py [--diffs 1000] [--seed 7]

Each diff is a policy-like page (20-400 lines, English, Chinese, Indonesian or Portuguese) with a few values moved,
a sentence reworded, a line added and the counters ticking. Prints per-change time (mean, p50, p95, max), the
unified-diff time on the same pages for scale, and how many facts were found. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from watchers.facts.changes import fact_changes  # noqa: E402
from watchers.facts.gloss import gloss_lines, term_list  # noqa: E402
from watchers.facts.values import find_values  # noqa: E402
from watchers.recording.diffing import diff_lines  # noqa: E402

LINES = {
    "en": [
        "Cloud consumption growth must be at least {p}% year on year.",
        "At least {n} certified architects (HCIE-Cloud or HCCDE) on staff.",
        "Deal registration: {n} hours before the RFP release.",
        "Claims for Q{q} 2026 must be filed by 2027-01-{d:02d}.",
        "The rebate pool is USD {m},000 per quarter, paid on {d} March 2027.",
        "Cross-Cloud Policy v3.{n}.{q}",
        "Partners in the {w} track keep their benefits for {n} months.",
        "Marketplace listings need {n} reference customers and a {p}% discount cap.",
    ],
    "zh": [
        "云消费同比增长不低于{p}%。",
        "至少{n}名认证架构师（HCIE-Cloud 或 HCCDE）。",
        "商机报备：须在RFP发布前{n}小时完成。",
        "2026年第{q}季度返利申请截止日期为2027年1月{d}日。",
        "单笔返利上限 {n} 万元。",
        "{w}合作伙伴激励政策 版本 3.{n}.{q}",
    ],
    "id": [
        "Pertumbuhan konsumsi cloud minimal {p}% dari tahun ke tahun.",
        "Batas waktu klaim rebate: {d} Januari 2027.",
        "Insentif maksimum Rp {m}.000.000 per kuartal untuk mitra {w}.",
        "Pendaftaran deal paling lambat {n} hari sebelum tender.",
    ],
    "pt": [
        "Prazo para pedidos de rebate: {d} de janeiro de 2027.",
        "Teto do incentivo: R$ {m}.200,50 por parceiro {w}.",
        "Crescimento mínimo de {p}% ao ano no consumo de nuvem.",
        "Pelo menos {n} arquitetos certificados na equipe.",
    ],
}
NOISE = ["Last refreshed {n} seconds ago · Page views: {m},{n:03d}", "© 2026 Huawei. All rights reserved."]
WORDS = ["solution", "service", "distribution", "consulting", "training", "marketplace"]


def _fill(template: str, rng: random.Random) -> str:
    return template.format(
        p=rng.randint(5, 40), n=rng.randint(1, 99), q=rng.randint(1, 4), d=rng.randint(1, 28),
        m=rng.randint(1, 900), w=rng.choice(WORDS),
    )  # fmt: skip


def make_diff(rng: random.Random) -> tuple[list[str], list[str]]:
    lang = rng.choice(list(LINES))
    size = rng.choice([20, 40, 80, 150, 400])
    old = [_fill(rng.choice(LINES[lang]), rng) for _ in range(size)] + [_fill(t, rng) for t in NOISE]
    new = list(old)
    for _ in range(rng.randint(1, 4)):  # values moved
        i = rng.randrange(size)
        new[i] = _fill(rng.choice(LINES[lang]), rng) if rng.random() < 0.2 else _move(old[i], rng)
    if rng.random() < 0.5:  # a sentence reworded around its value
        i = rng.randrange(size)
        new[i] = new[i].replace(" must ", " must now ").replace("，", "。") + " (updated)"
    if rng.random() < 0.5:
        new.insert(rng.randrange(size), _fill(rng.choice(LINES[lang]), rng))
    new[-2] = _fill(NOISE[0], rng)
    return old, new


def _move(line: str, rng: random.Random) -> str:
    values = find_values(line)
    if not values:
        return line + " (changed)"
    v = rng.choice(values)
    digits = [c for c in v.text if c.isdigit()]
    bumped = v.text.replace(digits[-1], str((int(digits[-1]) + 1) % 10), 1) if digits else v.text
    return line[: v.start] + bumped + line[v.end :]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--diffs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    pages = [make_diff(rng) for _ in range(args.diffs)]
    terms = term_list()
    facts_ms, gloss_ms, diff_ms, found, lines = [], [], [], 0, 0
    for old, new in pages:
        find_values.cache_clear()  # every poll reads new text: no warm cache across changes
        t0 = time.perf_counter()
        diff = diff_lines(old, new)
        t1 = time.perf_counter()
        facts = fact_changes(diff.removed, diff.added)
        t2 = time.perf_counter()
        gloss_lines(diff.added + diff.removed, terms)
        t3 = time.perf_counter()
        diff_ms.append((t1 - t0) * 1000)
        facts_ms.append((t2 - t1) * 1000)
        gloss_ms.append((t3 - t2) * 1000)
        found += len(facts)
        lines += len(diff.added) + len(diff.removed)

    def row(name: str, ms: list[float]) -> str:
        ordered = sorted(ms)
        p95 = ordered[int(len(ordered) * 0.95) - 1]
        return (
            f"  {name:<22} mean {statistics.mean(ms):7.3f} ms · p50 {statistics.median(ms):7.3f} ms · "
            f"p95 {p95:7.3f} ms · max {max(ms):7.3f} ms"
        )

    print(f"{args.diffs} diffs (20-400 lines; en, zh, id, pt), {lines} changed lines, {found} facts found")
    print(row("fact extraction", facts_ms))
    print(row("term gloss", gloss_ms))
    print(row("unified diff (scale)", diff_ms))
    total = sum(facts_ms) + sum(gloss_ms)
    print(f"  facts + gloss for all {args.diffs} changes: {total:.0f} ms")


if __name__ == "__main__":
    main()
