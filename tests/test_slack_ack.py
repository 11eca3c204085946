"""Acknowledgements that never wait: Slack's request is acknowledged before any handler runs, and nothing
before the ack touches the database. These tests assert order and cause, never how long anything took
(bench/command_latency.py measures that)."""

from __future__ import annotations

import gc
import logging
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from botserver import USER, BotServer, text_of, write_config
from conftest import NOW
from fakeslack import APP_TOKEN, FakeSlack
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from test_native_clicks import SOURCES, buttons, click, posted_change
from waitress.server import create_server

from bot.config.loading import load_config
from bot.slack.ackfirst import AckFirst, after_ack, freeze_startup_heap
from bot.slack.answers import AnswerPool
from bot.slack.app import make_socket_handler, server_address, stop_http_server
from bot.slack.once import DUPLICATE_HEADER
from storage.team import people
from storage.watching import sources as state

WAIT = 60.0  # how long a held handler waits for the test before giving up (a guard, never an assertion)


class HeldClock:
    """The bot's injected clock. Once `hold()` is called, every handler that asks it the time (so does the stored
    duplicate check) waits until the test lets go; each call from then on is recorded in `events`, with the
    thread that made it."""

    def __init__(self, events: list[str] | None = None) -> None:
        self.events = events if events is not None else []
        self.threads: list[str] = []
        self.open = threading.Event()
        self.open.set()  # the bot asks the time as it starts, on the test's own thread
        self.watching = False
        self._lock = threading.Lock()

    def hold(self) -> None:
        self.watching = True
        self.open.clear()

    def __call__(self) -> datetime:
        with self._lock:
            if self.watching:
                self.events.append("handler asked the time")
                self.threads.append(threading.current_thread().name)
        if not self.open.wait(WAIT):
            raise AssertionError("the test never let the clock go")
        return NOW

    def let_go(self) -> None:
        self.open.set()


@pytest.fixture
def clock() -> HeldClock:
    return HeldClock()


@pytest.fixture
def held_bot(tmp_path: Path, fake_slack: FakeSlack, clock: HeldClock) -> Iterator[BotServer]:
    """A bot whose handlers cannot finish until the test lets its clock go."""
    bot = BotServer(load_config(write_config(tmp_path, SOURCES), env={}), fake_slack, clock=clock)
    clock.hold()
    yield bot
    clock.let_go()
    bot.stop()


def test_a_command_is_acknowledged_while_its_handler_cannot_run(held_bot: BotServer, clock: HeldClock) -> None:
    response, trigger = held_bot.command("subscribe policy")
    # The ack came back although every handler is stuck on the clock: it did not wait for one.
    assert (response.status_code, response.text) == (200, "")
    assert held_bot.fake.responses(trigger) == []
    assert people.subscriptions_of(held_bot.db, USER) == []
    clock.let_go()
    assert "Subscribed" in text_of(held_bot.answer(trigger))
    # The handler ran on the answer pool, never on the thread that wrote the ack.
    assert clock.threads and all(name.startswith("answer") for name in clock.threads)


def test_a_click_and_the_home_tab_are_acknowledged_before_they_are_handled(
    held_bot: BotServer, clock: HeldClock, fake_slack: FakeSlack
) -> None:
    _, message = posted_change(held_bot)  # delivered directly, with its own time
    trigger = click(held_bot, buttons(message)["subscribe"], message=message)  # asserts the 200
    event = {"type": "app_home_opened", "user": "U0ALICE", "channel": "D0HOME", "tab": "home"}
    assert held_bot.event(event, "Ev0HELD").status_code == 200
    assert fake_slack.responses(trigger) == [] and fake_slack.calls_to("views.publish") == []
    clock.let_go()
    assert "Subscribed" in text_of(fake_slack.wait_for(lambda: fake_slack.responses(trigger))[0])
    fake_slack.wait_for(lambda: fake_slack.calls_to("views.publish"))
    assert all(name.startswith("answer") for name in clock.threads)


