"""`whisperer changes | diff | sources | ask "…"`: the handler registry's answers, printed for the terminal."""

from __future__ import annotations

import argparse

from bot.cli.common import opened, use_color
from bot.cli.exits import EXIT_OK, EXIT_USAGE


def add_arguments(command: str, parser: argparse.ArgumentParser) -> None:
    if command == "changes":
        parser.add_argument("--source", metavar="ID")
        parser.add_argument("--since", metavar="DATE", help="2026-11-01, 7d, 12h, today, yesterday")
        parser.add_argument("--limit", metavar="N", type=int, default=20)
    elif command == "diff":
        parser.add_argument("change_id", metavar="CHANGE_ID")
    elif command == "ask":
        parser.add_argument("text", metavar="TEXT")
        parser.add_argument("--user", metavar="ID", help="ask as this Slack user (admin checks apply)")
        parser.add_argument("--as-of", metavar="DATE", help="pretend it is this date (YYYY-MM-DD or ISO time)")


def run(args: argparse.Namespace) -> int:
    from bot.process.runtime import make_context
    from bot.slack.render import to_text
    from handlers.registry import dispatch, dispatch_args, load_commands

    load_commands()  # every /whisperer subcommand, as a line typed in Slack would find them

    command = args.command
    with opened(args, required=command == "sources") as (runtime, now):
        user = getattr(args, "user", None)
        ctx = make_context(runtime, now, user_id=user, operator=not user)
        if command == "changes":
            argv = [a for a in (args.source, args.since) if a] + [str(args.limit)]
            reply = dispatch_args(ctx, ["changes", *argv])
        elif command == "diff":
            reply = dispatch_args(ctx, ["diff", args.change_id])
        elif command == "sources":
            reply = dispatch_args(ctx, ["sources"])
        else:
            reply = dispatch(ctx, args.text.removeprefix("/whisperer").strip())
        print(to_text(reply, color=use_color()))
        return EXIT_USAGE if reply.error else EXIT_OK
