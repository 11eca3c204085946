"""Benchmark: the fetch path alone, our client against a plain urllib3.PoolManager, over N static pages.

    python bench/fetch.py [--pages 2000] [--runs 5] [--server nginx|python]

Pages are served as bench/poll.py serves them (nginx on 127.0.0.1 when installed, else bench/pageserver.py).
Each run times a cold pass (N plain GETs, every page a 2.3 KB 200) and a warm pass (N conditional GETs sending the
validators back, every page a 304), 2 requests at a time to the host (HostLimiter, per_host = 2), driven two ways:
by 2 plain threads taking the next URL (the fetch path alone), and as a poll pass drives it, ThreadPoolExecutor.map
with 2 workers (whose main thread wakes for every result); ours also as a poll fetches now, one thread keeping 2
requests out at once (fetch_lanes). Ours goes through fetch_url (network policy, deadline, size cap and all); the
peer is urllib3 doing the same requests with nothing around them. Runs are interleaved, medians shown. A
benchmark, not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import urllib3  # noqa: E402
from poll import Server  # noqa: E402

from watchers.fetching.http import (  # noqa: E402
    Fetched,
    FetchSettings,
    HostLimiter,
    Request,
    fetch_lanes,
    fetch_url,
    make_client,
    user_agent,
)
from watchers.fetching.network import NetworkPolicy  # noqa: E402

THREADS = 2
PER_HOST = 2
Validators = dict[str, tuple[str | None, str | None]]  # url → (ETag, Last-Modified)


def ours(urls: list[str], validators: Validators | None, drive: Driver) -> tuple[float, Validators]:
    settings = replace(FetchSettings(), per_host=PER_HOST, network=NetworkPolicy.from_entries(["127.0.0.1"]))
    client, limiter = make_client(settings), HostLimiter(settings.per_host)
    seen: Validators = {}

    def one(url: str) -> None:
        etag, modified = validators[url] if validators else (None, None)
        with limiter.slot(url):
            fetched = fetch_url(client, url, max_bytes=settings.max_bytes, etag=etag, last_modified=modified)
        assert fetched.not_modified == bool(validators), url
        seen[url] = (fetched.etag, fetched.last_modified)

    try:
        return drive(one, urls), seen
    finally:
        client.clear()


def lanes(urls: list[str], validators: Validators | None) -> tuple[float, Validators]:
    """Ours as a poll drives it now: one thread keeping per_host requests out at once (fetch_lanes)."""
    settings = replace(FetchSettings(), per_host=PER_HOST, network=NetworkPolicy.from_entries(["127.0.0.1"]))
    client, limiter = make_client(settings), HostLimiter(settings.per_host)
    requests = [Request(url, settings.max_bytes, *(validators[url] if validators else (None, None))) for url in urls]
    try:
        start = time.perf_counter()
        results = fetch_lanes(client, limiter, requests, PER_HOST)
        wall = time.perf_counter() - start
    finally:
        client.clear()
    seen: Validators = {}
    for url, fetched in zip(urls, results, strict=True):
        assert isinstance(fetched, Fetched) and fetched.not_modified == bool(validators), (url, fetched)
        seen[url] = (fetched.etag, fetched.last_modified)
    return wall, seen


def peer(urls: list[str], validators: Validators | None, drive: Driver) -> tuple[float, Validators]:
    pool = urllib3.PoolManager(maxsize=PER_HOST, block=True, retries=False)
    limiter = HostLimiter(PER_HOST)
    seen: Validators = {}

    def one(url: str) -> None:
        headers = {"User-Agent": user_agent(), "Accept-Encoding": "gzip, deflate"}
        if validators:
            etag, modified = validators[url]
            headers.update({"If-None-Match": etag or "", "If-Modified-Since": modified or ""})
        with limiter.slot(url):
            response = pool.request("GET", url, headers=headers, preload_content=False, redirect=False)
            body = response.read(decode_content=False)
            response.release_conn()
        assert (response.status == 304) == bool(validators) and (validators or body), url
        seen[url] = (response.headers.get("ETag"), response.headers.get("Last-Modified"))

    try:
        return drive(one, urls), seen
    finally:
        pool.clear()


def by_threads(one: Callable[[str], None], urls: list[str]) -> float:
    pending = iter(urls)
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                url = next(pending, None)
            if url is None:
                return
            one(url)

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start


def by_executor(one: Callable[[str], None], urls: list[str]) -> float:
    with ThreadPoolExecutor(THREADS) as pool:
        start = time.perf_counter()
        for _ in pool.map(one, urls):
            pass
        return time.perf_counter() - start


Driver = Callable[[Callable[[str], None], list[str]], float]
CLIENTS = {"urllib3": peer, "ours": ours}
DRIVERS: dict[str, Driver] = {"threads": by_threads, "executor": by_executor}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--server", choices=["nginx", "python"], help="default: nginx when installed")
    args = parser.parse_args()
    kind = args.server or ("nginx" if shutil.which("nginx") or Path("/usr/sbin/nginx").exists() else "python")
    print(
        f"bench/fetch.py: {os.cpu_count()} cores, {args.pages} pages served by {kind}, {THREADS} threads, "
        f"per_host = {PER_HOST}, {args.runs} interleaved runs"
    )
    times: dict[tuple[str, str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-fetch-") as tmp:
        os.chmod(tmp, 0o755)
        server = Server(kind, args.pages, Path(tmp))
        try:
            urls = [f"{server.base}/p/{i}.html" for i in range(args.pages)]
            for _ in range(args.runs):
                for driver, drive in DRIVERS.items():
                    for name, run in CLIENTS.items():
                        cold, validators = run(urls, None, drive)
                        warm, _ = run(urls, validators, drive)
                        times.setdefault((name, driver, "cold"), []).append(cold)
                        times.setdefault((name, driver, "warm"), []).append(warm)
                cold, validators = lanes(urls, None)
                warm, _ = lanes(urls, validators)
                times.setdefault(("ours", "lanes", "cold"), []).append(cold)
                times.setdefault(("ours", "lanes", "warm"), []).append(warm)
        finally:
            server.stop()
    medians = {key: statistics.median(values) for key, values in times.items()}
    order = list(CLIENTS)
    drivers = [*DRIVERS, "lanes"]
    for key, wall in sorted(medians.items(), key=lambda item: (drivers.index(item[0][1]), order.index(item[0][0]))):
        name, driver, kind_ = key
        spread = f"{min(times[key]) * 1000:.0f}–{max(times[key]) * 1000:.0f} ms"
        per_page = wall / args.pages * 1e6
        print(f"  {name:<8} {driver:<8} {kind_:<4} {wall * 1000:7.1f} ms  {per_page:6.1f} µs/page  ({spread})")
    for driver in DRIVERS:
        ratios = ", ".join(
            f"{kind_} {medians['urllib3', driver, kind_] / medians['ours', driver, kind_]:4.2f}×"
            for kind_ in ("cold", "warm")
        )
        print(f"  urllib3 / ours, {driver}: {ratios}")
    ratios = ", ".join(
        f"{kind_} {medians['urllib3', 'threads', kind_] / medians['ours', 'lanes', kind_]:4.2f}×"
        for kind_ in ("cold", "warm")
    )
    print(f"  urllib3 (threads) / ours (lanes, one thread, as a poll fetches): {ratios}")


if __name__ == "__main__":
    main()
