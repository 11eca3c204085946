"""Benchmark: poll N JavaScript-rendered pages (kind = "browser") from a loopback server, cold then warm.

    python bench/browser.py [--pages 20] [--at-once 2]

Cold: the first poll, starting the browser. Warm: the next polls, the same browser reused.
Prints seconds per page and the peak RSS of the whole process tree (Python plus every Chromium process).
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

from bot.config import load_config  # noqa: E402
from bot.runtime import open_runtime, poll  # noqa: E402
from watchers.browser import BrowserSettings, browser_missing  # noqa: E402

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


def tree_rss_kb(root: int) -> int:
    """RSS of a process and all its descendants, from /proc (Linux)."""
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
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        try:
            with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
                total += next((int(line.split()[1]) for line in handle if line.startswith("VmRSS:")), 0)
        except OSError:
            pass
        stack.extend(children.get(pid, []))
    return total


class PeakRss:
    """Samples the process tree's RSS every 50 ms in a thread; `peak` is the largest sum seen."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss_kb(os.getpid()))
            self._stop.wait(0.05)

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
                start = time.perf_counter()
                outcomes = poll(runtime, now)
                cold = time.perf_counter() - start
                failed = [o for o in outcomes if o.status == "error"]
                if failed:
                    print(f"{len(failed)} pages failed, e.g. {failed[0].source_id}: {failed[0].error}")
                    return 1
                warm_times = []
                for n in range(args.warm_passes):
                    start = time.perf_counter()
                    poll(runtime, now + timedelta(hours=n + 1))
                    warm_times.append(time.perf_counter() - start)
            assert runtime.browser is not None
            launches = runtime.browser.launches
        finally:
            runtime.close()
    warm = min(warm_times)
    print(f"{args.pages} JavaScript-rendered pages, {args.at_once} at once, one browser for the process")
    print(f"  cold (browser start included): {cold:6.2f} s  = {cold / args.pages:.3f} s per page  (target ≤ 1.5)")
    print(f"  warm (same browser, best of {args.warm_passes}): {warm:6.2f} s  = {warm / args.pages:.3f} s per page")
    print(f"  browser started {launches} time(s) for {1 + args.warm_passes} polls")
    print(f"  peak RSS, whole process tree (Python + Chromium): {rss.peak / 1024:.0f} MB")
    print(f"  server requests: {server.requests}, of which images: {server.images}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
