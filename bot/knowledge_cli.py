"""The partner-knowledge CLI subcommands: `certs import FILE.csv`, `deadlines [--days N] [--ics]`,
`reminders [--as-of DATE] [--dry-run]`. bot/cli.py registers them and hands them the runtime."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from bot.render import to_text
from bot.runtime import Runtime
from handlers.people import import_certs, import_reply, parse_cert_csv

COMMANDS = ("certs",)
EXIT_OK, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 64


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    certs = sub.add_parser("certs", help="certifications: `certs import FILE.csv` loads people and their certificates")
    certs_sub = certs.add_subparsers(dest="certs_command", metavar="<action>", required=True)
    p = certs_sub.add_parser("import", help="import (or update) certifications from a CSV file")
    p.add_argument("file", metavar="FILE.csv")


def run(args: argparse.Namespace, runtime: Runtime, now: datetime, out: Callable[[str], None] = print) -> int:
    if args.command == "certs":
        return _import(Path(args.file), runtime, now, out)
    raise AssertionError(args.command)  # pragma: no cover


def _import(path: Path, runtime: Runtime, now: datetime, out: Callable[[str], None]) -> int:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        out(f"whisperer: {path}: no such file; check the path")
        return EXIT_USAGE
    except UnicodeDecodeError:
        out(f"whisperer: {path}: not UTF-8 text; save it as 'CSV UTF-8' and import it again")
        return EXIT_USAGE
    parsed = parse_cert_csv(text, runtime.config.knowledge.certifications)
    if parsed.fatal is None:
        import_certs(runtime.db, parsed, now)
    out(to_text(import_reply(parsed, path.name)))
    if parsed.fatal:
        return EXIT_USAGE
    return EXIT_PARTIAL if parsed.problems else EXIT_OK
