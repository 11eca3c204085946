"""A deadline per fetch ([fetch] total_timeout) that a slow-drip server cannot stretch.

A read timeout bounds each socket read, not the sum: a server sending one byte a second never trips it. So one
daemon thread per process shuts the sockets of any fetch still running at its deadline; the blocked read ends at
once and the fetch reports that it hit total_timeout.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import math
import socket
import threading
import time


class Deadline:
    """One fetch's deadline and the sockets it uses; expire() shuts them."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self.finished = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._left: float | None = None  # while paused: what was left of it
        self.outer: Deadline | None = None  # a deadline this one runs inside of, restored when it ends

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            if not self.expired:
                self._sockets.append(sock)
                return
        _shut(sock)

    def pause(self) -> None:
        """Stop the clock: a request that is out while its thread reads another's answer is not waiting on its
        server but on us, so the server is not charged for it (resume() starts the clock again)."""
        with self._lock:
            if self.expired or self.finished or self._left is not None:
                return
            self._left = self.at - time.monotonic()
            self.at = math.inf

    def resume(self) -> None:
        with self._lock:
            if self._left is None:
                return
            self.at = time.monotonic() + self._left
            self._left = None
        _REAPER.add(self)

    def expire(self) -> None:
        with self._lock:
            if self.finished or self.at > time.monotonic():  # paused, or resumed with time left
                return
            self.expired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shut(sock)

    def finish(self) -> None:
        with self._lock:
            self.finished = True
            self._sockets = []


def _shut(sock: socket.socket) -> None:
    # The plain socket's shutdown, even for TLS: it wakes a blocked read without touching the SSL object,
    # which the reading thread is still using.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Reaper:
    """The one thread that expires deadlines, started on first use (never at import)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def add(self, deadline: Deadline) -> None:
        with self._cond:
            heapq.heappush(self._heap, (deadline.at, next(self._order), deadline))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="fetch-deadlines", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is deadline:  # sooner than what the thread sleeps for
                self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                while self._heap and (self._heap[0][2].finished or self._heap[0][0] <= now):
                    _, _, deadline = heapq.heappop(self._heap)
                    deadline.expire()
                self._cond.wait(self._heap[0][0] - now if self._heap else None)


_REAPER = _Reaper()
_active = threading.local()


def start_deadline(seconds: float) -> Deadline:
    """Start a fetch's deadline: sockets this thread opens or uses until end_deadline() are watched."""
    current = begin(seconds)
    current.outer = switch(current)
    return current


def begin(seconds: float) -> Deadline:
    """A fetch's deadline, counting from now, that is not yet this thread's (see `switch`)."""
    current = Deadline(seconds)
    _REAPER.add(current)
    return current


def switch(current: Deadline | None) -> Deadline | None:
    """Make `current` this thread's deadline, returning the one it replaces: a thread with several fetches in
    flight resumes each under its own (its sockets were watched by the one active when they were used)."""
    previous: Deadline | None = getattr(_active, "deadline", None)
    _active.deadline = current
    return previous


def end_deadline(current: Deadline) -> None:
    current.finish()
    _active.deadline = current.outer


def watch(sock: socket.socket | None) -> None:
    """Called by the connection for each socket it opens or reuses: put it under this thread's deadline."""
    current: Deadline | None = getattr(_active, "deadline", None)
    if current is not None and sock is not None:
        current.watch(sock)


def expired() -> bool:
    """Whether this thread's fetch has hit its deadline (its sockets were shut: a failure then is no server's)."""
    current: Deadline | None = getattr(_active, "deadline", None)
    return current is not None and current.expired
