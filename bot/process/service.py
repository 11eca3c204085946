"""`whisperer run`: one long-lived process in one of three modes, built once and torn down in order.

Socket Mode when SLACK_APP_TOKEN is set; HTTP mode (`--http`) serving POST /slack/events on waitress;
terminal mode without tokens (alerts on stdout, `/whisperer …` lines from stdin). In every mode the same
scheduler polls the sources and delivers the outbox, and SIGHUP re-reads whisperer.toml.
"""

from __future__ import annotations

import logging
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from types import FrameType
from typing import TextIO
from urllib.error import URLError

from apscheduler.triggers.cron import CronTrigger
from slack_bolt import App
from slack_bolt.error import BoltError
from slack_sdk.errors import SlackApiError

from bot.cli.exits import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from bot.cli.terminal import answer_lines
from bot.config.loading import Config
from bot.delivery.sinks import Sink, SlackSink, TerminalSink
from bot.delivery.threads import ThreadedSink
from bot.process import (
    digest,  # noqa: F401  (registers the weekly digest job)
    upkeep,  # noqa: F401  (registers the nightly backup and retention jobs)
)
from bot.process.connections import Connections
from bot.process.lock import RunLock, RunLockError
from bot.process.reminders import run_reminder_sweep
from bot.process.runtime import open_runtime
from bot.process.scheduler import EXTRA_JOBS, ExtraJob, Scheduler, real_now
from bot.slack.answers import AnswerPool
from bot.slack.app import (
    EVENTS_PATH,
    SlackSettings,
    build_app,
    make_http_server,
    make_socket_handler,
    make_web_client,
    server_address,
)
from storage import delivery as blocks
from storage.db import file_identity, transaction

log = logging.getLogger("whisperer")
EXIT_CONFIG = EXIT_USAGE  # a half-set-up Slack or a held lock: fix the setup (bot/cli/exits.py)
DELIVERY_DEADLINE = 10  # seconds per Slack call from delivery; the first retry of a row comes 10 s later anyway
_TOKEN = re.compile(r"\b(xox[abposr]|xapp)-[A-Za-z0-9-]+")

# The reminder sweep runs hourly (at :05, team time) rather than once a day: it is idempotent (each step has
# its own outbox key), so a bot started mid-morning still sends today's reminders, and DMs already wait for
# each holder's working hours in the outbox.
REMINDER_SWEEP = ExtraJob("reminders", run_reminder_sweep, lambda config: CronTrigger(minute=5, timezone=config.bot.tz))


