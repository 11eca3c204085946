"""`whisperer [--config F] <command>`: the entry point that reads the clock and builds everything once."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, time
from pathlib import Path

from dotenv import dotenv_values, load_dotenv

import handlers  # noqa: F401  (registers every /whisperer subcommand)
from bot import __version__
from bot.cli import cookies as cookies_cli
from bot.cli import data as data_cli
from bot.cli import deals as deals_cli
from bot.cli import knowledge as knowledge_cli
from bot.cli import money as money_cli
from bot.cli.exits import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_STORAGE, EXIT_USAGE
from bot.config.loading import Config, ConfigError, MissingConfig, config_path, default_config, load_config
from bot.process import digest as digest_cli
from bot.process.runtime import make_context, open_runtime, poll
from bot.slack.render import to_text
from handlers.registry import dispatch, dispatch_args
from handlers.reply import Reply
from handlers.timeparse import parse_date
from storage.db import StorageUnavailable
from watchers.poll import Outcome
from watchers.reading.inert import inert


class UsageProblem(Exception):
    """A mistake on the command line that argparse cannot see (exit status 2, no traceback)."""


def use_color(stream: object = sys.stdout) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ


def real_now() -> datetime:
    return datetime.now(UTC)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="whisperer",
        description="Huawei Whisperer: watches the Huawei Cloud partner programme and tells Slack what changed.",
    )
    parser.add_argument("--config", metavar="FILE", help="config file (default: $WHISPERER_CONFIG or ./whisperer.toml)")
    parser.add_argument("--version", action="version", version=f"whisperer {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="<command>")

    demo = sub.add_parser("demo", help="run the scripted story against a bundled sample portal (no tokens needed)")
    demo.add_argument("--keep", metavar="DIR", help="keep the demo's config and database in DIR")

    p = sub.add_parser("run", help="run the bot: Socket Mode, HTTP mode (--http), or the terminal without tokens")
    p.add_argument("--http", action="store_true", help="serve POST /slack/events instead of using Socket Mode")
    p.add_argument("--port", metavar="N", type=int, help="HTTP mode port (default 3000; 0 picks one)")
    p.add_argument("--host", metavar="ADDR", help="HTTP mode address (default 127.0.0.1)")

    sub.add_parser("doctor", help="check the config, database, Slack token and scopes, and the alerts channel")

    p = sub.add_parser("poll", help="poll every source now (or one), record changes, queue alerts")
    p.add_argument("--source", metavar="ID", action="append", help="only this source (repeatable)")

    p = sub.add_parser("changes", help="list recorded changes, newest first")
    p.add_argument("--source", metavar="ID")
    p.add_argument("--since", metavar="DATE", help="2026-11-01, 7d, 12h, today, yesterday")
    p.add_argument("--limit", metavar="N", type=int, default=20)

    p = sub.add_parser("diff", help="show one change in full")
    p.add_argument("change_id", metavar="CHANGE_ID")

    sub.add_parser("sources", help="every source and its health")

    p = sub.add_parser("ask", help='answer a /whisperer line in the terminal, e.g. whisperer ask "changes"')
    p.add_argument("text", metavar="TEXT")
    p.add_argument("--user", metavar="ID", help="ask as this Slack user (admin checks apply)")
    p.add_argument("--as-of", metavar="DATE", help="pretend it is this date (YYYY-MM-DD or ISO time)")
    knowledge_cli.add_commands(sub)
    money_cli.add_commands(sub)
    deals_cli.add_commands(sub)
    digest_cli.add_command(sub)
    cookies_cli.add_command(sub)
    data_cli.add_commands(sub)
    return parser


def parse_as_of(text: str | None, config: Config) -> datetime:
    if not text:
        return real_now()
    day = parse_date(text)
    if day is not None:  # a bare date means that morning in the team's timezone
        return datetime.combine(day, time(9, 0), config.bot.tz)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageProblem(f"--as-of {text!r} is not a date; use YYYY-MM-DD (or an ISO time)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=config.bot.tz)


def _load(args: argparse.Namespace, required: bool) -> Config:
    path = config_path(args.config, os.environ)
    try:
        return load_config(path)
    except MissingConfig:
        if required or args.config:
            raise
        return default_config()


def print_reply(reply: Reply) -> None:
    print(to_text(reply, color=use_color()))


def print_outcomes(outcomes: Sequence[Outcome], color: bool) -> None:
    green, red, dim, reset = ("\033[32m", "\033[31m", "\033[2m", "\033[0m") if color else ("", "", "", "")
    for o in outcomes:
        # Summaries, errors and warnings quote the source (an HTTP reason phrase, a feed title): inert() again here.
        if o.status == "changed":
            for change_id, summary in zip(o.change_ids, o.summaries, strict=True):
                print(f"{green}✓ {o.source_id}{reset}: changed — {inert(summary)}  (#{change_id})")
        elif o.status == "error":
            print(f"{red}✗ {o.source_id}{reset}: {inert(o.error or '')} (failed {o.failures}× in a row)")
        elif o.status == "new":
            print(f"{dim}+ {o.source_id}: first snapshot stored{reset}")
        elif o.status == "logged_out":
            print(f"{red}🔒 {o.source_id}{reset}: session expired — {inert(o.error or '')}")
        elif o.status == "stale":
            print(f"{dim}· {o.source_id}: a newer check finished first; this older result was discarded{reset}")
        if o.warning and o.status != "error":
            print(f"{dim}  ! {o.source_id}: {inert(o.warning)}{reset}")
    counts = {s: sum(o.status == s for o in outcomes) for s in ("changed", "error", "new", "logged_out", "held")}
    quiet = len(outcomes) - sum(counts.values())
    expired = f", {counts['logged_out']} logged out" if counts["logged_out"] else ""
    held = f", {counts['held']} held as suspicious" if counts["held"] else ""
    print(
        f"Polled {len(outcomes)} source{'s' if len(outcomes) != 1 else ''}: {counts['changed']} changed, "
        f"{counts['error']} failed, {counts['new']} new{expired}{held}, {quiet} unchanged."
    )


def run_command(args: argparse.Namespace) -> int:
    command = args.command
    if command == "demo":
        from bot.demo.story import run_demo

        return run_demo(keep=args.keep)
    if command == "doctor":
        from bot.cli.doctor import print_checks, run_checks

        return print_checks(run_checks(config_path(args.config, os.environ), os.environ, real_now()))
    if command == "run":
        from bot.process.service import Options, run_bot
        from bot.slack.app import slack_settings

        if not args.http and (args.port is not None or args.host is not None):
            flag = "--port" if args.port is not None else "--host"
            raise UsageProblem(f"{flag} only applies to HTTP mode; add --http (whisperer run --http {flag} …)")
        port = 3000 if args.port is None else args.port
        if not 0 <= port <= 65535:
            raise UsageProblem(f"--port {port} is not a TCP port; use 1-65535 (or 0 for any free one)")
        options = Options(args.http, args.host or "127.0.0.1", port)
        return run_bot(_load(args, required=True), slack_settings(os.environ), options)
    if command == "cookies":  # reads only the file it is given: no config, no database
        return cookies_cli.run(args, real_now())
    if command in data_cli.COMMANDS:  # the database as it is: no sources synced, no migration (but prune)
        return data_cli.run(args, _load(args, required=False), real_now())
    needs_config = command in ("poll", "sources")
    config = _load(args, required=needs_config)
    now = parse_as_of(getattr(args, "as_of", None), config)
    runtime = open_runtime(config, now)
    try:
        if command == "poll":
            known = {s.id for s in config.sources}
            for source_id in args.source or []:
                if source_id not in known:
                    known_list = ", ".join(sorted(known)) or "none"
                    print(
                        f"whisperer: no source {source_id!r} in {config.path}; known sources: {known_list}",
                        file=sys.stderr,
                    )
                    return EXIT_USAGE
            outcomes = poll(runtime, now, args.source)
            print_outcomes(outcomes, use_color())
            # One failing source is recorded state (it alerts after a few tries); nothing polled at all is a failure.
            every_one_failed = bool(outcomes) and all(o.status == "error" for o in outcomes)
            return EXIT_FAILED if every_one_failed else EXIT_OK
        if command in knowledge_cli.COMMANDS:
            return knowledge_cli.run(args, runtime, now)
        if command in money_cli.COMMANDS:
            return money_cli.run(args, runtime, now)
        if command in deals_cli.COMMANDS:
            return deals_cli.run(args, runtime, now)
        if command == "digest":
            return digest_cli.run_cli(args, runtime, now)
        ctx = make_context(runtime, now, user_id=getattr(args, "user", None), operator=not getattr(args, "user", None))
        if command == "changes":
            argv = [a for a in (args.source, args.since) if a] + [str(args.limit)]
            reply = dispatch_args(ctx, ["changes", *argv])
        elif command == "diff":
            reply = dispatch_args(ctx, ["diff", args.change_id])
        elif command == "sources":
            reply = dispatch_args(ctx, ["sources"])
        elif command == "ask":
            reply = dispatch(ctx, args.text.removeprefix("/whisperer").strip())
        else:  # pragma: no cover - argparse rejects unknown commands
            raise AssertionError(command)
        print_reply(reply)
        return EXIT_USAGE if reply.error else EXIT_OK
    finally:
        runtime.close()


def load_env_files(args: argparse.Namespace, cwd: Path) -> None:
    """`.env` beside the config file first, then the current directory's; neither overrides the environment."""
    here = cwd / ".env"
    chosen = args.config or os.environ.get("WHISPERER_CONFIG") or dotenv_values(here).get("WHISPERER_CONFIG")
    beside = config_path(chosen, {}).parent / ".env"
    for path in dict.fromkeys((beside.resolve(), here.resolve())):
        if path.is_file():
            load_dotenv(path, override=False)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    try:
        load_env_files(args, Path.cwd())
        status = run_command(args)
        sys.stdout.flush()  # here, so a closed pipe is caught below rather than at interpreter exit
        return status
    except UsageProblem as exc:
        print(f"whisperer: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as exc:
        print(f"whisperer: configuration error\n  {exc.where}: {exc.problem}", file=sys.stderr)
        if exc.fix:
            print(f"  fix: {exc.fix}", file=sys.stderr)
        return EXIT_USAGE
    except StorageUnavailable as exc:
        print(f"whisperer: {exc.problem} ({exc.path})\n  fix: {exc.fix}", file=sys.stderr)
        return EXIT_STORAGE
    except BrokenPipeError:
        # `whisperer changes | head -1`: the reader has all it wanted. Point stdout at /dev/null so the
        # interpreter's final flush does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
