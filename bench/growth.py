"""Benchmark: database growth over a simulated year, with and without retention.

    python bench/growth.py [--sources 100] [--days 365] [--lines 150]

Every source changes once a day: a new snapshot (a page of --lines lines, one of them different each day),
the change with its diff, and its alert, sent. Written through the real storage functions into a real SQLite
file. With retention, the nightly job runs as the bot runs it ([retention] defaults: snapshot bodies after
90 days, sent alerts after 180, then an incremental vacuum). Prints the file size along the year, and the
year's size scaled to 2,000 sources (growth is linear in the number of sources: each adds its own rows).
A benchmark, not a test: the figures depend on page size and how much of a page changes.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config.upkeep import DEFAULT_ALERT_DAYS, DEFAULT_SNAPSHOT_DAYS  # noqa: E402
from storage.db import open_db, transaction  # noqa: E402
from storage.ops.retention import give_back, prune  # noqa: E402
from storage.outbox import alerts as outbox  # noqa: E402
from storage.watching import changes as store  # noqa: E402
from storage.watching import sources as state  # noqa: E402
from watchers.recording.diffing import diff_lines  # noqa: E402

START = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)
TARGET_SOURCES = 2000
CHECKPOINTS = (30, 90, 180, 270, 365)


def page(source: int, day: int, lines: int) -> list[str]:
    """A portal page: mostly the same lines every day, one clause that changes daily."""
    body = [f"Section {n}: partner programme rule {source}-{n}, as published on the portal page." for n in range(lines)]
    body[(day * 7) % lines] = f"Section {(day * 7) % lines}: revised on day {day}, rebate {day % 9 + 1}%."
    return body


def mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def simulate(path: Path, sources: int, days: int, lines: int, retention: bool) -> tuple[dict[int, int], list[float]]:
    db = open_db(path)
    sizes: dict[int, int] = {}
    nights: list[float] = []
    try:
        with transaction(db):
            state.sync_sources(
                db,
                (
                    {
                        "id": f"s{i}",
                        "kind": "html",
                        "url": f"https://portal.example/{i}",
                        "topic": "policy",
                        "every": 86400,
                    }
                    for i in range(sources)
                ),
                START,
                origin="config",
            )
        previous: dict[int, tuple[str, list[str]]] = {}
        for day in range(days):
            now = START + timedelta(days=day)
            with transaction(db):
                for i in range(sources):
                    text = page(i, day, lines)
                    joined = "\n".join(text)
                    digest = hashlib.sha256(joined.encode()).hexdigest()
                    store.save_snapshot(db, digest, joined, now)
                    if i in previous:
                        old_hash, old_text = previous[i]
                        diff = diff_lines(old_text, text, f"s{i} (before)", f"s{i} (now)")
                        change = store.add_change(
                            db,
                            f"s{i}",
                            now,
                            kind="page",
                            summary=diff.summary,
                            diff=diff.diff,
                            old_hash=old_hash,
                            new_hash=digest,
                            added=len(diff.added),
                            removed=len(diff.removed),
                        )
                        key = f"change:{change}"
                        outbox.enqueue_alert(db, key, "change", {"change_id": change}, now, source_id=f"s{i}")
                        db.execute("UPDATE alerts SET status = 'sent', sent_at = ?, ts = '1.1' WHERE key = ?",
                                   [now.isoformat(), key])  # fmt: skip
                    db.execute("UPDATE sources SET last_hash = ? WHERE id = ?", [digest, f"s{i}"])
                    previous[i] = (digest, text)
            if retention:  # the nightly job, at its hour
                began = time.perf_counter()
                prune(db, now, snapshots_days=DEFAULT_SNAPSHOT_DAYS, alerts_days=DEFAULT_ALERT_DAYS)
                give_back(db)
                nights.append(time.perf_counter() - began)
            if day + 1 in CHECKPOINTS or day + 1 == days:
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                sizes[day + 1] = os.path.getsize(path)
    finally:
        db.conn.close()
    return sizes, nights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=100)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--lines", type=int, default=150, help="lines per page (about 80 characters each)")
    args = parser.parse_args()
    scale = TARGET_SOURCES / args.sources
    print(
        f"{args.sources} sources × 1 change a day × {args.days} days, pages of {args.lines} lines "
        f"(~{len(chr(10).join(page(0, 0, args.lines))) / 1000:.0f} KB); scaled ×{scale:g} to {TARGET_SOURCES} sources"
    )
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for retention in (False, True):
            label = (
                f"with retention ({DEFAULT_SNAPSHOT_DAYS} d snapshots, {DEFAULT_ALERT_DAYS} d alerts)"
                if retention
                else "without retention"
            )
            started = time.perf_counter()
            path = Path(tmp) / f"growth-{retention}.db"
            sizes, nights = simulate(path, args.sources, args.days, args.lines, retention)
            results[retention] = sizes
            took = time.perf_counter() - started
            along = ", ".join(f"day {d}: {mb(s)}" for d, s in sizes.items())
            print(f"\n{label} (simulated in {took:.0f} s)\n  measured: {along}")
            last = sizes[max(sizes)]
            print(f"  scaled to {TARGET_SOURCES} sources after {max(sizes)} days: {mb(last * scale)}")
            if nights:
                print(
                    f"  nightly prune + incremental vacuum: {sum(nights) / len(nights) * 1000:.0f} ms on average, "
                    f"{max(nights) * 1000:.0f} ms at most ({args.sources} sources)"
                )
    off, on = results[False][max(results[False])], results[True][max(results[True])]
    print(f"\nRetention keeps the file at {on / off:.0%} of its size without it after {args.days} days.")


if __name__ == "__main__":
    main()
