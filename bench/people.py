"""Benchmark: `plan` and `whatif` on a team of 500 people with 2,000 certificates (real CSV, real SQLite).

    python bench/people.py [--people 500] [--certs 2000] [--runs 30]

Each run is one full command through the handler registry, as `/whisperer plan` or `whisperer ask` runs it:
loading the team from SQLite, counting every group over time, and planning. Prints p50 and p99 in ms.
A benchmark, not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config.loading import load_config  # noqa: E402
from bot.process.runtime import make_context, open_runtime  # noqa: E402
from handlers.registry import dispatch, load_commands  # noqa: E402
from handlers.team.certificates import import_certs, parse_cert_csv  # noqa: E402

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
CONFIG = """
[bot]
database = "bench.db"
timezone = "Asia/Jakarta"

[partner]
name = "Bench Cloud"
status_expires = 2027-11-26

[renewal]
kpis = [{ id = "architects", label = "Certified architects", certified = "architects", min = 300 }]

[certifications.groups]
cssa_professional = ["HCIP-Cloud Service Solutions Architect*", "HCCDP*"]
cssa_expert = ["HCIE-CSSA*", "HCIE-Cloud Service Solutions Architect*", "HCCDE*"]
project_managers = ["PMP*", "IPMA*", "HCIP-PM*"]

[[competencies]]
id = "migration"
name = "Cloud Migration"
requires = { cssa_professional = 250, cssa_expert = 250, project_managers = 270 }

[[competencies]]
id = "devops"
name = "DevOps"
requires = { cssa_professional = 200, project_managers = 200 }
"""
CERTS = (
    "HCIE-Cloud",
    "HCIE-CSSA",
    "HCCDE",
    "HCIP-Cloud Service Solutions Architect",
    "HCCDP",
    "PMP",
    "HCIP-PM",
    "HCIA-Cloud Service",
    "HCIA-AI",
    "HCIP-Datacom",
)


def team_csv(people: int, certs: int, rng: random.Random) -> str:
    lines = ["name,slack_id,certification,expires,bound"]
    for i in range(certs):
        person = i % people
        name = CERTS[rng.randrange(len(CERTS))]
        expires = date(2026, 12, 1) + timedelta(days=rng.randrange(3 * 365))
        bound = "no" if person % 23 == 0 else "yes"
        lines.append(f"Person {person:03d},U{person:06d}X,{name} {i // people},{expires},{bound}")
    return "\n".join(lines) + "\n"


def measure(ctx_factory: object, line: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        ctx = ctx_factory()  # type: ignore[operator]
        start = time.perf_counter()
        reply = dispatch(ctx, line)
        times.append((time.perf_counter() - start) * 1000)
        assert not reply.error, line
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--certs", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    load_commands()  # imported before timing, as the bot does at start-up
    rng = random.Random(17)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "whisperer.toml").write_text(CONFIG, encoding="utf-8")
        csv_text = team_csv(args.people, args.certs, rng)
        (workdir / "team.csv").write_text(csv_text, encoding="utf-8")
        config = load_config(workdir / "whisperer.toml", env={})
        runtime = open_runtime(config, NOW)
        try:
            parsed = parse_cert_csv(csv_text, config.knowledge.certifications)
            assert not parsed.problems, parsed.problems[:3]
            import_certs(runtime.db, parsed, NOW)
            print(f"{args.people} people, {args.certs} certificates, {args.runs} runs each")

            def ctx() -> object:
                return make_context(runtime, NOW, operator=True)

            for line in (
                "plan",
                "plan until 2028-06-30",
                "whatif leave U000001X",
                "whatif leave U000001X 2027-03-01, leave U000002X, pass U000003X HCIE-CSSA 2027-01-10",
                "coverage",
                "certs matrix",
            ):
                times = sorted(measure(ctx, line, args.runs))
                p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
                print(f"  {line[:60]:<62} p50 {statistics.median(times):7.1f} ms   p99 {p99:7.1f} ms")
            print("\nThe first plan line:")
            first = dispatch(ctx(), "plan")  # type: ignore[arg-type]
            from bot.slack.render import to_text

            print("  " + "\n  ".join(to_text(first).splitlines()[:6]))
        finally:
            runtime.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
