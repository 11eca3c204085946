"""`whisperer demo`, `whisperer run` and `whisperer doctor`: the long-running process and its checks."""

from __future__ import annotations

import argparse
import os

from bot.cli.common import UsageProblem, load, real_now


def add_arguments(command: str, parser: argparse.ArgumentParser) -> None:
    if command == "demo":
        parser.add_argument("--keep", metavar="DIR", help="keep the demo's config and database in DIR")
    elif command == "run":
        parser.add_argument("--http", action="store_true", help="serve POST /slack/events instead of using Socket Mode")
        parser.add_argument("--port", metavar="N", type=int, help="HTTP mode port (default 3000; 0 picks one)")
        parser.add_argument("--host", metavar="ADDR", help="HTTP mode address (default 127.0.0.1)")
        from bot.ops.logs import LOG_FORMATS

        parser.add_argument(
            "--log-format",
            choices=LOG_FORMATS,
            help="text (default) or json, one object per line ($WHISPERER_LOG_FORMAT)",
        )


def run(args: argparse.Namespace) -> int:
    if args.command == "demo":
        from bot.demo.story import run_demo

        return run_demo(keep=args.keep)
    if args.command == "doctor":
        from bot.cli.doctor import print_checks, run_checks
        from bot.config.loading import config_path

        return print_checks(run_checks(config_path(args.config, os.environ), os.environ, real_now()))
    from bot.ops.logs import log_format as choose_log_format
    from bot.process.service import Options, leave, run_bot
    from bot.slack.app import slack_settings

    if not args.http and (args.port is not None or args.host is not None):
        flag = "--port" if args.port is not None else "--host"
        raise UsageProblem(f"{flag} only applies to HTTP mode; add --http (whisperer run --http {flag} …)")
    port = 3000 if args.port is None else args.port
    if not 0 <= port <= 65535:
        raise UsageProblem(f"--port {port} is not a TCP port; use 1-65535 (or 0 for any free one)")
    try:
        log_format = choose_log_format(args.log_format, os.environ)
    except ValueError as exc:
        raise UsageProblem(f"{exc}; set WHISPERER_LOG_FORMAT to text or json") from None
    options = Options(args.http, args.host or "127.0.0.1", port, log_format)
    return leave(run_bot(load(args, required=True), slack_settings(os.environ), options))
