"""Terminal mode: alerts printed to stdout, and `/whisperer …` lines typed on stdin answered there."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from bot.delivery.outbox import Pacer, deliver_alerts
from bot.delivery.sinks import TerminalSink
from bot.delivery.threads import ThreadedSink
from bot.process.runtime import Runtime, make_context
from bot.slack.render import to_text
from handlers.registry import dispatch
from storage.db import StorageUnavailable

QUIT_WORDS = ("quit", "exit")
log = logging.getLogger("whisperer.terminal")


def print_alerts(runtime: Runtime, now: datetime, out: Callable[[str], None] = print) -> int:
    """Print every pending alert once and mark it sent; returns how many were printed."""
    sink = ThreadedSink(TerminalSink(out), runtime.config.bot.thread_hours, runtime.config.bot.tz)
    printed = 0
    while True:  # DMs fanned out to subscribers become due in the same pass; keep going until quiet
        report = deliver_alerts(
            runtime.db,
            sink,
            now,
            tz=runtime.config.bot.tz,
            default_channel=runtime.config.bot.alerts_channel,
            pacer=Pacer(interval=timedelta(0)),
        )
        printed += report.sent
        if report.sent + report.failed == 0:
            return printed


def answer_lines(
    lines: Iterable[str],
    runtime: Callable[[], Runtime],
    clock: Callable[[], datetime],
    out: Callable[[str], None] = print,
    on_effects: Callable[[tuple[str, ...]], None] = lambda effects: None,
) -> bool:
    """Answer each line as `/whisperer` would (the prefix is optional); False if the user typed quit."""
    for line in lines:
        text = line.strip()
        if not text:
            continue
        if text.lower() in QUIT_WORDS:
            return False
        text = text.removeprefix("/whisperer").strip()
        try:
            reply = dispatch(make_context(runtime(), clock(), operator=True), text)
        except StorageUnavailable as exc:  # a full disk refuses this command, not the whole bot
            out(f"! {exc}")
            continue
        except Exception:  # a bug in one answer must not stop the bot that is also delivering alerts
            log.exception("answering %r failed", text)
            out("! Something went wrong while answering that; the details are in the log above.")
            continue
        out(to_text(reply))
        if reply.effects:
            on_effects(reply.effects)
    return True
