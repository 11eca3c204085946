"""What does a scrape cost? /metrics and /readyz per request, over real HTTP. A benchmark, not a test.

A database with `--sources` watched sources (each a `source` label on the last-success gauge) and
`--pending` alerts in the outbox; the probes served by waitress on 127.0.0.1 exactly as `[ops] listen`
serves them; one client asking `--requests` times in a row. Prints p50/p99/mean per request, and the same
work without HTTP (what the handler itself costs).

    .venv/bin/python bench/ops.py [--sources 200] [--pending 5000] [--requests 300]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bot.ops.endpoints import Ops, make_ops_server
from bot.ops.health import Heartbeat
from bot.ops.metrics import Metrics
from bot.slack.app import server_address, stop_http_server
from storage.database import Database
from storage.db import file_identity, open_db, transaction
from storage.outbox import alerts as outbox
from storage.watching import sources as state


def fill(path: Path, sources: int, pending: int) -> None:
    db = open_db(path)
    now = datetime(2026, 11, 26, tzinfo=UTC)
    specs = [
        {
            "id": f"source-{i:03d}",
            "kind": "html",
            "url": f"https://portal.example/{i}",
            "topic": "policy",
            "every": 1800,
        }
        for i in range(sources)
    ]
    with transaction(db):
        state.sync_sources(db, specs, now, origin="config")
        state.mark_checked(db, [s["id"] for s in specs], now, "unchanged")
        for n in range(pending):
            outbox.enqueue_alert(db, f"bench:{n}", "notice", {"text": f"alert {n}"}, now)
    db.conn.close()


def per_thread(path: Path) -> Callable[[], Database]:
    local = threading.local()

    def db() -> Database:
        found: Database | None = getattr(local, "db", None)
        if found is None:
            found = local.db = open_db(path, upgrade=False, create=False)
        return found

    return db


def timed(work: Callable[[], object], n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return times


def report(label: str, times: list[float]) -> None:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(
        f"  {label:<34} p50 {statistics.median(ordered):6.2f} ms   p99 {p99:6.2f} ms   "
        f"mean {statistics.fmean(ordered):6.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=200)
    parser.add_argument("--pending", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "whisperer.db"
        fill(path, args.sources, args.pending)
        heartbeat = Heartbeat()
        heartbeat.beat()
        ops = Ops(path, file_identity(path), Metrics(path, per_thread(path)), heartbeat, lambda: True)
        server = make_ops_server(ops, "127.0.0.1", 0)
        host, port = server_address(server)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        base = f"http://{host}:{port}"
        size = len(httpx.get(f"{base}/metrics").content)
        print(
            f"ops probes: {args.sources} sources, {args.pending} pending alerts, {args.requests} requests each "
            f"(/metrics is {size / 1024:.1f} KiB)"
        )
        with httpx.Client() as client:
            for path_name in ("/metrics", "/readyz", "/livez"):
                client.get(f"{base}{path_name}")  # warm: the worker thread opens its connection
                report(f"GET {path_name} over HTTP", timed(lambda p=path_name: client.get(f"{base}{p}"), args.requests))
        report("metrics text, in process", timed(ops.metrics.text, args.requests))
        report("readiness checks, in process", timed(ops.ready, args.requests))
        stop_http_server(server)
        thread.join(10)


if __name__ == "__main__":
    main()
