"""`whisperer health`: the readiness probe for a container HEALTHCHECK or a monitoring script (standard library).

It checks what /readyz checks, from outside the bot: the database opens and its schema is current, and a
`whisperer run` is running on it (it holds the run lock; its scheduler starts with it). When the bot serves
/readyz (`--url`, or `[ops] listen`), that answer is asked too, which adds the Socket Mode check.
Exit status 0 when ready, 1 when not.
"""

from __future__ import annotations

import argparse
import urllib.error
import urllib.request
from pathlib import Path

from bot.cli.common import load
from bot.cli.exits import EXIT_FAILED, EXIT_OK
from bot.config.loading import Config
from bot.ops.health import Check, Verdict, database_checks
from bot.process.lock import running_holder
from storage.db import FileIdentity

PROBE_TIMEOUT = 5.0


def add_arguments(command: str, p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", metavar="URL", help="also ask this /readyz (default: [ops] listen's, when set)")


def run(args: argparse.Namespace) -> int:
    """Opens the database read-only itself, never creating or migrating it."""
    return run_with(args, load(args, required=False))


def run_with(args: argparse.Namespace, config: Config) -> int:
    verdict = check(config, args.url)
    print(verdict.text(), end="")
    return EXIT_OK if verdict.ok else EXIT_FAILED


def check(config: Config, url: str | None = None) -> Verdict:
    path = config.database
    holder = running_holder(path)
    identity = None
    if holder is not None and holder.inode is not None and holder.device is not None:
        identity = FileIdentity(Path(path).resolve(), holder.device, holder.inode)
    checks = database_checks(path, identity)
    if holder is None:
        checks.append(Check("scheduler", False, f"no `whisperer run` is running on {path}"))
    else:
        checks.append(Check("scheduler", True, f"`whisperer run` (pid {holder.pid}) holds the run lock"))
    if url is None and config.ops.listen is not None:
        host, port = config.ops.listen
        host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/readyz"
    if url is not None:
        checks.append(ask(url))
    return Verdict(tuple(checks))


def ask(url: str) -> Check:
    """GET a /readyz: ok on 200; its own lines are folded into the detail either way."""
    try:
        with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT) as response:
            body = response.read(4096).decode("utf-8", "replace")
            return Check("readyz", True, f"{url}: {_fold(body)}")
    except urllib.error.HTTPError as exc:
        body = exc.read(4096).decode("utf-8", "replace")
        return Check("readyz", False, f"{url} answered {exc.code}: {_fold(body)}")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return Check("readyz", False, f"{url} did not answer ({reason})")


def _fold(body: str) -> str:
    lines = [line.strip() for line in body.splitlines() if line.strip()]
    failing = [line for line in lines if line.startswith("FAIL")]
    return "; ".join(failing or lines[-1:]) or "(empty)"
