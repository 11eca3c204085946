"""The answer pool: slow follow-ups to a Slack request (response_url posts, views.publish) run here, not on
Bolt's listener threads, so a hung response_url can never keep the next command from being acknowledged.
Its threads take turns at the processor (bot/slack/turns.py): one answer computes at a time, so the threads
acknowledging the next commands contend for the interpreter lock with one busy thread, not eight.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from slack_sdk.errors import SlackRequestError
from slack_sdk.webhook import WebhookClient

from bot.slack.turns import Turns

log = logging.getLogger("whisperer.slack")

ANSWER_THREADS = 8
ANSWER_BACKLOG = 32  # queued beyond the running ones; past this, new commands are told "busy, try again"
# A response_url post that takes longer than this is given up (logged): Slack answers in well under a
# second, and a worker held longer only delays the answers queued behind it.
RESPONSE_TIMEOUT = 10


class AnswerPool:
    """A bounded thread pool: `reserve()` a slot before acknowledging, then `run()` the work in it. The work holds
    the pool's turn at the processor while it runs, except inside `waiting()`."""

    def __init__(
        self, threads: int = ANSWER_THREADS, backlog: int = ANSWER_BACKLOG, turns: Turns | None = None
    ) -> None:
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="answer")
        self._limit = threads + backlog
        self._taken = 0
        self._lock = threading.Lock()
        self.turns = turns or Turns()

    def reserve(self) -> bool:
        """Take a slot without waiting; False when the pool and its backlog are full."""
        with self._lock:
            if self._taken >= self._limit:
                return False
            self._taken += 1
            return True

    def run(self, work: Callable[[], None]) -> None:
        """Run `work` in a slot taken with `reserve()`; the slot is given back when it ends, however it ends."""

        def guarded() -> None:
            self.turns.take()
            try:
                work()
            except Exception:
                log.exception("a Slack follow-up failed")
            finally:
                self.turns.give()
                self._give_back()

        try:
            self._executor.submit(guarded)
        except RuntimeError:  # shut down while a request was in flight: nothing will answer it
            self._give_back()

    def submit(self, work: Callable[[], None]) -> bool:
        """`reserve()` and `run()` in one; False (and nothing run) when full."""
        if not self.reserve():
            return False
        self.run(work)
        return True

    def push(self, work: Callable[[], None]) -> None:
        """Queue `work` even when full (a click: one person's deliberate act, with no "busy" to show them);
        it takes a slot all the same, so commands arriving behind it are told "busy" sooner."""
        with self._lock:
            self._taken += 1
        self.run(work)

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Around a wait for Slack (a post, a Web API call): the next answer computes meanwhile, unless the wait
        is short; this one takes its turn back after."""
        lent = self.turns.lend()
        try:
            yield
        finally:
            if lent:
                self.turns.take()

    def _give_back(self) -> None:
        with self._lock:
            self._taken -= 1

    def shutdown(self) -> None:
        """Drop what has not started and wait for what has (each Slack call has its own deadline); call this
        before closing the database connections the work uses."""
        self._executor.shutdown(wait=True, cancel_futures=True)


def post_response(url: str, message: dict[str, Any], timeout: int = RESPONSE_TIMEOUT) -> bool:
    """POST a reply to a command's response_url with a deadline; False (logged, no traceback) if it failed."""
    try:
        response = WebhookClient(url=url, timeout=timeout).send_dict(message)
    except (OSError, SlackRequestError) as exc:  # timeouts and refused connections are OSErrors
        log.warning("could not post an answer to Slack's response_url: %s", exc)
        return False
    if response.status_code != 200:
        log.warning("Slack refused an answer posted to response_url: HTTP %s %s", response.status_code, response.body)
        return False
    return True
