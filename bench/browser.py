"""Benchmark: poll N JavaScript-rendered pages (kind = "browser") from a loopback server, cold then warm.

    python bench/browser.py [--pages 20] [--at-once 2]

Cold: the first poll, starting the browser. Warm: the next polls, the same browser reused.
Prints seconds per page and the peak RSS (and PSS) of the whole process tree (Python plus every Chromium process).
A benchmark, not a test: figures depend on the machine. Target: cold ≤ 1.5 s per page with 2 pages at once.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config.loading import load_config  # noqa: E402
from bot.process.runtime import open_runtime, poll  # noqa: E402
from watchers.fetching.browser import browser_missing  # noqa: E402
from watchers.fetching.settings import BrowserSettings  # noqa: E402

PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Dashboard {i}</title>
<link rel="stylesheet" href="/style.css"></head><body><main><h1>Partner dashboard {i}</h1>
<div id="app">Loading…</div><img src="/logo.png"></main>
<script>
fetch('/api/{i}.json').then(r => r.json()).then(d => {{
  document.getElementById('app').innerHTML = '<p id="emi">EMI Score: ' + d.emi + '</p>'
    + d.rows.map(r => '<p>' + r + '</p>').join('');
}});
</script></body></html>"""


class Server:
    """Pages whose text exists only after their script has fetched their data."""

    def __init__(self) -> None:
        self.requests = 0
        self.images = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server.requests += 1
                path = self.path
                if path.startswith("/p/"):
                    body, kind = PAGE.format(i=path[3:].split(".")[0]).encode(), "text/html; charset=utf-8"
                elif path.startswith("/api/"):
                    i = path[5:].split(".")[0]
                    data = {"emi": 70 + int(i) / 10, "rows": [f"KPI {r} for partner {i}" for r in range(30)]}
                    body, kind = json.dumps(data).encode(), "application/json"
                elif path == "/style.css":
                    body, kind = b"main { font-family: sans-serif }", "text/css"
                else:
                    server.images += 1
                    body, kind = b"\x89PNG", "image/png"
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"


def tree_memory_kb(root: int) -> tuple[int, int]:
    """RSS and PSS summed over a process and all its descendants, from /proc (Linux).

    RSS counts the pages Chromium's processes share once per process; PSS splits them, so it is the fairer total.
    """
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    rss = pss = 0
    stack = [root]
    while stack:
        pid = stack.pop()
        try:
            with open(f"/proc/{pid}/smaps_rollup", encoding="ascii", errors="replace") as handle:
                for line in handle:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            pass
        stack.extend(children.get(pid, []))
    return rss, pss


def tree_cpu_seconds(root: int) -> float:
    """CPU time used by a process tree so far, reaped children included (utime+stime+cutime+cstime)."""
    ticks = os.sysconf("SC_CLK_TCK")
    pids = {root}
    parents: dict[int, int] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry)], stats[int(entry)] = int(fields[1]), fields
    changed = True
    while changed:
        changed = False
        for pid, ppid in parents.items():
            if ppid in pids and pid not in pids:
                pids.add(pid)
                changed = True
    return sum(sum(int(v) for v in stats[pid][11:15]) for pid in pids if pid in stats) / ticks


class PeakRss:
    """Samples the process tree's memory every 100 ms in a thread; the peaks are the largest sums seen."""

    def __init__(self) -> None:
        self.peak = self.peak_pss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            rss, pss = tree_memory_kb(os.getpid())
            self.peak, self.peak_pss = max(self.peak, rss), max(self.peak_pss, pss)
            self._stop.wait(float(os.environ.get("BENCH_SAMPLE", "0.25")))

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--at-once", type=int, default=2, help="[browser] pages")
    parser.add_argument("--warm-passes", type=int, default=2)
    args = parser.parse_args()
    missing = browser_missing(BrowserSettings(), os.environ)
    if missing:
        print(f"bench/browser.py needs a browser: {missing}")
        return 1
    server = Server()
    with tempfile.TemporaryDirectory(prefix="whisperer-bench-browser-") as tmp:
        workdir = Path(tmp)
        lines = [
            '[bot]\ndatabase = "bench.db"\n',
            '[fetch]\nallow_private = ["127.0.0.1"]\n',  # the benchmark's own server, explicitly
            f"[browser]\npages = {args.at_once}\n",
        ]
        for i in range(args.pages):
            lines.append(
                f'[[sources]]\nid = "d{i}"\nkind = "browser"\nurl = "{server.url}/p/{i}.html"\n'
                'wait_for = "#emi"\nselector = "main"\n'
            )
        (workdir / "whisperer.toml").write_text("\n".join(lines), encoding="utf-8")
        config = load_config(workdir / "whisperer.toml", env={})
        now = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
        runtime = open_runtime(config, now)
        try:
            with PeakRss() as rss:
                start, cpu_start = time.perf_counter(), tree_cpu_seconds(os.getpid())
                outcomes = poll(runtime, now)
                cold, cold_cpu = time.perf_counter() - start, tree_cpu_seconds(os.getpid()) - cpu_start
                failed = [o for o in outcomes if o.status == "error"]
                if failed:
                    print(f"{len(failed)} pages failed, e.g. {failed[0].source_id}: {failed[0].error}")
                    return 1
                warm_times, warm_cpu = [], []
                for n in range(args.warm_passes):
                    start, cpu_start = time.perf_counter(), tree_cpu_seconds(os.getpid())
                    poll(runtime, now + timedelta(hours=n + 1))
                    warm_times.append(time.perf_counter() - start)
                    warm_cpu.append(tree_cpu_seconds(os.getpid()) - cpu_start)
            assert runtime.browser is not None
            launches = runtime.browser.launches
        finally:
            runtime.close()
    warm = min(warm_times)
    print(f"{args.pages} JavaScript-rendered pages, {args.at_once} at once, one browser for the process")
    pages = args.pages
    print(f"  cold (browser start included): {cold:6.2f} s  = {cold / pages:.3f} s per page  (target ≤ 1.5)")
    print(f"  warm (same browser, best of {args.warm_passes}): {warm:6.2f} s  = {warm / pages:.3f} s per page")
    print(
        f"  CPU time of the process tree: cold {cold_cpu / pages:.3f} s per page, warm {min(warm_cpu) / pages:.3f} s "
        f"per page (load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs: wall times stretch under load, CPU less)"
    )
    print(f"  browser started {launches} time(s) for {1 + args.warm_passes} polls")
    print(
        f"  peak memory, whole process tree (Python + Chromium): RSS {rss.peak / 1024:.0f} MB summed, "
        f"PSS {rss.peak_pss / 1024:.0f} MB (shared pages counted once)"
    )
    print(f"  server requests: {server.requests}, of which images: {server.images}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
