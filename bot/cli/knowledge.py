"""The partner-knowledge CLI subcommands: `certs import FILE.csv`, `certs matrix [--csv FILE]`,
`deadlines [--days N] [--ics]`, `reminders [--as-of DATE] [--dry-run]`. bot/cli/main.py lists them; they open the
runtime."""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.cli.common import opened
from bot.cli.exits import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from bot.process.reminders import run_reminder_sweep
from bot.process.runtime import Runtime, make_context
from bot.slack.render import to_text
from handlers.alerting.notices import compose_notice
from handlers.programme.deadlines import DEFAULT_DAYS, Deadline, collect_deadlines
from handlers.registry import dispatch_args, load_commands
from handlers.reply import plain_text
from handlers.reply_codec import decode_reply
from handlers.team.certificates import import_certs, import_reply, parse_cert_csv


def add_arguments(command: str, parser: argparse.ArgumentParser) -> None:
    if command == "certs":
        certs_sub = parser.add_subparsers(dest="certs_command", metavar="<action>", required=True)
        p = certs_sub.add_parser("import", help="import (or update) certifications from a CSV file")
        p.add_argument("file", metavar="FILE.csv")
        p = certs_sub.add_parser("matrix", help="people x certification groups; --csv FILE writes it as a CSV file")
        p.add_argument("--csv", metavar="FILE.csv", help="write the matrix to this file (UTF-8 CSV)")
    elif command == "deadlines":
        parser.add_argument(
            "--days", metavar="N", type=int, default=DEFAULT_DAYS, help=f"how far ahead (default {DEFAULT_DAYS})"
        )
        parser.add_argument(
            "--ics", action="store_true", help="an iCalendar file: whisperer deadlines --ics > deadlines.ics"
        )
        parser.add_argument("--as-of", metavar="DATE", help="pretend it is this date (YYYY-MM-DD)")
    elif command == "reminders":
        parser.add_argument("--as-of", metavar="DATE", help="sweep as if it were this date (YYYY-MM-DD or ISO time)")
        parser.add_argument("--dry-run", action="store_true", help="print what would be sent; queue nothing")


def run(args: argparse.Namespace) -> int:
    load_commands()  # every /whisperer subcommand, as a line typed in Slack would find them

    with opened(args, required=False) as (runtime, now):
        return run_with(args, runtime, now)


def run_with(args: argparse.Namespace, runtime: Runtime, now: datetime, out: Callable[[str], None] = print) -> int:
    if args.command == "certs" and args.certs_command == "matrix":
        return _matrix(args.csv, runtime, now, out)
    if args.command == "certs":
        return _import(Path(args.file), runtime, now, out)
    if args.command == "deadlines":
        if not 0 < args.days <= 3660:
            out(f"whisperer: --days {args.days} is out of range; use 1 to 3660")
            return EXIT_USAGE
        ctx = make_context(runtime, now, operator=True)
        if args.ics:
            sys.stdout.buffer.write(deadlines_ics(collect_deadlines(ctx, args.days), now))
            sys.stdout.flush()
            return EXIT_OK
        out(to_text(dispatch_args(ctx, ["deadlines", str(args.days)])))
        return EXIT_OK
    if args.command == "reminders":
        return _reminders(runtime, now, args.dry_run, out)
    raise AssertionError(args.command)  # pragma: no cover


def _reminders(runtime: Runtime, now: datetime, dry_run: bool, out: Callable[[str], None]) -> int:
    tz = runtime.config.bot.tz
    moment = now.astimezone(tz)
    out(
        f"Reminder sweep as of {moment:%Y-%m-%d %H:%M} {runtime.config.bot.timezone}"
        + (" (dry run)" if dry_run else "")
    )
    planned = run_reminder_sweep(runtime, now, dry_run=dry_run)
    for p in planned:
        when = "now" if p.deliver_at <= now else f"at {p.deliver_at.astimezone(tz):%Y-%m-%d %H:%M} ("
        zone = getattr(p.deliver_at.tzinfo, "key", None)
        if p.deliver_at > now:
            when += f"{p.deliver_at:%H:%M} {zone}, " if zone and zone != runtime.config.bot.timezone else ""
            when += "their working hours)"
        out(f"\n→ {p.to}, {when}:")
        message = decode_reply(p.payload["reply"]) if "reply" in p.payload else compose_notice(p.payload)
        out(textwrap.indent(to_text(message), "    "))
    verb = "would be sent" if dry_run else "queued"
    if not planned:
        out("\nNothing to send today. Every certificate is either fine or already nagged about.")
    else:
        out(f"\n{len(planned)} message{'s' if len(planned) != 1 else ''} {verb}.")
        if not dry_run:
            out("They go out with the next delivery (`whisperer run`); in terminal mode they print there.")
    return EXIT_OK


def deadlines_ics(items: Sequence[Deadline], now: datetime) -> bytes:
    """An iCalendar file: all-day events for dates, a point in time (UTC) for timed deadlines."""
    import icalendar  # only `deadlines --ics` needs it

    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Huawei Whisperer//deadlines//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", "Huawei partner deadlines")
    for item in items:
        event = icalendar.Event()
        event.add("uid", re.sub(r"[^\w:.+-]+", "-", item.key) + "@huawei-whisperer")
        event.add("dtstamp", now.astimezone(UTC))
        event.add("summary", item.title)
        event.add("description", "From: " + plain_text(item.origin))
        if item.at is not None:
            event.add("dtstart", item.at.astimezone(UTC))
            event.add("dtend", item.at.astimezone(UTC))
        else:
            event.add("dtstart", item.due)
            event.add("dtend", item.due + timedelta(days=1))
        calendar.add_component(event)
    return bytes(calendar.to_ical())


def _matrix(file: str | None, runtime: Runtime, now: datetime, out: Callable[[str], None]) -> int:
    """`whisperer certs matrix [--csv FILE]`: the table, or the CSV written to a file."""
    from handlers.team.matrix import matrix, matrix_csv

    ctx = make_context(runtime, now, operator=True)
    if file is None:
        out(to_text(dispatch_args(ctx, ["certs", "matrix"])))
        return EXIT_OK
    groups, rows, _until = matrix(ctx)
    try:
        Path(file).write_text(matrix_csv(groups, rows), encoding="utf-8")
    except OSError as exc:
        out(f"whisperer: {file}: cannot write it ({exc.strerror}); check the folder exists and is writable")
        return EXIT_FAILED
    out(f"Wrote {len(rows)} people × {len(groups)} groups to {file}.")
    return EXIT_OK


def _import(path: Path, runtime: Runtime, now: datetime, out: Callable[[str], None]) -> int:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        out(f"whisperer: {path}: no such file; check the path")
        return EXIT_USAGE
    except UnicodeDecodeError:
        out(f"whisperer: {path}: not UTF-8 text; save it as 'CSV UTF-8' and import it again")
        return EXIT_USAGE
    parsed = parse_cert_csv(text, runtime.config.knowledge.certifications, now.astimezone(runtime.config.bot.tz).date())
    if parsed.fatal is None:
        import_certs(runtime.db, parsed, now)
    out(to_text(import_reply(parsed, path.name)))
    if parsed.fatal:
        return EXIT_USAGE
    return EXIT_FAILED if parsed.problems else EXIT_OK