def test_nothing_before_the_ack_touches_the_database(bot: BotServer) -> None:
    """Another process holds the database's write lock: the command is still acknowledged, and acted on once the
    lock is let go (the duplicate check and the handler, which write, wait for it after the ack)."""
    holder = sqlite3.connect(bot.runtime.config.database, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        response, trigger = bot.command("subscribe policy", user="U0ALICE")
        assert (response.status_code, response.text) == (200, "")
        assert bot.fake.responses(trigger) == []
        assert bot.db.execute("SELECT COUNT(*) FROM handled_requests").fetchone()[0] == 0
        holder.execute("COMMIT")
    finally:
        holder.close()
    assert "Subscribed" in text_of(bot.answer(trigger))
    assert people.subscriptions_of(bot.db, "U0ALICE") == ["policy"]
    assert bot.db.execute("SELECT key FROM handled_requests").fetchall() == [(f"trigger:{trigger}",)]


def test_socket_mode_sends_the_envelope_ack_before_any_handler_runs(tmp_path: Path, fake_slack: FakeSlack) -> None:
    events: list[str] = []
    clock = HeldClock(events)
    bot = BotServer(load_config(write_config(tmp_path), env={}), fake_slack, clock=clock)
    clock.watching = True  # nothing held: this test is about the order of what happens
    handler = make_socket_handler(bot.app, APP_TOKEN)

    class Socket:
        """Slack's end of the websocket: records each envelope ack in the same list as the clock's calls."""

        logger = logging.getLogger("test.socket")

        def send_socket_mode_response(self, response: SocketModeResponse) -> None:
            events.append(f"ack {response.envelope_id}")

    try:
        slash = {
            "team_id": "T0ACME",
            "user_id": USER,
            "command": "/whisperer",
            "text": "help",
            "response_url": fake_slack.response_url("sock-order"),
            "trigger_id": "sock-order",
        }
        handler.handle(Socket(), SocketModeRequest("slash_commands", "env-1", slash))  # type: ignore[arg-type]
        assert "/whisperer changes" in text_of(fake_slack.wait_for(lambda: fake_slack.responses("sock-order"))[0])
        assert events[0] == "ack env-1" and "handler asked the time" in events[1:]
    finally:
        handler.client.close()  # type: ignore[no-untyped-call]
        bot.stop()


def test_a_retry_after_a_restart_is_acknowledged_and_not_acted_on_again(tmp_path: Path, fake_slack: FakeSlack) -> None:
    """The ack path knows only this process's requests; the stored check, after the ack, knows the rest."""
    config = load_config(write_config(tmp_path), env={})
    admin_line = "source add notices feed https://example.com/notices.xml policy 1h"
    first = BotServer(config, fake_slack)
    try:
        _, trigger = first.command(admin_line, user="U0ADMIN")
        assert "Now watching" in text_of(first.answer(trigger))
    finally:
        first.stop()
    again = BotServer(config, fake_slack, pool=AnswerPool(threads=1))  # one worker: answers go in order
    try:
        retry, _ = again.command(
            admin_line, user="U0ADMIN", trigger=trigger, headers={"X-Slack-Retry-Num": "2", "X-Slack-Retry-Reason": "x"}
        )
        assert retry.status_code == 200 and DUPLICATE_HEADER not in retry.headers  # this process never saw it
        again.ask("sources")  # answered after the retry was dealt with (one worker)
        assert len(fake_slack.responses(trigger)) == 1
        assert [s["id"] for s in state.stored_specs(again.db, "slack")] == ["notices"]
        repeat, _ = again.command(admin_line, user="U0ADMIN", trigger=trigger)
        assert repeat.headers[DUPLICATE_HEADER] == "1"  # and now it is known in memory too
    finally:
        again.stop()


# ── the mechanism, as a WSGI server drives it ──


def serve(app: Callable[..., Iterable[bytes]], events: list[str]) -> None:
    """What a WSGI server does with one request: call the app, write its body, close it (PEP 3333). As waitress
    does, the status goes out with the first bytes written (or an empty write), else when the response ends."""
    status: list[str] = []

    def write(data: bytes) -> None:
        if len(status) == 1:
            status.append("sent")
            events.append(f"status {status[0]}")
        if data:
            events.append(f"wrote {data.decode()}")

    def start_response(line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        status.append(line)
        return write

    body = app({"PATH_INFO": "/slack/events", "REQUEST_METHOD": "POST"}, start_response)
    try:
        for chunk in body:
            if chunk:
                write(chunk)
    finally:
        close: Any = getattr(body, "close", None)
        if close is not None:
            close()
    write(b"")


def test_work_handed_to_after_ack_starts_once_the_ack_is_written() -> None:
    events: list[str] = []

    def listener(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        after_ack(lambda: events.append("work started"))
        events.append("listener returned")
        start_response("200 OK", [])
        return [b"ack"]

    serve(AckFirst(listener), events)
    assert events == ["listener returned", "status 200 OK", "wrote ack", "work started"]
    after_ack(lambda: events.append("outside a request: at once"))
    assert events[-1] == "outside a request: at once"


def test_an_empty_ack_is_written_before_the_work_starts() -> None:
    """An empty body (Bolt's answer to a plain `ack()`) writes nothing, so the status would go out last."""
    events: list[str] = []

    def listener(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        after_ack(lambda: events.append("work started"))
        start_response("200 OK", [("Content-Length", "0")])
        return [b""]

    serve(AckFirst(listener), events)
    assert events == ["status 200 OK", "work started"]


def test_work_is_still_started_when_the_app_fails() -> None:
    """A reserved answer slot is given back by the work itself, so the work must start even then."""
    events: list[str] = []

    def failing(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        after_ack(lambda: events.append("work started"))
        raise RuntimeError("the listener broke")

    with pytest.raises(RuntimeError):
        serve(AckFirst(failing), events)
    assert events == ["work started"]
    after_ack(lambda: events.append("and the next request is not held"))
    assert events[-1] == "and the next request is not held"


def test_an_empty_ack_has_reached_the_client_when_the_work_starts() -> None:
    """waitress writes the headers of an empty body only after the server closes it, i.e. after the work was
    let go; AckFirst writes them first. The work here runs on the server's own thread and waits for the client
    to have read the ack: were the ack still unwritten, it would wait in vain."""
    acked, done = threading.Event(), threading.Event()
    seen: list[bool] = []

    def work() -> None:
        seen.append(acked.wait(WAIT))
        done.set()

    def listener(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        after_ack(work)
        start_response("200 OK", [("Content-Length", "0")])
        return [b""]  # Bolt's adapter answers an empty ack so

    server = create_server(AckFirst(listener), host="127.0.0.1", port=0, threads=1)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        host, port = server_address(server)
        response = httpx.post(f"http://{host}:{port}/slack/events", content=b"", timeout=WAIT * 2)
        acked.set()
        assert done.wait(WAIT)
        assert (response.status_code, response.content, seen) == (200, b"", [True])
    finally:
        stop_http_server(server)
        thread.join(WAIT)


def test_the_start_up_heap_is_left_out_of_later_collections() -> None:
    """`whisperer run` freezes what it built before it serves: a full collection does not walk it again (so an
    object that dies later in a cycle stays), and what was garbage already is collected, not kept for good."""

    class Node:
        other: Node | None = None

    garbage, kept = Node(), Node()
    garbage.other, kept.other = garbage, kept  # cycles: only the collector frees them
    was_garbage, was_kept = weakref.ref(garbage), weakref.ref(kept)
    del garbage
    try:
        freeze_startup_heap()
        del kept
        gc.collect()
        assert was_garbage() is None and was_kept() is not None
    finally:
        gc.unfreeze()
    gc.collect()
    assert was_kept() is None
