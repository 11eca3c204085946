"""How fast do `deadlines` and Home answer with 1,000 MDF requests and 1,000 deals stored? A benchmark, not a test.

Each answer is the real handler on a real SQLite file (the same call Slack and `whisperer ask` make), timed
from dispatch to the reply model; the first (cold) call, which loads the holiday calendars, is shown apart.

    .venv/bin/python bench/money.py [--mdf 1000] [--deals 1000] [--runs 200]

Another ledger adds its rows by registering a filler in FILLERS: `--NAME N` then appears on the command line,
e.g. `FILLERS["deals"] = fill_deals` gives `--deals 1000`.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage.database import Database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config.loading import load_config  # noqa: E402
from bot.process.runtime import make_context, open_runtime  # noqa: E402
from handlers.money.settings import MOVES  # noqa: E402
from handlers.overview.home import home  # noqa: E402
from handlers.registry import dispatch, load_commands  # noqa: E402
from storage.db import open_db, transaction  # noqa: E402
from storage.programme import deals  # noqa: E402
from storage.programme import money as store  # noqa: E402

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
PATHS = {  # how far along the lifecycle each request is, in turn
    0: ["planned"],
    1: ["planned", "applied"],
    2: ["planned", "applied", "approved"],
    3: ["planned", "applied", "approved", "held"],
    4: ["planned", "applied", "approved", "held", "claimed"],
    5: ["planned", "applied", "approved", "held", "claimed", "rejected"],
    6: ["planned", "applied", "approved", "held", "claimed", "rejected", "resubmitted"],
    7: ["planned", "applied", "approved", "held", "claimed", "reimbursed"],
}


def fill_mdf(db: Database, count: int, now: datetime) -> None:
    """`count` MDF requests, starting over the next year, spread over every state of the lifecycle."""
    with transaction(db):
        for n in range(count):
            start = now.date() + timedelta(days=15 + n % 360)
            path = PATHS[n % len(PATHS)]
            request_id = store.add_request(
                db, f"Activity {n}", start, start + timedelta(days=n % 3), 1000.0 + n, "USD", "U0OWNER", "bench", now
            )
            for old, new in itertools.pairwise(path):
                assert new in MOVES[old]
                store.move_request(db, request_id, old, new, "bench", now)
            if n % 2:
                store.tick_evidence(db, request_id, "photos", "bench", now)


DEAL_STATES = ("draft", "submitted", "validated", "offered", "preregistered", "won", "lost", "rejected")


def fill_deals(db: Database, count: int, now: datetime) -> None:
    """`count` deals over the last two weeks, spread over every state (open ones carry working-day clocks)."""
    with transaction(db):
        for n in range(count):
            state = DEAL_STATES[n % len(DEAL_STATES)]
            origin = {"offered": "huawei", "preregistered": "prereg"}.get(state, "partner")
            began = now - timedelta(days=n % 14, hours=n % 24)
            rfp = now + timedelta(days=20 + n % 90) if state == "draft" else None
            deals.add_deal(
                db, f"Customer {n}", origin, state, now, rfp=rfp, value=1000.0 + n, currency="USD", by="bench", at=began
            )


Filler = Callable[[Database, int, datetime], None]
FILLERS: dict[str, Filler] = {"mdf": fill_mdf, "deals": fill_deals}
CONFIG = """
[bot]
database = "whisperer.db"
timezone = "Asia/Jakarta"

[partner]
name = "Acme Cloud"

[[mdf.quota]]
period = "2027"
amount = 500000
currency = "USD"

[[rebates]]
id = "cross-cloud"
name = "Cross-cloud rebate"
period = "monthly"
"""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in FILLERS:
        parser.add_argument(f"--{name}", type=int, default=1000, metavar="N", help=f"{name} rows to store")
    parser.add_argument("--runs", type=int, default=200, help="answers timed per command")
    args = parser.parse_args()
    load_commands()  # imported before timing, as the bot does at start-up
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "whisperer.toml"
        path.write_text(CONFIG, encoding="utf-8")
        config = load_config(path, env={})
        db = open_db(config.database)
        counts = {name: getattr(args, name) for name in FILLERS}
        for name, filler in FILLERS.items():
            started = time.perf_counter()
            filler(db, counts[name], NOW)
            print(f"stored {counts[name]} {name} rows in {time.perf_counter() - started:.1f} s")
        db.conn.close()
        runtime = open_runtime(config, NOW)
        try:
            answers: dict[str, Callable[[], object]] = {
                "deadlines": lambda: dispatch(make_context(runtime, NOW, user_id="U0OWNER"), "deadlines"),
                "deadlines 365": lambda: dispatch(make_context(runtime, NOW, user_id="U0OWNER"), "deadlines 365"),
                "home": lambda: home(make_context(runtime, NOW, user_id="U0OWNER")),
                "mdf": lambda: dispatch(make_context(runtime, NOW, user_id="U0OWNER"), "mdf"),
                "deals": lambda: dispatch(make_context(runtime, NOW, user_id="U0OWNER"), "deals"),
            }
            for label, answer in answers.items():
                started = time.perf_counter()
                answer()
                cold = time.perf_counter() - started
                times = []
                for _ in range(args.runs):
                    started = time.perf_counter()
                    answer()
                    times.append(time.perf_counter() - started)
                print(
                    f"{label:14} cold {cold * 1000:7.1f} ms · p50 {statistics.median(times) * 1000:6.1f} ms · "
                    f"p99 {percentile(times, 99) * 1000:6.1f} ms  ({args.runs} runs)"
                )
        finally:
            runtime.close()


if __name__ == "__main__":
    main()
