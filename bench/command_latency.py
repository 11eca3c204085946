"""How fast does `/whisperer changes` answer with 100k stored changes? A benchmark, not a test.

The real HTTP path: signed slash-command requests to POST /slack/events (waitress + Bolt), the answer posted
to a response_url. Prints p50/p99 for the ack (the HTTP answer Slack waits for, limit 3 s; our goal is a p99
under 50 ms with 20 concurrent senders) and for the full answer (until the reply reaches response_url), with 1,
20 and 50 concurrent senders (each waits for its answer before sending again, as a person does); then the ack
with 20 concurrent senders while every response_url hangs (answers stuck, so the answer pool fills and later
commands are acknowledged with "busy, try again").

The bot runs in a process of its own, as it does in production. Slack is this process: by default one asyncio
loop on raw sockets (`--client asyncio`) sends the commands and takes the answers at their response_urls, and an
ack's time runs from writing the request to the first byte of the response, noted as the bytes arrive (before
any other sender's work). `--client threads` measures as before this client existed: one httpx client per sender
thread, beside the fake Slack's server threads, timing `post()` from call to return; with 20 threads that
client's own interpreter-lock waits add tens of milliseconds (p99 42 ms against a server that answers at once).
`--in-process` runs the bot in this process too (how the figures before issue 14 were taken).

    .venv/bin/python bench/command_latency.py [--changes 100000] [--requests 500] [--senders 1,20,50]
"""

from __future__ import annotations

import argparse
import asyncio
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
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's bot, not the installed one
sys.path.insert(0, str(ROOT / "tests"))  # the fake Slack lives with the tests

from fakeslack import SECRET, FakeSlack, sign, slash_body  # noqa: E402

from bot.config.loading import load_config  # noqa: E402
from bot.process.connections import Connections  # noqa: E402
from bot.process.runtime import open_runtime  # noqa: E402
from bot.slack.ackfirst import freeze_startup_heap  # noqa: E402
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


