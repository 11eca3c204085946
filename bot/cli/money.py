"""`whisperer mdf export|import`: MDF requests as a CSV file, out and back in (bot/cli/main.py lists it)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from bot.cli.common import opened
from bot.cli.exits import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from bot.process.runtime import Runtime
from bot.slack.render import to_text
from handlers.money.mdf_csv import export_csv, import_reply, import_rows, parse_csv


def add_arguments(command: str, parser: argparse.ArgumentParser) -> None:
    mdf_sub = parser.add_subparsers(dest="mdf_command", metavar="<action>", required=True)
    mdf_sub.add_parser("export", help="every MDF request as CSV on stdout")
    p = mdf_sub.add_parser("import", help="add (or update, by id) MDF requests from a CSV file")
    p.add_argument("file", metavar="FILE.csv")


def run(args: argparse.Namespace) -> int:
    from handlers.registry import load_commands

    load_commands()  # every /whisperer subcommand, as a line typed in Slack would find them

    with opened(args, required=False) as (runtime, now):
        return run_with(args, runtime, now)


def run_with(args: argparse.Namespace, runtime: Runtime, now: datetime, out: Callable[[str], None] = print) -> int:
    if args.mdf_command == "export":
        sys.stdout.write(export_csv(runtime.db))
        sys.stdout.flush()
        return EXIT_OK
    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        out(f"whisperer: {path}: no such file; check the path")
        return EXIT_USAGE
    except UnicodeDecodeError:
        out(f"whisperer: {path}: not UTF-8 text; save it as 'CSV UTF-8' and import it again")
        return EXIT_USAGE
    parsed = parse_csv(text, runtime.config.knowledge.money.mdf)
    added = updated = 0
    if parsed.fatal is None:
        added, updated = import_rows(runtime.db, parsed, "import", now)
    out(to_text(import_reply(parsed, added, updated, path.name)))
    if parsed.fatal:
        return EXIT_USAGE
    return EXIT_FAILED if parsed.problems else EXIT_OK
