"""`whisperer run`: one long-lived process in one of three modes, built once and torn down in order.

Socket Mode when SLACK_APP_TOKEN is set; HTTP mode (`--http`) serving POST /slack/events on waitress;
terminal mode without tokens (alerts on stdout, `/whisperer …` lines from stdin). In every mode the same
scheduler polls the sources and delivers the outbox, and SIGHUP re-reads whisperer.toml.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import FrameType
from typing import Any, TextIO
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
from bot.ops.endpoints import Ops, OpsEndpoints, make_ops_server
from bot.ops.health import Heartbeat
from bot.ops.logs import Redact, sdk_level, setup_logging
from bot.ops.metrics import Metrics
from bot.ops.notify import Notifier
from bot.process import (
    digest,  # noqa: F401  (registers the weekly digest job)
    upkeep,  # noqa: F401  (registers the nightly backup and retention jobs)
)
from bot.process.connections import Connections
from bot.process.lock import RunLock, RunLockError
from bot.process.reminders import run_reminder_sweep
from bot.process.runtime import open_runtime
from bot.process.scheduler import EXTRA_JOBS, ExtraJob, Scheduler, real_now
from bot.slack.ackfirst import freeze_startup_heap
from bot.slack.answers import AnswerPool
from bot.slack.app import (
    EVENTS_PATH,
    HttpServer,
    SlackSettings,
    build_app,
    make_http_server,
    make_socket_handler,
    make_web_client,
    server_address,
    stop_http_server,
)
from handlers.registry import load_commands
from storage.db import file_identity, transaction
from storage.outbox import delivery as blocks
from watchers.fetching.cookies import load_cookies

log = logging.getLogger("whisperer")
EXIT_CONFIG = EXIT_USAGE  # a half-set-up Slack or a held lock: fix the setup (bot/cli/exits.py)
DELIVERY_DEADLINE = 10  # seconds per Slack call from delivery; the first retry of a row comes 10 s later anyway
STOP_GRACE = 5.0  # seconds SIGTERM waits for a Slack post in flight before handing it back

# The reminder sweep runs hourly (at :05, team time) rather than once a day: it is idempotent (each step has
# its own outbox key), so a bot started mid-morning still sends today's reminders, and DMs already wait for
# each holder's working hours in the outbox.
REMINDER_SWEEP = ExtraJob("reminders", run_reminder_sweep, lambda config: CronTrigger(minute=5, timezone=config.bot.tz))


def say(text: str) -> None:
    print(text, flush=True)


@dataclass
class Options:
    http: bool = False
    host: str = "127.0.0.1"
    port: int = 3000
    log_format: str = "text"
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)


__all__ = ["Options", "Redact", "run_bot"]


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
    setup_logging(
        [*settings.secrets(), *config_secrets(config)], fmt=options.log_format, sdk_level=sdk_level(options.env)
    )
    notifier = Notifier(options.env)
    lock = RunLock(config.database)
    try:
        lock.acquire()
    except RunLockError as exc:
        print(f"whisperer: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        runtime = open_runtime(config, clock())  # migrations run here, before anything says "ready"
    except BaseException:
        lock.release()
        raise
    load_commands()  # before anything says ready: the first command (Slack or terminal) pays no imports
    identity = file_identity(config.database)  # jobs stop if this file is later deleted or replaced
    lock.note_identity(identity)
    connections = Connections(runtime, identity)
    answers = AnswerPool()
    scheduler: Scheduler | None = None
    heartbeat = Heartbeat()
    heartbeat.listeners.append(notifier.watchdog)
    ops = Ops(config.database, identity, Metrics(config.database, connections.db), heartbeat)
    ops_server: HttpServer | None = None
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
            connections,
            sink,
            clock=clock,
            extra_jobs=[REMINDER_SWEEP, *EXTRA_JOBS],
            database=identity,
            heartbeat=heartbeat,
            metrics=ops.metrics,
        )
        running = scheduler
        ops.scheduler_running = lambda: running.running

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
        if app is not None:
            freeze_startup_heap()
        scheduler.start()
        if mode != "http" and config.ops.listen is not None:
            ops_server = _start_ops_server(ops, *config.ops.listen)
        if mode == "http" and app is not None:
            _serve_http(app, options, settings.signing_secret or "", ops, notifier)
        elif mode == "socket" and app is not None:
            _serve_socket(app, settings, ops, notifier)
        else:
            notifier.ready("terminal mode")
            _serve_terminal(connections, clock, stdin or sys.stdin, out, on_effects)
        return EXIT_OK
    except SystemExit as stop:  # SIGTERM
        return int(stop.code or 0)
    finally:
        notifier.stopping()
        if ops_server is not None:
            stop_http_server(ops_server)
        if scheduler is not None:
            # Polls in flight are left behind (see leave()); a Slack post in flight gets STOP_GRACE to answer.
            scheduler.shutdown(wait=False, grace=STOP_GRACE)
        answers.shutdown()  # its workers use the connections closed next
        connections.close()
        runtime.close()  # closes the browser, if a source started one
        lock.release()
        log.info("stopped")


def config_secrets(config: Config) -> list[str]:
    """Values from the configuration that must never be logged: header values (tokens, cookies) and the
    cookies in each source's cookies.txt (as they are now; a file is re-read on every poll)."""
    values = [value for spec in config.sources for _, value in spec.headers]
    for spec in config.sources:
        if spec.cookies:
            try:
                values.extend(cookie.value or "" for cookie in load_cookies(spec.cookies))
            except Exception:  # a missing or broken file is the poll's to report; redaction just skips it
                continue
    return values


