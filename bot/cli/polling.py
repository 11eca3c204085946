"""`whisperer poll [--source ID]`: poll now, record changes, queue alerts, and print one line per source."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from time import monotonic
from typing import TYPE_CHECKING, Any

from bot.cli.common import UsageProblem, opened, use_color
from bot.cli.exits import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from watchers.reading.inert import inert

if TYPE_CHECKING:
    from watchers.recording.record import Outcome


def add_arguments(command: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", metavar="ID", action="append", help="only this source (repeatable)")
    parser.add_argument("--ping", metavar="URL", help="healthchecks-style pings: URL/start, then URL or URL/fail")
    parser.add_argument("--metrics-file", metavar="FILE", help="write Prometheus metrics here (textfile collector)")


def run(args: argparse.Namespace) -> int:
    from bot.process.runtime import poll

    with opened(args, required=True) as (runtime, now):
        known = {s.id for s in runtime.config.sources}
        for source_id in args.source or []:
            if source_id not in known:
                known_list = ", ".join(sorted(known)) or "none"
                print(
                    f"whisperer: no source {source_id!r} in {runtime.config.path}; known sources: {known_list}",
                    file=sys.stderr,
                )
                return EXIT_USAGE
        started = monotonic()
        outcomes = poll(runtime, now, args.source)
        print_outcomes(outcomes, use_color())
        if args.metrics_file:
            _write_metrics(Path(args.metrics_file), runtime, outcomes, monotonic() - started, now)
        # One failing source is recorded state (it alerts after a few tries); nothing polled at all is a failure.
        every_one_failed = bool(outcomes) and all(o.status == "error" for o in outcomes)
        return EXIT_FAILED if every_one_failed else EXIT_OK


def _write_metrics(path: Path, runtime: Any, outcomes: Sequence[Outcome], seconds: float, now: datetime) -> None:
    from bot.ops.metrics import Metrics

    metrics = Metrics(runtime.config.database, lambda: runtime.db)
    metrics.polled(outcomes, seconds, now)
    try:
        metrics.write_textfile(path)
    except OSError as exc:
        raise UsageProblem(
            f"cannot write --metrics-file {path} ({exc.strerror or exc}); point it at a folder you can write to"
        ) from None


def print_outcomes(outcomes: Sequence[Outcome], color: bool) -> None:
    green, red, dim, reset = ("\033[32m", "\033[31m", "\033[2m", "\033[0m") if color else ("", "", "", "")
    lines = []
    for o in outcomes:
        # Summaries, errors and warnings quote the source (an HTTP reason phrase, a feed title): inert() again here.
        if o.status == "changed":
            for change_id, summary in zip(o.change_ids, o.summaries, strict=True):
                lines.append(f"{green}✓ {o.source_id}{reset}: changed — {inert(summary)}  (#{change_id})")
        elif o.status == "error":
            lines.append(f"{red}✗ {o.source_id}{reset}: {inert(o.error or '')} (failed {o.failures}× in a row)")
        elif o.status == "new":
            lines.append(f"{dim}+ {o.source_id}: first snapshot stored{reset}")
        elif o.status == "logged_out":
            lines.append(f"{red}🔒 {o.source_id}{reset}: session expired — {inert(o.error or '')}")
        elif o.status == "stale":
            lines.append(f"{dim}· {o.source_id}: a newer check finished first; this older result was discarded{reset}")
        if o.warning and o.status != "error":
            lines.append(f"{dim}  ! {o.source_id}: {inert(o.warning)}{reset}")
    counts = {s: sum(o.status == s for o in outcomes) for s in ("changed", "error", "new", "logged_out", "held")}
    quiet = len(outcomes) - sum(counts.values())
    expired = f", {counts['logged_out']} logged out" if counts["logged_out"] else ""
    held = f", {counts['held']} held as suspicious" if counts["held"] else ""
    lines.append(
        f"Polled {len(outcomes)} source{'s' if len(outcomes) != 1 else ''}: {counts['changed']} changed, "
        f"{counts['error']} failed, {counts['new']} new{expired}{held}, {quiet} unchanged."
    )
    print("\n".join(lines))
