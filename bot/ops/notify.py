"""systemd's notify protocol with the standard library: datagrams to $NOTIFY_SOCKET (READY=1, WATCHDOG=1, …).

With `Type=notify` systemd waits for READY=1 (sent once migrations ran and Slack is connected), and with
`WatchdogSec=` it restarts the bot when WATCHDOG=1 stops coming; those are sent on the scheduler's heartbeat,
at most every half of $WATCHDOG_USEC. Outside systemd (no NOTIFY_SOCKET) every call does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping

log = logging.getLogger("whisperer.systemd")


class Notifier:
    def __init__(self, env: Mapping[str, str] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        env = os.environ if env is None else env
        address = env.get("NOTIFY_SOCKET", "")
        # "@name" is an abstract socket (a leading NUL byte on Linux)
        self.address = "\0" + address[1:] if address.startswith("@") else address
        usec = env.get("WATCHDOG_USEC", "")
        watchdog_pid = env.get("WATCHDOG_PID", "")
        for_us = not watchdog_pid or watchdog_pid == str(os.getpid())
        self.watchdog_every = int(usec) / 2e6 if usec.isdigit() and int(usec) > 0 and for_us else None
        self.clock = clock
        self._last_watchdog: float | None = None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def send(self, *fields: str) -> bool:
        """Send `KEY=value` lines as one datagram; False (logged once at debug) when it cannot be sent."""
        if not self.address:
            return False
        message = "\n".join(fields).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self.address)
                sock.sendall(message)
        except OSError as exc:
            log.debug("could not notify systemd at %s: %s", self.address, exc)
            return False
        return True

    def ready(self, status: str = "") -> bool:
        return self.send("READY=1", *([f"STATUS={status}"] if status else []))

    def stopping(self) -> bool:
        return self.send("STOPPING=1")

    def watchdog(self) -> bool:
        """WATCHDOG=1, if systemd asked for it and half its interval has passed since the last one."""
        if self.watchdog_every is None:
            return False
        now = self.clock()
        with self._lock:
            if self._last_watchdog is not None and now - self._last_watchdog < self.watchdog_every:
                return False
            self._last_watchdog = now
        return self.send("WATCHDOG=1")
