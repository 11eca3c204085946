"""Socket Mode over a real websocket: our tuned slack_sdk client against a local Socket Mode server
(hello, envelope acks, `disconnect` refresh, a connection gone silent, a TCP connection dropped).

The assertions are about cause and order (a reconnect follows the pongs that never came), not about how soon:
bench/socket_reconnect.py measures that against the 10 s goal."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from botserver import BotServer, text_of
from fakeslack import APP_TOKEN, FakeSlack
from fakesocket import SocketServer, SocketSlack
from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.slack.app import make_socket_handler

WAIT = 60.0  # how long the test waits at most for anything: a guard against hanging, never an assertion
NEW_SESSION = "A new session has been established"


@pytest.fixture
def socket_server() -> Iterator[SocketServer]:
    server = SocketServer()
    yield server
    server.stop()


@pytest.fixture
def fake_slack(socket_server: SocketServer) -> Iterator[FakeSlack]:
    """The fake Web API of every other test, plus apps.connections.open pointing at the socket server."""
    fake = SocketSlack(socket_server).start()
    yield fake
    fake.stop()


@pytest.fixture
def handler(bot: BotServer) -> Iterator[SocketModeHandler]:
    socket_handler = make_socket_handler(bot.app, APP_TOKEN)
    socket_handler.connect()  # type: ignore[no-untyped-call]
    yield socket_handler
    socket_handler.close()  # type: ignore[no-untyped-call]


def slash(fake: FakeSlack, text: str, trigger: str) -> dict[str, Any]:
    return {
        "team_id": "T0ACME",
        "channel_id": "C0GENERAL",
        "user_id": "U0USER",
        "command": "/whisperer",
        "text": text,
        "api_app_id": "A0WHISPER",
        "response_url": fake.response_url(trigger),
        "trigger_id": trigger,
    }


def command_round_trip(server: SocketServer, fake: FakeSlack, envelope_id: str) -> None:
    """A slash command envelope is acknowledged over the socket and answered through response_url."""
    server.send_envelope("slash_commands", envelope_id, slash(fake, "help", f"trigger-{envelope_id}"))
    server.wait_for(lambda: any(ack.get("envelope_id") == envelope_id for ack in server.acks), WAIT)
    answer = fake.wait_for(lambda: fake.responses(f"trigger-{envelope_id}"), WAIT)[0]
    assert "/whisperer changes" in text_of(answer)


def said_in_order(caplog: pytest.LogCaptureFixture, cause: str, effect: str) -> bool:
    """Whether slack_sdk logged `cause` and, after it, `effect` (its log lines come in the order of events)."""
    lines = [record.getMessage() for record in caplog.records]
    causes = [n for n, line in enumerate(lines) if cause in line]
    return bool(causes) and any(effect in line for line in lines[causes[0] + 1 :])


def test_socket_mode_acks_envelopes_and_reconnects_after_refresh_and_dead_connections(
    socket_server: SocketServer, fake_slack: FakeSlack, handler: SocketModeHandler, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    server = socket_server
    server.wait_for(lambda: server.connections, WAIT)
    command_round_trip(server, fake_slack, "env-1")

    # Slack rotates connections with a `disconnect` message: a new connection, and commands keep working.
    server.refresh()
    server.wait_for(lambda: len(server.connections) == 2, WAIT)
    command_round_trip(server, fake_slack, "env-2")

    # The connection dies silently (no close frame, no FIN): the client's pings go unanswered, it gives the
    # connection up as stale for want of a pong, and only then opens a new one.
    dead = server.current()
    server.go_silent()
    server.wait_for(lambda: len(server.connections) == 3 and dead.closed_at is not None, WAIT)
    assert dead.unanswered > 0  # pings the dead line swallowed (counted up to its close, in order)
    # The new session is logged once the client has it (a moment after the server accepted the connection).
    server.wait_for(lambda: said_in_order(caplog, "The connection seems to be stale", NEW_SESSION), WAIT)
    command_round_trip(server, fake_slack, "env-3")

    # The TCP connection is torn down with no websocket close frame: the next ping fails on the broken
    # connection, and the client replaces it after that.
    caplog.clear()
    server.drop()
    server.wait_for(lambda: len(server.connections) == 4, WAIT)
    server.wait_for(lambda: said_in_order(caplog, "Failed to check the state of sock", NEW_SESSION), WAIT)
    command_round_trip(server, fake_slack, "env-4")

    assert len(fake_slack.calls_to("apps.connections.open")) == 4  # one URL per connection: 3 reconnects
    assert server.connections[1].pings > 0  # the client does ping (that is how it notices a dead line)