def leave(status: int) -> int:
    """End `whisperer run` now. A poll's fetch (up to [fetch] total_timeout) or an unanswered Slack call may still
    run on a worker thread, and the interpreter would join those at exit (concurrent.futures does, daemon or
    not); SIGTERM must not wait for them. Nothing is lost: a poll writes each source in one transaction, and a
    handed-back post stays pending. Everything the process opened is closed by now (run_bot's finally)."""
    busy = [t for t in threading.enumerate() if t is not threading.current_thread() and t.is_alive()]
    if busy:
        log.info("leaving %d worker thread(s) behind; their work is redone at the next start", len(busy))
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


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


def _serve_http(app: App, options: Options, signing_secret: str, ops: Ops, notifier: Notifier) -> None:
    server = make_http_server(
        app, signing_secret, options.host, options.port, outer=lambda wsgi: OpsEndpoints(ops, wsgi)
    )
    host, port = server_address(server)
    say(f"HTTP mode: Slack requests on http://{host}:{port}{EVENTS_PATH} (put HTTPS in front of it)")
    say(f"Health and metrics: http://{host}:{port}/livez, /readyz, /metrics")
    notifier.ready(f"HTTP mode on {host}:{port}")
    server.run()  # returns on SIGINT/SIGTERM


def _serve_socket(app: App, settings: SlackSettings, ops: Ops, notifier: Notifier) -> None:
    handler = make_socket_handler(app, settings.app_token or "")
    ops.socket_age = _socket_age(handler.client)
    handler.connect()  # type: ignore[no-untyped-call]
    say("Socket Mode: connected to Slack; no public URL needed.")
    notifier.ready("Socket Mode: connected")
    stopped = threading.Event()
    try:
        while not stopped.wait(1.0):
            pass
    finally:
        handler.close()  # type: ignore[no-untyped-call]


def _socket_age(client: Any) -> Callable[[], float | None]:
    """Seconds since Slack was last heard on the socket: an envelope (hello included) or a pong. The SDK's
    is_connected() can call a dead socket connected, so readiness looks at what actually arrived."""
    heard: list[float] = []

    def on_message(message: str) -> None:
        heard[:] = [time.time()]

    client.on_message_listeners.append(on_message)

    def age() -> float | None:
        pong = getattr(getattr(client, "current_session", None), "last_ping_pong_time", None)
        times = [t for t in (*heard, pong) if t is not None]
        return max(0.0, time.time() - max(times)) if times else None

    return age


def _start_ops_server(ops: Ops, host: str, port: int) -> HttpServer:
    server = make_ops_server(ops, host, port)
    bound_host, bound_port = server_address(server)
    say(f"Health and metrics: http://{bound_host}:{bound_port}/livez, /readyz, /metrics")
    threading.Thread(target=server.run, name="ops-http", daemon=True).start()
    return server


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
