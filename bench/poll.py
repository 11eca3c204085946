"""Benchmark: poll N loopback pages cold, warm (nothing changed) and with 1% changed.

    python bench/poll.py [--pages 2000] [--peer urlwatch] [--no-validators]

Prints pages/s, peak RSS, and rows and bytes added to the database per pass. With --peer urlwatch it
installs urlwatch into .venv-peer (once) and runs the same three passes with it, printing the ratios.
A benchmark, not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config.loading import load_config  # noqa: E402
from bot.process.runtime import open_runtime, poll  # noqa: E402
from storage.watching.changes import table_counts  # noqa: E402
from watchers.fetching.network import NetworkPolicy, classify  # noqa: E402


def start_server(pages: int, validators: bool = True) -> tuple[subprocess.Popen[str], str]:
    flags = [] if validators else ["--no-validators"]
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "pageserver.py"), str(pages), *flags],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    port = proc.stdout.readline().strip()
    return proc, f"http://127.0.0.1:{port}"


def write_config(workdir: Path, base: str, pages: int) -> Path:
    # [fetch] defaults (8 workers, 2 per host), plus the loopback address the page server listens on.
    lines = ['[bot]\ndatabase = "bench.db"\n\n[fetch]\nallow_private = ["127.0.0.1"]\n']
    for i in range(pages):
        lines.append(f'[[sources]]\nid = "p{i}"\nkind = "html"\nurl = "{base}/p/{i}.html"\nselector = "main"\n')
    path = workdir / "whisperer.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def db_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def bump(base: str, n: int) -> None:
    httpx.post(f"{base}/_bump?n={n}")


def run_whisperer(base: str, pages: int, workdir: Path) -> dict[str, float]:
    config = load_config(write_config(workdir, base, pages), env={})
    now = datetime.now(UTC)
    runtime = open_runtime(config, now)
    results: dict[str, float] = {}
    try:
        for name in ("cold", "warm", "1% changed"):
            if name == "1% changed":
                bump(base, max(1, pages // 100))
            runtime.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            rows_before = sum(table_counts(runtime.db).values())
            bytes_before = db_bytes(config.database)
            start = time.perf_counter()
            outcomes = poll(runtime, now)
            elapsed = time.perf_counter() - start
            runtime.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            counts = table_counts(runtime.db)
            rows_added = sum(counts.values()) - rows_before
            statuses: dict[str, int] = {}
            for o in outcomes:
                statuses[o.status] = statuses.get(o.status, 0) + 1
            print(
                f"  whisperer {name:>11}: {elapsed:6.3f} s  {pages / elapsed:8.0f} pages/s  "
                f"peak RSS {peak_rss_mb():6.1f} MB  +{rows_added} rows "
                f"(changes {counts['changes']}, snapshots {counts['snapshots']}, polls {counts['polls']})  "
                f"+{db_bytes(config.database) - bytes_before:,} bytes  {statuses}"
            )
            results[name] = elapsed
            now += timedelta(minutes=30)
    finally:
        runtime.close()
    return results


def policy_cost(rounds: int = 20000) -> None:
    """The network policy's own cost: each new connection resolves and checks its host; each redirect hop is also
    checked before connecting (kept-alive connections were checked when they opened)."""
    policy = NetworkPolicy.from_entries(["127.0.0.1", "10.20.0.0/16", "wiki.corp.example"])
    cases = {
        "check_target(url), per redirect hop": lambda: policy.check_target("http://127.0.0.1:8080/p/1.html"),
        "resolve(ip literal), per new connection": lambda: policy.resolve("127.0.0.1", 8080),
        "check_address(public), per address": lambda: policy.check_address("portal.example", "93.184.216.34"),
        "classify(uncached)": lambda: (classify.cache_clear(), classify("93.184.216.34")),
    }
    for name, call in cases.items():
        start = time.perf_counter()
        for _ in range(rounds):
            call()
        print(f"  policy {name:>40}: {(time.perf_counter() - start) / rounds * 1e6:6.2f} µs")


def run_urlwatch(base: str, pages: int, workdir: Path) -> dict[str, float]:
    peer = ROOT / ".venv-peer"
    if not (peer / "bin" / "urlwatch").exists():
        print("  (installing urlwatch into .venv-peer for the comparison)")
        subprocess.run([sys.executable, "-m", "venv", str(peer)], check=True)
        subprocess.run([str(peer / "bin" / "pip"), "install", "-q", "urlwatch"], check=True)
    urls = workdir / "urls.yaml"
    urls.write_text(
        "\n---\n".join(f"url: {base}/p/{i}.html\nfilter:\n  - css: main\n  - html2text" for i in range(pages)),
        encoding="utf-8",
    )
    config = workdir / "urlwatch.yaml"
    config.write_text("report:\n  stdout:\n    enabled: false\n  text:\n    details: false\n", encoding="utf-8")
    cache = workdir / "cache.db"
    results: dict[str, float] = {}
    env = {**os.environ, "HOME": str(workdir)}
    for name in ("cold", "warm", "1% changed"):
        if name == "1% changed":
            bump(base, max(1, pages // 100))
        start = time.perf_counter()
        subprocess.run(
            [str(peer / "bin" / "urlwatch"), "--urls", str(urls), "--config", str(config), "--cache", str(cache)],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        elapsed = time.perf_counter() - start
        results[name] = elapsed
        print(
            f"  urlwatch  {name:>11}: {elapsed:6.3f} s  {pages / elapsed:8.0f} pages/s  cache {db_bytes(cache):,} bytes"
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--peer", choices=["urlwatch"], help="also run a peer tool on the same pages")
    parser.add_argument(
        "--no-validators", action="store_true", help="pages without ETag/Last-Modified (static bytes instead)"
    )
    args = parser.parse_args()
    validators = not args.no_validators
    kind = "with ETag/Last-Modified" if validators else "without validators"
    print(f"bench/poll.py: {args.pages} pages on loopback ({kind}), {os.cpu_count()} cores")
    policy_cost()
    proc, base = start_server(args.pages, validators)
    try:
        with tempfile.TemporaryDirectory(prefix="whisperer-bench-") as tmp:
            ours = run_whisperer(base, args.pages, Path(tmp))
        if args.peer == "urlwatch":
            # Fresh server state so the peer sees the same three passes.
            proc.communicate("", timeout=10)
            proc, base = start_server(args.pages, validators)
            with tempfile.TemporaryDirectory(prefix="urlwatch-bench-") as tmp:
                theirs = run_urlwatch(base, args.pages, Path(tmp))
            for name, elapsed in ours.items():
                print(f"  ratio {name:>11}: urlwatch / whisperer = {theirs[name] / elapsed:5.1f}x")
    finally:
        if proc.poll() is None:
            proc.communicate("", timeout=10)


if __name__ == "__main__":
    main()
