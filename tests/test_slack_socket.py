"""Socket Mode: the same listeners, fed envelopes as the websocket would deliver them (no connection is opened)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from botserver import BotServer, text_of
from fakeslack import APP_TOKEN, FakeSlack
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.slack.app import make_socket_handler


class Socket:
    """Slack's end of the websocket: records the envelope acknowledgements our handler sends back."""

    logger = logging.getLogger("test.socket")

    def __init__(self) -> None:
        self.sent: list[SocketModeResponse] = []

    def send_socket_mode_response(self, response: SocketModeResponse) -> None:
        self.sent.append(response)


@pytest.fixture
def handler(bot: BotServer) -> Iterator[SocketModeHandler]:
    socket_handler = make_socket_handler(bot.app, APP_TOKEN)  # ours: the work starts after the envelope's ack
    yield socket_handler
    socket_handler.client.close()


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


def test_a_command_over_the_socket_is_acknowledged_and_answered(
    bot: BotServer, handler: SocketModeHandler, fake_slack: FakeSlack
) -> None:
    socket = Socket()
    handler.handle(socket, SocketModeRequest("slash_commands", "env-1", slash(fake_slack, "help", "sock-1")))  # type: ignore[arg-type]
    assert [r.envelope_id for r in socket.sent] == ["env-1"]  # acknowledged before handle() returned
    answer = fake_slack.wait_for(lambda: fake_slack.responses("sock-1"))[0]
    assert answer["response_type"] == "ephemeral" and "/whisperer changes" in text_of(answer)


def test_a_redelivered_event_acts_once(bot: BotServer, handler: SocketModeHandler, fake_slack: FakeSlack) -> None:
    socket = Socket()
    event = {
        "type": "event_callback",
        "team_id": "T0ACME",
        "api_app_id": "A0WHISPER",
        "event_id": "Ev0SOCK",
        "event": {"type": "app_home_opened", "user": "U0ALICE", "tab": "home"},
    }
    handler.handle(socket, SocketModeRequest("events_api", "env-1", event))  # type: ignore[arg-type]
    fake_slack.wait_for(lambda: fake_slack.calls_to("views.publish"))
    again = SocketModeRequest("events_api", "env-2", event, retry_attempt=1, retry_reason="timeout")
    handler.handle(socket, again)  # type: ignore[arg-type]
    handler.handle(socket, SocketModeRequest("slash_commands", "env-3", slash(fake_slack, "sources", "sock-2")))  # type: ignore[arg-type]
    fake_slack.wait_for(lambda: fake_slack.responses("sock-2"))
    assert [r.envelope_id for r in socket.sent] == ["env-1", "env-2", "env-3"]  # every envelope acknowledged
    assert len(fake_slack.calls_to("views.publish")) == 1
