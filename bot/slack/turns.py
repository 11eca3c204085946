"""Turns at the processor for the answer pool: one answer computes at a time, first come, first served.

Eight answers computing at once finish no sooner under the interpreter lock, and every thread that wants the lock
makes the others wait for it: an ack needs it a few times (read, verify, answer, send), and behind eight busy
answer threads each of those waits was up to eight switch intervals long. A thread waiting for its turn waits on
its own event instead, which costs the interpreter nothing. The holder keeps the turn through a short wait for
Slack (a local answer is back in a millisecond), and lends it to the next in line once the wait has lasted
`lend_after`, so answers still wait for a slow Slack side by side.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

# A response_url post or Web API call that has not come back after this long is a network wait: the next answer
# in line may compute meanwhile. Slack answers in tens of milliseconds, so its waits are lent after this much
# (2, 5 and 10 ms made no difference to the benchmark's acks; the least delays the answers behind the least).
LEND_AFTER = 0.002
# An answer that has waited this long for its turn computes anyway: one that holds the turn while it waits on
# something other than Slack (the database's write lock, a DNS lookup for `source add`) delays the others by at
# most this much. At most seven answers are in line (the pool has eight threads), a few milliseconds each.
PATIENCE = 0.25


class Turns:
    """Who may compute now: `take()` before, `give()` after, `lend()` before waiting on the network."""

    def __init__(
        self,
        lend_after: float = LEND_AFTER,
        patience: float = PATIENCE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lend_after = lend_after
        self.patience = patience
        self.clock = clock
        self._lock = threading.Lock()  # guards the fields below
        self._owner: int | None = None
        self._lent_since: float | None = None  # when the owner started waiting on the network
        self._line: deque[tuple[int, threading.Event]] = deque()

    @property
    def waiting(self) -> int:
        """How many threads are in line for the turn."""
        with self._lock:
            return len(self._line)

    def take(self) -> bool:
        """Wait for the turn, in order of arrival: True once this thread has it; False after `patience` (the
        caller computes anyway). A thread back from a short lent wait still has it."""
        me = threading.get_ident()
        with self._lock:
            if self._owner == me:
                self._lent_since = None
                return True
            if self._owner is None and not self._line:
                self._owner = me
                return True
            bell = threading.Event()
            place = (me, bell)
            self._line.append(place)
        give_up = self.clock() + self.patience
        while True:
            with self._lock:
                bell.clear()
                if self._owner == me:  # handed over by `give`
                    return True
                now = self.clock()
                first = self._line[0] is place
                if first and self._lent_since is not None and now - self._lent_since >= self.lend_after:
                    self._line.popleft()
                    self._owner, self._lent_since = me, None  # the owner finds it gone when its wait ends
                    return True
                if now >= give_up:
                    self._line.remove(place)
                    self._ring_first()  # a new first in line times the lend from now
                    return False
                until = give_up
                if first and self._lent_since is not None:
                    until = min(until, self._lent_since + self.lend_after)
            bell.wait(max(until - now, 0.0))

    def give(self) -> None:
        """Done computing: the turn goes to the first in line (nothing to give if this thread does not have it)."""
        with self._lock:
            if self._owner != threading.get_ident():
                return
            self._lent_since = None
            if self._line:
                self._owner, bell = self._line.popleft()
                bell.set()
            else:
                self._owner = None

    def lend(self) -> bool:
        """About to wait on the network: after `lend_after` the first in line may take the turn. True if this
        thread had it (it then calls `take()` when the wait is over)."""
        with self._lock:
            if self._owner != threading.get_ident():
                return False
            self._lent_since = self.clock()
            self._ring_first()
            return True

    def _ring_first(self) -> None:
        if self._line:
            self._line[0][1].set()