class Answers:
    """Slack's response_url end in the asyncio client: notes when each answer arrives (and keeps it), or, while
    `hang` is set, reads it and never answers until `release` closes the connection."""

    def __init__(self) -> None:
        self.base = ""  # http://host:port/response/, once serving
        self.arrived: dict[str, bytes] = {}
        self.waiting: dict[str, asyncio.Future[float]] = {}
        self.hang = False
        self.hung: list[asyncio.StreamWriter] = []

    async def start(self) -> asyncio.Server:
        server = await asyncio.start_server(self.serve, "127.0.0.1", 0, backlog=128)
        host, port = server.sockets[0].getsockname()[:2]
        self.base = f"http://{host}:{port}/response/"
        return server

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                body = await reader.readexactly(_content_length(head))
                at = time.perf_counter()
                if self.hang:
                    self.hung.append(writer)
                    return
                name = head.split(b" ", 2)[1].decode().rsplit("/", 1)[-1]
                self.arrived[name] = body
                waiter = self.waiting.pop(name, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(at)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    def release(self) -> None:
        for writer in self.hung:
            writer.close()
        self.hung.clear()
        self.hang = False


class Sender(asyncio.Protocol):
    """One keep-alive connection to the bot. The time of an ack is taken in `data_received`, when the first bytes
    of the response reach this process, before the loop resumes any sender (so 20 acks arriving together are each
    timed within microseconds, not after the others' bookkeeping)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.sent = 0.0
        self.first: float | None = None
        self.waiter: asyncio.Future[tuple[float, bytes]] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def send(self, request: bytes) -> asyncio.Future[tuple[float, bytes]]:
        """Write one request; the future gives (ms to the first byte of the response, the response body)."""
        assert self.transport is not None
        self.buffer.clear()
        self.first = None
        self.waiter = asyncio.get_running_loop().create_future()
        self.sent = time.perf_counter()
        self.transport.write(request)
        return self.waiter

    def data_received(self, data: bytes) -> None:
        if self.first is None:
            self.first = time.perf_counter()
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head, length = bytes(self.buffer[: end + 4]), _content_length(bytes(self.buffer[: end + 4]))
        if len(self.buffer) < end + 4 + length or self.waiter is None:
            return
        assert head.startswith(b"HTTP/1.1 200 "), head
        self.waiter.set_result(((self.first - self.sent) * 1000, bytes(self.buffer[end + 4 : end + 4 + length])))
        self.waiter = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"the bot closed the connection: {exc}"))


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


async def send_round_async(
    url: str, answers: Answers, text: str, senders: int, total: int, tag: str, wait_for_answer: bool, warmup: int = 0
) -> Round:
    """`send_round` from one asyncio loop: `senders` connections, each sending its next command once the last
    one is acknowledged (and, with `wait_for_answer`, answered)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    loop = asyncio.get_running_loop()
    numbers = iter(range(total + warmup))
    figures = Round()

    async def sender() -> None:
        transport, connection = await loop.create_connection(Sender, host, port)
        try:
            for n in numbers:
                trigger = f"{tag}-{n}"
                body = slash_body(text, "U0BENCH", answers.base + trigger, trigger).encode()
                headers = {**sign(body.decode()), "Content-Type": "application/x-www-form-urlencoded"}
                request = (
                    f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Length: {len(body)}\r\n"
                    + "".join(f"{name}: {value}\r\n" for name, value in headers.items())
                    + "\r\n"
                ).encode() + body
                answered = loop.create_future()
                if wait_for_answer:
                    answers.waiting[trigger] = answered
                acked, reply = await connection.send(request)
                busy = BUSY.encode() in reply
                answer_ms = None
                if wait_for_answer and not busy:
                    answer_ms = (await asyncio.wait_for(answered, 60) - connection.sent) * 1000
                answers.waiting.pop(trigger, None)
                if n < warmup:
                    continue
                figures.acks.append(acked)
                if answer_ms is not None:
                    figures.answers.append(answer_ms)
                figures.busy += busy
        finally:
            transport.close()

    await asyncio.gather(*(sender() for _ in range(senders)))
    return figures


async def run_async(url: str, args: argparse.Namespace, rounds: list[int]) -> tuple[dict[int, Round], Round]:
    """Every round from the asyncio client; checks that one answer is a real one, not an error."""
    answers = Answers()
    server = await answers.start()
    try:
        results: dict[int, Round] = {}
        for senders in rounds:  # the first 50 of each round warm up caches, threads and connections
            results[senders] = await send_round_async(
                url, answers, args.text, senders, args.requests, f"r{senders}", True, 50
            )
        sample = answers.arrived[f"r{rounds[0]}-{args.requests + 49}"].decode()
        assert '"blocks"' in sample and "\\u26a0" not in sample and "⚠" not in sample, sample
        answers.hang = True
        hung = await send_round_async(url, answers, args.text, args.hung_senders, args.requests, "hung", False)
        answers.release()
        return results, hung
    finally:
        server.close()


def run_threads(
    url: str, fake: FakeSlack, args: argparse.Namespace, rounds: list[int]
) -> tuple[dict[int, Round], Round]:
    """Every round from sender threads (the measurement before the asyncio client), answers at the fake Slack."""
    results: dict[int, Round] = {}
    for senders in rounds:  # the first 50 of each round warm up caches, threads and connections
        results[senders] = send_round(url, fake, args.text, senders, args.requests, f"r{senders}", True, 50)
    sample = fake.responses(f"r{rounds[0]}-{args.requests + 49}")[0]
    assert sample["blocks"] and "⚠" not in str(sample["blocks"]), sample  # a real answer, not an error
    fake.hang_responses()
    hung = send_round(url, fake, args.text, args.hung_senders, args.requests, "hung", False)
    return results, hung


def show(label: str, values: list[float]) -> None:
    print(
        f"  {label:<38} p50 {statistics.median(values):6.1f} ms   p90 {percentile(values, 90):6.1f} ms   "
        f"p99 {percentile(values, 99):6.1f} ms   max {max(values):6.1f} ms"
    )


def serve(workdir: Path, token: str, api_url: str, pipe: Connection, in_process: bool = False) -> None:
    """The bot: the database, the Bolt app and waitress on 127.0.0.1, port 0. Sends its URL, serves until told."""
    logging.disable(logging.WARNING)  # "busy" and abandoned answers in the hung round: true, and not the figures
    runtime = open_runtime(load_config(workdir / "whisperer.toml", env={}), datetime.now(UTC))
    connections = Connections(runtime)
    answers = AnswerPool()
    app = build_app(connections, make_web_client(token, api_url), SECRET, pool=answers)
    server = make_http_server(app, SECRET, "127.0.0.1", 0)
    if not in_process:
        freeze_startup_heap()  # as `whisperer run` does before it serves
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
            target=serve, args=(workdir, fake.token, fake.api_url, there, True), daemon=True
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
        "--client",
        choices=("asyncio", "threads"),
        default="asyncio",
        help="asyncio: one loop on raw sockets, acks timed to the first byte; threads: httpx in a thread per sender "
        "(the measurement before the asyncio client)",
    )
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

        fake = FakeSlack().start()  # the Web API (auth.test as the bot starts) and, for --client threads, response_url
        try:
            with bot_at(workdir, fake, args.in_process) as url:
                if args.client == "asyncio":
                    results, hung = asyncio.run(run_async(url, args, rounds))
                else:
                    results, hung = run_threads(url, fake, args, rounds)
        finally:
            fake.stop()

    where = "in this process, beside the senders" if args.in_process else "in its own process"
    client = "one asyncio loop, to the first byte" if args.client == "asyncio" else "httpx in threads, post() call"
    print(f"/whisperer {args.text}: {args.requests} signed requests per round, {args.changes:,} changes stored")
    print(f"the bot ran {where}; the senders: {client}")
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
