"""`whisperer deals import FILE.csv` and `whisperer deals export [FILE.csv]`: the opportunity ledger as CSV."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from bot.cli.common import opened
from bot.cli.exits import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from bot.process.runtime import Runtime
from bot.slack.render import to_text


def add_arguments(command: str, parser: argparse.ArgumentParser) -> None:
    deals_sub = parser.add_subparsers(dest="deals_command", metavar="<action>", required=True)
    p = deals_sub.add_parser("import", help="add deals from a CSV file (bad rows are named by line; good ones kept)")
    p.add_argument("file", metavar="FILE.csv")
    p = deals_sub.add_parser("export", help="write the whole ledger as CSV (to stdout without a file)")
    p.add_argument("file", metavar="FILE.csv", nargs="?")


def run(args: argparse.Namespace) -> int:
    from handlers.registry import load_commands

    load_commands()  # every /whisperer subcommand, as a line typed in Slack would find them

    with opened(args, required=False) as (runtime, now):
        return run_with(args, runtime, now)


def run_with(args: argparse.Namespace, runtime: Runtime, now: datetime, out: Callable[[str], None] = print) -> int:
    from handlers.money.deal_csv import export_deals, import_deals, import_reply, parse_deal_csv

    tz = runtime.config.bot.tz
    path = Path(args.file) if args.file else None
    if args.deals_command == "export":
        text = export_deals(runtime.db, tz)
        if path is None:
            out(text.rstrip("\n"))
        else:
            path.write_text(text, encoding="utf-8")
            out(f"Wrote {text.count(chr(10)) - 1} deals to {path}.")
        return EXIT_OK
    assert path is not None
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        out(f"whisperer: {path}: no such file; check the path")
        return EXIT_USAGE
    except UnicodeDecodeError:
        out(f"whisperer: {path}: not UTF-8 text; save it as 'CSV UTF-8' and import it again")
        return EXIT_USAGE
    parsed = parse_deal_csv(text, tz)
    if parsed.fatal is None:
        import_deals(runtime.db, parsed, now, tz, by="csv import")
    out(to_text(import_reply(parsed, path.name)))
    if parsed.fatal:
        return EXIT_USAGE
    return EXIT_FAILED if parsed.problems else EXIT_OK