class Redact(logging.Filter):
    """Last line of defence: no token or secret reaches a log line, whoever logs it."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if len(s) >= 8)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = _TOKEN.sub(lambda m: f"{m.group(1)}-…(redacted)", message)
        for secret in self.secrets:
            clean = clean.replace(secret, "…(redacted)")
        if clean != message:
            record.msg, record.args = clean, None
        return True


def setup_logging(secrets: Iterable[str] = (), stream: TextIO | None = None, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S"))
    handler.addFilter(Redact(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("apscheduler", "slack_sdk", "slack_bolt", "waitress.queue"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def say(text: str) -> None:
    print(text, flush=True)


@dataclass
class Options:
    http: bool = False
    host: str = "127.0.0.1"
    port: int = 3000


def run_bot(
    config: Config,
    settings: SlackSettings,
    options: Options,
    *,
    stdin: TextIO | None = None,
    clock: Callable[[], datetime] = real_now,
) -> int:
    """Run until SIGTERM/SIGINT (or `quit` in the terminal); returns the exit status."""
    mode = settings.mode(options.http)  # ConfigError for a half-configured Slack: the CLI prints it
    setup_logging(settings.secrets())
    lock = RunLock(config.database)
    try:
        lock.acquire()
    except RunLockError as exc:
        print(f"whisperer: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        runtime = open_runtime(config, clock())
    except BaseException:
        lock.release()
        raise
    identity = file_identity(config.database)  # jobs stop if this file is later deleted or replaced
    lock.note_identity(identity)
    connections = Connections(runtime, identity)
    answers = AnswerPool()
    scheduler: Scheduler | None = None
    try:
        with transaction(runtime.db):
            blocks.clear_blocks(runtime.db, clock())  # a fresh start tries every target again
        sink: Sink
        app: App | None = None
        out = _locked(say)  # one writer for the alert thread and the command loop
        if mode == "terminal":
            sink = ThreadedSink(TerminalSink(out), config.bot.thread_hours, config.bot.tz)
        else:
            client = make_web_client(settings.bot_token, settings.api_url)
            # Delivery has its own client: a deadline well under the retry backoff, and no SDK sleeping on a
            # 429 (that would hold a worker); delivery holds only that target, from when Slack answered.
            delivery_client = make_web_client(
                settings.bot_token, settings.api_url, rate_limit_retries=0, timeout=DELIVERY_DEADLINE
            )
            sink = ThreadedSink(SlackSink(delivery_client), config.bot.thread_hours, config.bot.tz)
        scheduler = Scheduler(
            connections, sink, clock=clock, extra_jobs=[REMINDER_SWEEP, *EXTRA_JOBS], database=identity
        )

        def on_effects(effects: tuple[str, ...]) -> None:
            if "reload-sources" in effects and scheduler is not None:
                scheduler.sync_jobs()

        if mode != "terminal":
            try:
                app = build_app(
                    connections,
                    client,
                    settings.signing_secret or "",
                    clock=clock,
                    on_effects=on_effects,
                    pool=answers,
                )
            except (BoltError, SlackApiError) as exc:
                print(
                    f"whisperer: Slack did not accept SLACK_BOT_TOKEN ({_slack_error(exc)})\n"
                    "  fix: copy OAuth & Permissions → Bot User OAuth Token (xoxb-…) into .env; "
                    "`whisperer doctor` checks it",
                    file=sys.stderr,
                )
                return EXIT_CONFIG
            except URLError as exc:
                print(f"whisperer: cannot reach Slack at {settings.api_url} ({exc.reason})", file=sys.stderr)
                return EXIT_FAILED
        _install_signals(scheduler)
        scheduler.start()
        if mode == "http" and app is not None:
            _serve_http(app, options, settings.signing_secret or "")
        elif mode == "socket" and app is not None:
            _serve_socket(app, settings)
        else:
            _serve_terminal(connections, clock, stdin or sys.stdin, out, on_effects)
        return EXIT_OK
    except SystemExit as stop:  # SIGTERM
        return int(stop.code or 0)
    finally:
        if scheduler is not None:
            scheduler.shutdown()
        answers.shutdown()  # its workers use the connections closed next
        connections.close()
        runtime.close()
        lock.release()
        log.info("stopped")


def _slack_error(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error", "error"))
    return str(exc).splitlines()[0]


def _locked(out: Callable[[str], None]) -> Callable[[str], None]:
    """The delivery thread and the command loop share stdout; keep each message whole."""
    lock = threading.Lock()

    def write(text: str) -> None:
        with lock:
            out(text)

    return write


def _install_signals(scheduler: Scheduler) -> None:
    if threading.current_thread() is not threading.main_thread():
        return  # embedded (tests): the host process owns its signals

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    def reload(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=scheduler.reload, name="reload", daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, reload)


def _serve_http(app: App, options: Options, signing_secret: str) -> None:
    server = make_http_server(app, signing_secret, options.host, options.port)
    host, port = server_address(server)
    say(f"HTTP mode: Slack requests on http://{host}:{port}{EVENTS_PATH} (put HTTPS in front of it)")
    server.run()  # returns on SIGINT/SIGTERM


def _serve_socket(app: App, settings: SlackSettings) -> None:
    handler = make_socket_handler(app, settings.app_token or "")
    handler.connect()  # type: ignore[no-untyped-call]
    say("Socket Mode: connected to Slack; no public URL needed.")
    stopped = threading.Event()
    try:
        while not stopped.wait(1.0):
            pass
    finally:
        handler.close()  # type: ignore[no-untyped-call]


def _serve_terminal(
    connections: Connections,
    clock: Callable[[], datetime],
    stdin: TextIO,
    out: Callable[[str], None],
    on_effects: Callable[[tuple[str, ...]], None],
) -> None:
    out("Terminal mode (no Slack tokens): alerts print here. Type /whisperer help (the prefix is optional), or quit.")
    if not answer_lines(iter(stdin.readline, ""), connections.runtime, clock, out, on_effects):
        return
    if stdin.isatty():
        return  # Ctrl-D at a prompt means "done"
    log.info("stdin closed; still polling and printing alerts until stopped (Ctrl-C or SIGTERM)")
    forever = threading.Event()
    while not forever.wait(1.0):  # a timed wait, so SIGTERM's handler runs promptly
        pass
