"""Our bot in HTTP mode, in this process: the real Bolt app on waitress (127.0.0.1, port 0) in a thread,
talking to the fake Slack. Requests are signed the way Slack signs them."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from conftest import ALLOW_LOOPBACK  # test servers listen on 127.0.0.1; the policy refuses it unless listed
from fakeslack import SECRET, FakeSlack, sign, slash_body

from bot.config.loading import Config, load_config
from bot.process.connections import Connections
from bot.process.runtime import Runtime, open_runtime
from bot.slack.answers import AnswerPool
from bot.slack.app import (
    build_app,
    make_http_server,
    make_web_client,
    real_now,
    server_address,
    stop_http_server,
)
from storage.db import file_identity

ADMIN = "U0ADMIN"
USER = "U0USER"
CHANNEL = "C0ALERTS"


def write_config(
    tmp_path: Path, sources: str = "", channel: str = CHANNEL, extra: str = "", fetch: str = ALLOW_LOOPBACK
) -> Path:
    path = tmp_path / "whisperer.toml"
    path.write_text(
        f'[bot]\ndatabase = "whisperer.db"\nalerts_channel = "{channel}"\nadmins = ["{ADMIN}"]\n'
        f'timezone = "Asia/Jakarta"\n{extra}\n{fetch}\n{sources}',
        encoding="utf-8",
    )
    return path


class BotServer:
    def __init__(
        self,
        config: Config,
        fake: FakeSlack,
        pool: AnswerPool | None = None,
        clock: Callable[[], datetime] = real_now,
    ) -> None:
        self.fake = fake
        self.clock = clock
        self.runtime: Runtime = open_runtime(config, clock())
        self.connections = Connections(self.runtime, file_identity(config.database))
        self.effects: list[tuple[str, ...]] = []
        self.pool = pool or AnswerPool()
        self.client = make_web_client(fake.token, fake.api_url)
        self.app = build_app(
            self.connections, self.client, SECRET, on_effects=self.effects.append, pool=self.pool, clock=clock
        )
        self.server = make_http_server(self.app, SECRET, "127.0.0.1", 0)
        host, port = server_address(self.server)
        self.url = f"http://{host}:{port}/slack/events"
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        self.http = httpx.Client(timeout=10)
        self._triggers = itertools.count(1)

    @property
    def db(self) -> Any:
        return self.runtime.db

    def post(self, body: str, content_type: str, headers: dict[str, str] | None = None) -> httpx.Response:
        signed = {**sign(body), "Content-Type": content_type, **(headers or {})}
        return self.http.post(self.url, content=body.encode(), headers=signed)

    def command(
        self, text: str, user: str = USER, trigger: str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[httpx.Response, str]:
        """Send a signed `/whisperer text`; returns the HTTP answer and the response_url name to wait on."""
        trigger = trigger or f"trigger-{next(self._triggers)}"
        body = slash_body(text, user, self.fake.response_url(trigger), trigger)
        return self.post(body, "application/x-www-form-urlencoded", headers), trigger

    def answer(self, trigger: str) -> dict[str, Any]:
        """The reply posted to the command's response_url (waits for it, bounded)."""
        return self.fake.wait_for(lambda: self.fake.responses(trigger))[0]

    def ask(self, text: str, user: str = USER) -> dict[str, Any]:
        response, trigger = self.command(text, user)
        assert response.status_code == 200, response.text
        return self.answer(trigger)

    def event(self, event: dict[str, Any], event_id: str, headers: dict[str, str] | None = None) -> httpx.Response:
        body = json.dumps(
            {
                "token": "legacy-verification-token",
                "team_id": "T0ACME",
                "api_app_id": "A0WHISPER",
                "type": "event_callback",
                "event_id": event_id,
                "event_time": 1764100000,
                "event": event,
            }
        )
        return self.post(body, "application/json", headers)

    def stop(self) -> None:
        self.http.close()
        stop_http_server(self.server)
        self.thread.join(timeout=10)
        self.fake.release()  # hung Slack calls return, so the answer pool can finish before the database closes
        self.pool.shutdown()
        self.connections.close()
        self.runtime.close()


def text_of(message: dict[str, Any]) -> str:
    """Everything a person would read in a Block Kit message, as one string."""
    parts = [str(message.get("text", ""))]
    for block in message.get("blocks") or []:
        if isinstance(block, str):
            block = json.loads(block)
        if "text" in block:
            parts.append(str(block["text"].get("text", "")))
        for element in block.get("elements", []):
            parts.append(str(element.get("text", "")))
    return "\n".join(parts)


def form(**fields: str) -> str:
    return urlencode(fields)


@pytest.fixture
def make_bot(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[Any]:
    made: list[BotServer] = []

    def make(sources: str = "", channel: str = CHANNEL) -> BotServer:
        config = load_config(write_config(tmp_path, sources, channel), env={})
        bot = BotServer(config, fake_slack)
        made.append(bot)
        return bot

    yield make
    for bot in made:
        bot.stop()


@pytest.fixture
def bot(make_bot: Any) -> BotServer:
    server: BotServer = make_bot()
    return server
