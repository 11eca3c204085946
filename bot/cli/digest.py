"""`whisperer digest [--dry-run]`: the weekly digest printed, or queued for the channel now."""

from __future__ import annotations

import argparse

from bot.cli.common import opened


def add_arguments(command: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="print the digest; queue nothing")
    parser.add_argument("--as-of", metavar="DATE", help="as if it were this date (YYYY-MM-DD or ISO time)")


def run(args: argparse.Namespace) -> int:
    from handlers.registry import load_commands

    load_commands()  # every /whisperer subcommand, as a line typed in Slack would find them
    from bot.process.digest import run_cli

    with opened(args, required=False) as (runtime, now):
        return run_cli(args, runtime, now)
