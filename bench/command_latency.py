"""How fast does `/whisperer changes` answer with 100k stored changes? A benchmark, not a test.

The real HTTP path: signed slash-command requests to POST /slack/events (waitress + Bolt), the answer posted
to a response_url on the local fake Slack. Prints p50/p99 for the ack (the HTTP answer Slack waits for, limit
3 s) and for the full answer (until the reply reaches response_url), one sender at a time; then the ack with
20 concurrent senders, and with 20 concurrent senders while every response_url hangs (answers stuck, so the
answer pool fills and later commands are acknowledged with "busy, try again").

    .venv/bin/python bench/command_latency.py [--changes 100000] [--requests 500] [--senders 20]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the fake Slack lives with the tests

from fakeslack import SECRET, FakeSlack, sign, slash_body  # noqa: E402

from bot.config.loading import load_config  # noqa: E402
from bot.process.connections import Connections  # noqa: E402
from bot.process.runtime import open_runtime  # noqa: E402
from bot.slack.answers import AnswerPool  # noqa: E402
from bot.slack.app import (  # noqa: E402
    BUSY,
    build_app,
    make_http_server,
    make_web_client,
    server_address,
    stop_http_server,
)
from storage.db import open_db, transaction  # noqa: E402
from storage.watching import sources as state  # noqa: E402

TOPICS = ("tiers", "policy", "certification", "rebate", "announcement", "deadlines")


def fill(path: Path, changes: int, sources: int = 20) -> None:
    db = open_db(path)
    now = datetime(2026, 11, 26, tzinfo=UTC)
    specs = [
        {
            "id": f"source-{i:02d}",
            "kind": "html",
            "url": f"https://portal.example/{i}",
            "topic": TOPICS[i % 6],
            "every": 1800,
        }
        for i in range(sources)
    ]
    with transaction(db):
        state.sync_sources(db, specs, now, origin="bench")
        rows = (
            (
                f"source-{n % sources:02d}",
                (now - timedelta(minutes=changes - n)).isoformat(timespec="seconds"),
                "page",
                f"{n % 7 + 1} lines added, {n % 3} removed: 'Cross-Cloud Policy v3.{n % 10}.{n % 4}'",
                f"--- before\n+++ now\n@@ -1 +1 @@\n-v3.{n % 10}\n+v3.{n % 10 + 1}",
            )
            for n in range(changes)
        )
        db.conn.executemany(
            "INSERT INTO changes (source_id, detected_at, kind, summary, diff) VALUES (?, ?, ?, ?, ?)", rows
        )
    db.conn.close()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def concurrent_acks(
    url: str, fake: FakeSlack, text: str, senders: int, total: int, tag: str, wait_for_answer: bool
) -> tuple[list[float], int]:
    """`total` commands from `senders` threads at once; each ack's latency (ms) and how many said busy.

    With `wait_for_answer` each sender waits for its answer before sending again, as a person does.
    """
    local = threading.local()

    def one(n: int) -> tuple[float, bool]:
        if not hasattr(local, "http"):
            local.http = httpx.Client(timeout=10)
        trigger = f"{tag}-{n}"
        body = slash_body(text, "U0BENCH", fake.response_url(trigger), trigger)
        headers = {**sign(body), "Content-Type": "application/x-www-form-urlencoded"}
        t0 = time.perf_counter()
        response = local.http.post(url, content=body, headers=headers)
        elapsed = (time.perf_counter() - t0) * 1000
        assert response.status_code == 200, response.text
        busy = BUSY in response.text
        if wait_for_answer and not busy:
            fake.wait_for(lambda: fake.responses(trigger), timeout=60)
        return elapsed, busy

    with ThreadPoolExecutor(max_workers=senders) as pool:
        results = list(pool.map(one, range(total)))
    return [r[0] for r in results], sum(r[1] for r in results)


def show(label: str, values: list[float]) -> None:
    print(
        f"  {label:<38} p50 {statistics.median(values):6.1f} ms   p90 {percentile(values, 90):6.1f} ms   "
        f"p99 {percentile(values, 99):6.1f} ms   max {max(values):6.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--senders", type=int, default=20, help="concurrent senders in the later rounds")
    parser.add_argument("--text", default="changes", help="the /whisperer line to send (default: changes)")
    args = parser.parse_args()
    # The hung round makes the bot log each "busy" and each abandoned answer: true, and not the figures.
    logging.disable(logging.WARNING)

    with tempfile.TemporaryDirectory(prefix="whisperer-bench-") as tmp:
        workdir = Path(tmp)
        (workdir / "whisperer.toml").write_text('[bot]\ndatabase = "bench.db"\nalerts_channel = "C0ALERTS"\n')
        started = time.perf_counter()
        fill(workdir / "bench.db", args.changes)
        print(f"stored {args.changes:,} changes in {time.perf_counter() - started:.1f} s")

        fake = FakeSlack().start()
        runtime = open_runtime(load_config(workdir / "whisperer.toml", env={}), datetime.now(UTC))
        connections = Connections(runtime)
        answers = AnswerPool()
        app = build_app(connections, make_web_client(fake.token, fake.api_url), SECRET, pool=answers)
        server = make_http_server(app, SECRET, "127.0.0.1", 0)
        host, port = server_address(server)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        url = f"http://{host}:{port}/slack/events"
        acks: list[float] = []
        answered: list[float] = []
        try:
            with httpx.Client(timeout=10) as http:
                for n in range(args.requests + 50):  # the first 50 warm up caches and connections
                    trigger = f"bench-{n}"
                    body = slash_body(args.text, "U0BENCH", fake.response_url(trigger), trigger)
                    headers = {**sign(body), "Content-Type": "application/x-www-form-urlencoded"}
                    t0 = time.perf_counter()
                    response = http.post(url, content=body, headers=headers)
                    t1 = time.perf_counter()
                    fake.wait_for(lambda trigger=trigger: fake.responses(trigger))
                    t2 = time.perf_counter()
                    assert response.status_code == 200, response.text
                    if n >= 50:
                        acks.append((t1 - t0) * 1000)
                        answered.append((t2 - t0) * 1000)
            sample = fake.responses(f"bench-{args.requests + 49}")[0]
            assert sample["blocks"] and "⚠" not in str(sample["blocks"]), sample  # a real answer, not an error

            together, busy = concurrent_acks(url, fake, args.text, args.senders, args.requests, "together", True)
            assert busy == 0, f"{busy} commands were told 'busy' with Slack answering normally"

            fake.hang_responses()
            hung, hung_busy = concurrent_acks(url, fake, args.text, args.senders, args.requests, "hung", False)
        finally:
            fake.release()
            stop_http_server(server)
            thread.join(10)
            answers.shutdown()
            connections.close()
            runtime.close()
            fake.stop()

    print(f"/whisperer {args.text}: {args.requests} signed requests per round, {args.changes:,} changes stored")
    show("ack (HTTP 200), one at a time", acks)
    show("answer (response_url), one at a time", answered)
    show(f"ack, {args.senders} concurrent senders", together)
    show(f"ack, {args.senders} senders, response_url hung", hung)
    print(f"  with response_url hung: {args.requests - hung_busy} acknowledged and queued, {hung_busy} told 'busy'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
