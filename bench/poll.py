"""Benchmark: start-up, and `whisperer poll` over N pages beside urlwatch, cold and warm, as whole processes.

    python bench/poll.py [--sizes 200,2000,20000] [--no-peer] [--server nginx|python] [--per-host N] [--workdir DIR]
                         [--this-tree]

Pages are static files served by nginx on 127.0.0.1 (a generated config on a free port in a temporary folder);
without nginx, the bundled Python page server (bench/pageserver.py) serves them, and the bench says so.
urlwatch (10 workers, its own default) is installed into a venv under the work folder when it is missing.
For each N it prints wall time, peak RSS and cost per source of a cold pass (every page new) and a warm pass
(nothing changed: every page answers 304), then the ratios against urlwatch. First, the start-up figure:
`whisperer --help` against `python -c pass`, whole processes, medians of interleaved runs.
--this-tree runs `python -m bot` from this checkout instead of the venv's installed `whisperer`.
A benchmark, not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from pageserver import BODY  # noqa: E402

PASSES = ("cold", "warm")


@dataclass
class Run:
    wall: float
    rss_mb: float
    summary: str = ""


def run_process(argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> Run:
    """Wall time and peak RSS of one whole child process (os.wait4 gives that child's own rusage)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{argv[0]} failed ({proc.returncode}):\n{err.read().decode()[-2000:]}")
        lines = out.read().decode().strip().splitlines()
    return Run(wall, usage.ru_maxrss / 1024, lines[-1] if lines else "")


THIS_TREE = False  # --this-tree


def whisperer_argv() -> list[str]:
    script = Path(sys.executable).parent / "whisperer"
    if script.exists() and not THIS_TREE:
        return [str(script)]
    return [sys.executable, "-m", "bot"]  # --this-tree: this checkout's code (see child_env)


def child_env(env: dict[str, str]) -> dict[str, str]:
    """With --this-tree, `python -m bot` imports this checkout, whatever the venv installed."""
    return {**env, "PYTHONPATH": str(ROOT)} if THIS_TREE else env


def compile_bytecode() -> None:
    """Compile our packages' bytecode once, as `pip install` does for an installed wheel (urlwatch's venv has it).

    An editable install never writes .pyc files when PYTHONDONTWRITEBYTECODE is set, so every process would
    compile our modules from source again: a cost a deployed bot does not pay. Existing .pyc files are read
    whatever that variable says."""
    packages = [str(ROOT / name) for name in ("bot", "watchers", "handlers", "storage")]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", *packages], check=True, env=env, stdout=subprocess.DEVNULL
    )


def startup(runs: int) -> None:
    bare: list[float] = []
    helped: list[float] = []
    for _ in range(runs):  # interleaved, so load from other work on the machine falls on both alike
        bare.append(run_process([sys.executable, "-c", "pass"]).wall)
        helped.append(run_process([*whisperer_argv(), "--help"], child_env(dict(os.environ))).wall)
    b, h = statistics.median(bare), statistics.median(helped)
    print(f"start-up: python -c pass {b * 1000:6.1f} ms, whisperer --help {h * 1000:6.1f} ms  ({h / b:4.1f}×)")


def policy_cost(rounds: int = 20000) -> None:
    """The network policy's own cost: each new connection resolves and checks its host; each redirect hop is also
    checked before connecting (kept-alive connections were checked when they opened)."""
    sys.path.insert(0, str(ROOT))
    from watchers.fetching.network import NetworkPolicy, classify

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


# --- page servers ---------------------------------------------------------------------------------------------


def write_pages(docroot: Path, pages: int) -> None:
    folder = docroot / "p"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(pages):
        (folder / f"{i}.html").write_text(BODY.format(i=i, v=1, s=0), encoding="utf-8")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


NGINX_CONF = """
worker_processes 1;
{user}
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    types {{ text/html html; }}
    default_type application/octet-stream;
    keepalive_requests 100000;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {docroot};
    }}
}}
"""


