"""How fast does `/whisperer changes` answer with 100k stored changes? A benchmark, not a test.

The real HTTP path: signed slash-command requests to POST /slack/events (waitress + Bolt), the answer posted
to a response_url on the local fake Slack. Prints p50/p99 for the ack (the HTTP answer Slack waits for, limit
3 s; our goal is a p99 under 50 ms with 20 concurrent senders) and for the full answer (until the reply reaches
response_url), with 1, 20 and 50 concurrent senders (each waits for its answer before sending again, as a person
does); then the ack with 20 concurrent senders while every response_url hangs (answers stuck, so the answer pool
fills and later commands are acknowledged with "busy, try again").

The bot runs in a process of its own, as it does in production: the senders and the fake Slack are this process,
so their work does not compete with the bot's for the interpreter lock. `--in-process` runs the bot beside them
instead (how the figures before issue 14 were taken; its latencies include the senders' own work).

    .venv/bin/python bench/command_latency.py [--changes 100000] [--requests 500] [--senders 1,20,50]
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection, Pipe
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


class Round:
    """One round's figures: each ack's latency, each answer's (when waited for), and how many said busy."""

    def __init__(self) -> None:
        self.acks: list[float] = []
        self.answers: list[float] = []
        self.busy = 0


def send_round(
    url: str, fake: FakeSlack, text: str, senders: int, total: int, tag: str, wait_for_answer: bool, warmup: int = 0
) -> Round:
    """`total` commands from `senders` threads at once (the first `warmup` not counted).

    With `wait_for_answer` each sender waits for its answer before sending again, as a person does.
    """
    local = threading.local()

    def one(n: int) -> tuple[float, float | None, bool]:
        if not hasattr(local, "http"):
            local.http = httpx.Client(timeout=10)
        trigger = f"{tag}-{n}"
        body = slash_body(text, "U0BENCH", fake.response_url(trigger), trigger)
        headers = {**sign(body), "Content-Type": "application/x-www-form-urlencoded"}
        t0 = time.perf_counter()
        response = local.http.post(url, content=body, headers=headers)
        acked = (time.perf_counter() - t0) * 1000
        assert response.status_code == 200, response.text
        busy = BUSY in response.text
        answered = None
        if wait_for_answer and not busy:
            fake.wait_for(lambda: fake.responses(trigger), timeout=60)
            answered = (time.perf_counter() - t0) * 1000
        return acked, answered, busy

    figures = Round()
    with ThreadPoolExecutor(max_workers=senders) as pool:
        for n, (acked, answered, busy) in enumerate(pool.map(one, range(total + warmup))):
            if n < warmup:
                continue
            figures.acks.append(acked)
            if answered is not None:
                figures.answers.append(answered)
            figures.busy += busy
    return figures


def show(label: str, values: list[float]) -> None:
    print(
        f"  {label:<38} p50 {statistics.median(values):6.1f} ms   p90 {percentile(values, 90):6.1f} ms   "
        f"p99 {percentile(values, 99):6.1f} ms   max {max(values):6.1f} ms"
    )


def serve(workdir: Path, token: str, api_url: str, pipe: Connection) -> None:
    """The bot: the database, the Bolt app and waitress on 127.0.0.1, port 0. Sends its URL, serves until told."""
    logging.disable(logging.WARNING)  # "busy" and abandoned answers in the hung round: true, and not the figures
    runtime = open_runtime(load_config(workdir / "whisperer.toml", env={}), datetime.now(UTC))
    connections = Connections(runtime)
    answers = AnswerPool()
    app = build_app(connections, make_web_client(token, api_url), SECRET, pool=answers)
    server = make_http_server(app, SECRET, "127.0.0.1", 0)
    host, port = server_address(server)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    pipe.send(f"http://{host}:{port}/slack/events")
    pipe.recv()  # stop
    stop_http_server(server)
    thread.join(10)
    answers.shutdown()
    connections.close()
    runtime.close()


@contextmanager
def bot_at(workdir: Path, fake: FakeSlack, in_process: bool) -> Iterator[str]:
    """The bot's URL: in a process of its own, as in production, where Slack's requests do not compete with
    the bot for its interpreter lock; or, with `in_process`, in this one, beside the senders and the fake."""
    here, there = Pipe()
    if in_process:
        worker: threading.Thread | multiprocessing.process.BaseProcess = threading.Thread(
            target=serve, args=(workdir, fake.token, fake.api_url, there), daemon=True
        )
    else:
        worker = multiprocessing.get_context("spawn").Process(
            target=serve, args=(workdir, fake.token, fake.api_url, there), daemon=True
        )
    worker.start()
    try:
        yield str(here.recv())
    finally:
        fake.release()  # hung answers return, so the bot can shut its answer pool down
        here.send("stop")
        worker.join(30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=500, help="signed requests per round")
    parser.add_argument("--senders", default="1,20,50", help="concurrent senders in each round, comma-separated")
    parser.add_argument("--hung-senders", type=int, default=20, help="concurrent senders while response_url hangs")
    parser.add_argument("--text", default="changes", help="the /whisperer line to send (default: changes)")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run the bot in this process, beside the senders (as the figures before issue 14 were)",
    )
    args = parser.parse_args()
    rounds = [int(n) for n in args.senders.split(",")]
    logging.disable(logging.WARNING)
    # This process is Slack: the senders, and the fake that takes the answers. A sender whose ack has arrived
    # should not wait 5 ms (Python's default) for the interpreter lock to note the time while the fake parses.
    sys.setswitchinterval(0.001)

    with tempfile.TemporaryDirectory(prefix="whisperer-bench-") as tmp:
        workdir = Path(tmp)
        (workdir / "whisperer.toml").write_text('[bot]\ndatabase = "bench.db"\nalerts_channel = "C0ALERTS"\n')
        started = time.perf_counter()
        fill(workdir / "bench.db", args.changes)
        print(f"stored {args.changes:,} changes in {time.perf_counter() - started:.1f} s")

        fake = FakeSlack().start()
        results: dict[int, Round] = {}
        try:
            with bot_at(workdir, fake, args.in_process) as url:
                for senders in rounds:  # the first 50 of each round warm up caches, threads and connections
                    results[senders] = send_round(url, fake, args.text, senders, args.requests, f"r{senders}", True, 50)
                sample = fake.responses(f"r{rounds[0]}-{args.requests + 49}")[0]
                assert sample["blocks"] and "⚠" not in str(sample["blocks"]), sample  # a real answer, not an error

                fake.hang_responses()
                hung = send_round(url, fake, args.text, args.hung_senders, args.requests, "hung", False)
        finally:
            fake.stop()

    where = "in this process, beside the senders" if args.in_process else "in its own process"
    print(f"/whisperer {args.text}: {args.requests} signed requests per round, {args.changes:,} changes stored")
    print(f"the bot ran {where}")
    for senders, figures in results.items():
        show(f"ack (HTTP 200), {senders} concurrent", figures.acks)
        show(f"answer (response_url), {senders} concurrent", figures.answers)
        if figures.busy:  # more people at once than the answer pool and its backlog hold
            print(f"  with {senders} concurrent: {figures.busy} of {args.requests} told 'busy'")
    show(f"ack, {args.hung_senders} senders, response_url hung", hung.acks)
    print(f"  with response_url hung: {args.requests - hung.busy} acknowledged and queued, {hung.busy} told 'busy'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
