"""What every command module shares: the clock, colour, `--as-of`, and opening the config and the runtime.

Light at import: the config and the runtime are imported when a command opens them, not before.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config.loading import Config
    from bot.process.runtime import Runtime


class UsageProblem(Exception):
    """A mistake on the command line that argparse cannot see (exit status 2, no traceback)."""


def use_color(stream: object = sys.stdout) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ


def real_now() -> datetime:
    return datetime.now(UTC)


def load(args: argparse.Namespace, required: bool) -> Config:
    """The config file (--config, $WHISPERER_CONFIG or ./whisperer.toml); without one, the defaults unless required."""
    from bot.config.loading import MissingConfig, config_path, default_config, load_config

    path = config_path(args.config, os.environ)
    try:
        return load_config(path)
    except MissingConfig:
        if required or args.config:
            raise
        return default_config()


def parse_as_of(text: str | None, config: Config) -> datetime:
    if not text:
        return real_now()
    from handlers.timeparse import parse_date

    day = parse_date(text)
    if day is not None:  # a bare date means that morning in the team's timezone
        return datetime.combine(day, time(9, 0), config.bot.tz)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageProblem(f"--as-of {text!r} is not a date; use YYYY-MM-DD (or an ISO time)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=config.bot.tz)


@contextmanager
def opened(args: argparse.Namespace, required: bool) -> Iterator[tuple[Runtime, datetime]]:
    """The config loaded, the clock read (or `--as-of`), the database opened and synced; closed afterwards."""
    from bot.process.runtime import open_runtime

    config = load(args, required)
    now = parse_as_of(getattr(args, "as_of", None), config)
    runtime = open_runtime(config, now)
    try:
        yield runtime, now
    finally:
        runtime.close()