class Server:
    def __init__(self, kind: str, pages: int, tmp: Path) -> None:
        self.kind = kind
        if kind == "nginx":
            docroot = tmp / "www"
            write_pages(docroot, pages)
            port = free_port()
            user = "user root;" if os.geteuid() == 0 else ""  # workers must read the temporary folder
            conf = tmp / "nginx.conf"
            conf.write_text(NGINX_CONF.format(user=user, tmp=tmp, port=port, docroot=docroot), encoding="utf-8")
            nginx = shutil.which("nginx") or "/usr/sbin/nginx"
            self.proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(tmp)], stderr=subprocess.PIPE)
            self.base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.05)
            else:
                raise SystemExit(f"nginx did not start: {(tmp / 'error.log').read_text()}")
        else:
            self.proc = subprocess.Popen(
                [sys.executable, str(ROOT / "bench" / "pageserver.py"), str(pages)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
            assert self.proc.stdout is not None
            self.base = f"http://127.0.0.1:{self.proc.stdout.readline().decode().strip()}"

    def stop(self) -> None:
        if self.kind == "nginx":
            self.proc.terminate()
        else:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        self.proc.wait(timeout=10)


# --- the two pollers ------------------------------------------------------------------------------------------


def run_whisperer(base: str, pages: int, workdir: Path, per_host: int | None = None) -> dict[str, Run]:
    # Default [fetch] settings (8 workers, 2 requests at a time per host), plus the loopback address; --per-host
    # raises per_host as the configuration docs allow for a server you run yourself (this nginx is one).
    fetch = f"per_host = {per_host}\n" if per_host else ""
    lines = [f'[bot]\ndatabase = "bench.db"\n\n[fetch]\nallow_private = ["127.0.0.1"]\n{fetch}']
    for i in range(pages):
        lines.append(f'[[sources]]\nid = "p{i}"\nkind = "html"\nurl = "{base}/p/{i}.html"\nselector = "main"\n')
    config = workdir / "whisperer.toml"
    config.write_text("\n".join(lines), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WHISPERER_", "SLACK_"))}
    env["NO_COLOR"] = "1"
    argv = [*whisperer_argv(), "--config", str(config), "poll"]
    return {name: run_process(argv, child_env(env), workdir) for name in PASSES}


def urlwatch_bin(workdir: Path) -> Path:
    found = shutil.which("urlwatch")
    if found:
        return Path(found)
    venv = workdir / "urlwatch-venv"
    exe = venv / "bin" / "urlwatch"
    if not exe.exists():
        print(f"(urlwatch is missing: installing it into its own venv, {venv.name}/ in the bench's work folder)")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "urlwatch"], check=True)
    return exe


def run_urlwatch(exe: Path, base: str, pages: int, workdir: Path) -> dict[str, Run]:
    urls = workdir / "urls.yaml"
    urls.write_text(
        "\n---\n".join(f"url: {base}/p/{i}.html\nfilter:\n  - css: main\n  - html2text" for i in range(pages)),
        encoding="utf-8",
    )
    config = workdir / "urlwatch.yaml"
    config.write_text("report:\n  stdout:\n    enabled: false\n  text:\n    details: false\n", encoding="utf-8")
    argv = [str(exe), "--urls", str(urls), "--config", str(config), "--cache", str(workdir / "cache.db")]
    env = {**os.environ, "HOME": str(workdir)}
    return {name: run_process(argv, env, workdir) for name in PASSES}


def show(tool: str, pages: int, runs: dict[str, Run]) -> None:
    for name, run in runs.items():
        print(
            f"  {tool:<11} {name:<4} {run.wall:7.2f} s  {run.wall / pages * 1e6:6.0f} µs/source  "
            f"peak RSS {run.rss_mb:6.1f} MB  {run.summary[:90]}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="200,2000,20000", help="numbers of sources, comma-separated")
    parser.add_argument("--no-peer", action="store_true", help="skip urlwatch")
    parser.add_argument("--server", choices=["nginx", "python"], help="default: nginx when installed")
    parser.add_argument("--startup-runs", type=int, default=15)
    parser.add_argument(
        "--per-host", type=int, help="also run whisperer with this [fetch] per_host (loopback is your own server)"
    )
    parser.add_argument("--workdir", default=str(ROOT / ".bench"), help="where urlwatch's venv is kept")
    parser.add_argument("--this-tree", action="store_true", help="run this checkout's code, not the installed script")
    args = parser.parse_args()
    global THIS_TREE
    THIS_TREE = args.this_tree
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    server_kind = args.server or ("nginx" if shutil.which("nginx") or Path("/usr/sbin/nginx").exists() else "python")
    if server_kind == "python" and not args.server:
        print("note: nginx is not installed; serving the pages with the bundled Python page server instead")
    sizes = [int(n) for n in args.sizes.split(",")]
    print(f"bench/poll.py: {os.cpu_count()} cores, pages served by {server_kind}, sizes {sizes}")
    compile_bytecode()
    startup(args.startup_runs)
    policy_cost()
    exe = None if args.no_peer else urlwatch_bin(workdir)
    for pages in sizes:
        print(f"N = {pages}")
        with tempfile.TemporaryDirectory(prefix="bench-", dir=workdir) as tmp:
            os.chmod(tmp, 0o755)
            server = Server(server_kind, pages, Path(tmp))
            try:
                ours_dir, theirs_dir = Path(tmp) / "whisperer", Path(tmp) / "urlwatch"
                ours_dir.mkdir()
                ours = run_whisperer(server.base, pages, ours_dir)
                show("whisperer", pages, ours)
                if args.per_host:
                    raised_dir = Path(tmp) / f"whisperer-per-host-{args.per_host}"
                    raised_dir.mkdir()
                    raised = run_whisperer(server.base, pages, raised_dir, args.per_host)
                    show(f"per_host={args.per_host}", pages, raised)
                if exe is not None:
                    theirs_dir.mkdir()
                    theirs = run_urlwatch(exe, server.base, pages, theirs_dir)
                    show("urlwatch", pages, theirs)
                    ratios = "  ".join(f"{n} {theirs[n].wall / ours[n].wall:4.1f}×" for n in PASSES)
                    print(f"  urlwatch / whisperer: {ratios}")
                    if args.per_host:
                        ratios = "  ".join(f"{n} {theirs[n].wall / raised[n].wall:4.1f}×" for n in PASSES)
                        print(f"  urlwatch / whisperer (per_host = {args.per_host}): {ratios}")
            finally:
                server.stop()


if __name__ == "__main__":
    main()
