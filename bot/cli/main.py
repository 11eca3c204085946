"""`whisperer [--config F] <command>`: the command table, the parser, and the one place errors become exit statuses.

Like pip's command table, each subcommand names the module that implements it, and that module is imported only
when the command runs (or its own `--help` is asked for): `whisperer --help` imports none of them. Each module
has `add_arguments(command, parser)` and `run(args) -> int`.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import os
import re
import sys
from collections.abc import MutableMapping, Sequence
from importlib import import_module
from pathlib import Path
from typing import NamedTuple, TextIO

from bot import __version__
from bot.cli.common import UsageProblem
from bot.cli.exits import EXIT_INTERRUPTED, EXIT_OK, EXIT_STORAGE, EXIT_USAGE
from bot.config.validation import ConfigError


class Command(NamedTuple):
    module: str  # imported only when this command runs
    summary: str


COMMANDS: dict[str, Command] = {
    "demo": Command("bot.cli.service", "run the scripted story against a bundled sample portal (no tokens needed)"),
    "run": Command("bot.cli.service", "run the bot: Socket Mode, HTTP mode (--http), or the terminal without tokens"),
    "doctor": Command("bot.cli.service", "check the config, database, Slack token and scopes, and the alerts channel"),
    "poll": Command("bot.cli.polling", "poll every source now (or one), record changes, queue alerts"),
    "changes": Command("bot.cli.answers", "list recorded changes, newest first"),
    "diff": Command("bot.cli.answers", "show one change in full"),
    "sources": Command("bot.cli.answers", "every source and its health"),
    "ask": Command("bot.cli.answers", 'answer a /whisperer line in the terminal, e.g. whisperer ask "changes"'),
    "certs": Command(
        "bot.cli.knowledge", "certifications: `certs import FILE.csv` loads people and their certificates"
    ),
    "deadlines": Command("bot.cli.knowledge", "every deadline in the next N days; --ics writes a calendar to stdout"),
    "reminders": Command("bot.cli.knowledge", "run the daily reminder sweep now: certification DMs, summaries, lag"),
    "mdf": Command("bot.cli.money", "MDF requests as CSV: `mdf export > mdf.csv`, `mdf import mdf.csv`"),
    "deals": Command("bot.cli.deals", "the opportunity ledger: `deals import FILE.csv`, `deals export [FILE.csv]`"),
    "digest": Command(
        "bot.cli.digest", "the weekly digest: --dry-run prints it; without, queues it for the channel now"
    ),
    "cookies": Command("bot.cli.cookies", "check a cookies.txt file: which cookies expire when (no values shown)"),
    "backup": Command("bot.cli.data", "copy the database into DIR while the bot runs (checked, then renamed)"),
    "restore": Command("bot.cli.data", "put a copy back in place of the database (the bot must be stopped)"),
    "prune": Command("bot.cli.data", "drop old snapshot bodies and old sent alerts, as [retention] says"),
    "db": Command("bot.cli.data", "`db status`: the schema, migrations still to run, and the last backups"),
    "health": Command("bot.cli.health", "exit 0 when the bot is ready (database, schema, scheduler), else 1"),
}


def command_in(argv: Sequence[str]) -> str | None:
    """The subcommand named on the command line, found before parsing (skipping --config and its value)."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--config":
            skip = True
        elif arg == "--":
            continue
        elif not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def build_parser(only: str | None = None, *, every: bool = True) -> argparse.ArgumentParser:
    """The parser: every command listed; the arguments of `only` (or of every command, when none is named)."""
    parser = argparse.ArgumentParser(
        prog="whisperer",
        description="Huawei Whisperer: watches the Huawei Cloud partner programme and tells Slack what changed.",
    )
    parser.add_argument("--config", metavar="FILE", help="config file (default: $WHISPERER_CONFIG or ./whisperer.toml)")
    parser.add_argument("--version", action="version", version=f"whisperer {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    for name, command in COMMANDS.items():
        p = sub.add_parser(name, help=command.summary)
        if name == only or (only is None and every):
            import_module(command.module).add_arguments(name, p)
    return parser


def load_env_files(args: argparse.Namespace, cwd: Path) -> None:
    """`.env` beside the config file first, then the current directory's; neither overrides the environment.

    python-dotenv is imported only when there is a `.env` to read (most runs of a deployed bot have none).
    """
    here = cwd / ".env"
    chosen = args.config or os.environ.get("WHISPERER_CONFIG")
    if not chosen and here.is_file():
        from dotenv import dotenv_values

        chosen = dotenv_values(here).get("WHISPERER_CONFIG")
    beside = Path(chosen or "whisperer.toml").parent / ".env"
    for path in dict.fromkeys((beside.resolve(), here.resolve())):
        if path.is_file():
            from dotenv import load_dotenv

            load_dotenv(path, override=False)
    load_credentials(os.environ)


CREDENTIAL = re.compile(r"(?:env_)?([A-Z][A-Z0-9_]*)")


def load_credentials(env: MutableMapping[str, str]) -> None:
    """systemd's LoadCredential=: each file in $CREDENTIALS_DIRECTORY named NAME (or env_NAME, when a whole
    folder is loaded) sets the variable NAME, unless the environment already has it."""
    folder = env.get("CREDENTIALS_DIRECTORY")
    if not folder or not Path(folder).is_dir():
        return
    for path in sorted(Path(folder).iterdir()):
        match = CREDENTIAL.fullmatch(path.name)
        if match and path.is_file() and match.group(1) not in env:
            with contextlib.suppress(OSError, UnicodeDecodeError):
                env[match.group(1)] = path.read_text(encoding="utf-8").strip()


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    only = command_in(argv)
    parser = build_parser(only, every=False)
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    try:
        if args.command == "poll" and args.ping:
            return _pinged(args)
        return _main(args)
    finally:
        # The interpreter's last full collection would walk every object the command made, only to free memory
        # that the exit frees anyway: ~20 ms after a poll of 2,000 sources. Frozen objects are skipped by it.
        gc.freeze()


def _main(args: argparse.Namespace) -> int:
    try:
        load_env_files(args, Path.cwd())
        status: int = import_module(COMMANDS[args.command].module).run(args)
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
    except BrokenPipeError:
        # `whisperer changes | head -1`: the reader has all it wanted. Point stdout at /dev/null so the
        # interpreter's final flush does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:
        storage = sys.modules.get("storage.db")  # not imported: then no command opened the database
        if storage is not None and isinstance(exc, storage.StorageUnavailable):
            print(f"whisperer: {exc.problem} ({exc.path})\n  fix: {exc.fix}", file=sys.stderr)
            return EXIT_STORAGE
        raise


def _pinged(args: argparse.Namespace) -> int:
    """`poll --ping URL`: URL/start, the poll, then URL (success) or URL/fail with the exit status; the body
    carries the poll's last lines of output and any error, so the ping service shows what happened."""
    from bot.ops.ping import ping

    ping(args.ping, "start")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(_Tee(sys.stdout, out)), contextlib.redirect_stderr(_Tee(sys.stderr, err)):
        status = _main(args)
    lines = (out.getvalue() + err.getvalue()).splitlines()[-20:]
    body = "\n".join([f"exit status {status}", *lines]) + "\n"
    ping(args.ping, "" if status == EXIT_OK else "fail", body)
    return status


class _Tee(io.TextIOBase):
    """Write to the real stream and keep a copy (for the ping's body)."""

    def __init__(self, stream: TextIO, copy: io.StringIO) -> None:
        self.stream, self.copy = stream, copy

    def write(self, text: str) -> int:
        self.copy.write(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return bool(self.stream.isatty())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
