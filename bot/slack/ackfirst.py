"""Acknowledge first: work a listener hands to `after_ack` starts only once the acknowledgement is written.

Bolt runs our listeners on the thread that answers Slack (`process_before_response`), so the ack is whatever
the listener passed to `ack()` when it returns. A listener acks, hands its real work to `after_ack`, and
returns; the WSGI middleware (HTTP mode) or the Socket Mode handler below then writes the ack and only after
that lets the work go. So the ack never waits for a handler, the database or Slack, and it does not share the
processor with the work it announces while it is being written.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from slack_bolt.adapter.socket_mode import SocketModeHandler

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

    from slack_sdk.socket_mode import SocketModeClient
    from slack_sdk.socket_mode.request import SocketModeRequest

log = logging.getLogger("whisperer.slack")

Work = Callable[[], None]
_held = threading.local()

# How long a busy thread may keep the interpreter lock while another waits for it (Python's default is 5 ms).
# Writing an ack takes the lock a few times (read, verify, answer, send); behind answer threads rendering
# replies, each wait was up to 5 ms. 1 ms keeps those waits short; busy threads then switch more often.
SWITCH_INTERVAL = 0.001


def favour_acks() -> None:
    """Let a thread writing an acknowledgement have the interpreter lock sooner (for the whole process)."""
    if sys.getswitchinterval() > SWITCH_INTERVAL:
        sys.setswitchinterval(SWITCH_INTERVAL)


def freeze_startup_heap() -> None:
    """Leave what start-up built (it lives as long as the process) out of every later garbage collection.

    A full collection walks every tracked object with the interpreter lock held: over the bot's start-up heap
    (about 57,000 objects) one took 20-90 ms on the shared 2-core machine, and every ack in flight waited that
    long; after this, under 1 ms. Call once, when the process is built and before it serves (not where the bot
    is embedded, as in tests: what is alive then would never be collected).
    """
    gc.collect()  # what is garbage now would otherwise be kept for good
    gc.freeze()


def after_ack(work: Work) -> None:
    """Start `work` once the acknowledgement of the request being handled on this thread has been written; at
    once when there is none (a listener called outside HTTP or Socket Mode, e.g. by `app.dispatch`)."""
    held: list[Work] | None = getattr(_held, "work", None)
    if held is None:
        work()
    else:
        held.append(work)


@contextlib.contextmanager
def holding() -> Iterator[list[Work]]:
    """Collect what `after_ack` is given on this thread (the caller then runs it with `release`)."""
    previous: list[Work] | None = getattr(_held, "work", None)
    held: list[Work] = []
    _held.work = held
    try:
        yield held
    finally:
        _held.work = previous


def release(held: list[Work]) -> None:
    """Start the held work, in order; each piece only hands itself to a pool, so this is quick."""
    while held:
        work = held.pop(0)
        try:
            work()
        except Exception:  # one piece failing to start must not keep the others (and their pool slots) back
            log.exception("could not start the work for a Slack request")


class AckFirst:
    """WSGI middleware: the work `after_ack` collected while the app ran starts when the server closes the
    response, once the acknowledgement is written (waitress sends as it writes)."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        writes: list[Callable[[bytes], object]] = []

        def starting(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], object]:
            write = start_response(status, headers, exc_info)
            writes.append(write)
            return write

        with holding() as held:
            try:
                body = self.app(environ, starting)
            except BaseException:
                release(held)  # the reserved pool slots are given back by the work itself
                raise
        return _ThenRelease(body, held, writes)


class _ThenRelease:
    """A response body that releases the held work when the server closes it (PEP 3333: always, in a finally)."""

    def __init__(self, body: Iterable[bytes], held: list[Work], writes: list[Callable[[bytes], object]]) -> None:
        self.body = body
        self.held = held
        self.writes = writes

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.body)

    def close(self) -> None:
        try:
            # A server writes the headers with the first non-empty chunk; an empty ack (the usual one) has none,
            # and waitress would write its headers only after this close, i.e. after the work had started.
            # An empty write sends them now (a no-op once they are sent).
            if self.writes:
                self.writes[-1](b"")
            close: Any = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            release(self.held)


class AckFirstSocketModeHandler(SocketModeHandler):
    """Bolt's Socket Mode handler, with the work `after_ack` collected started after the envelope's ack is sent."""

    def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]  # as Bolt
        try:
            with holding() as held:
                super().handle(client, req)
        finally:
            release(held)
