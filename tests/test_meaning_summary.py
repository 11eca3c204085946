"""The optional machine summary: a real local chat-completions endpoint (up, down, hanging, hostile), the bot's
alerts through the fake Slack. The alert never waits for the summary; the summary is labelled and inert."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from botserver import CHANNEL, BotServer, text_of, write_config
from conftest import FixtureServer, Response
from fakeslack import FakeSlack
from test_meaning_events import deliver_all

from bot.config.loading import load_config
from bot.delivery.sinks import SlackSink
from bot.delivery.summaries import Summariser
from bot.delivery.threads import ThreadedSink
from bot.process.connections import Connections
from bot.process.runtime import open_runtime, poll
from bot.process.scheduler import Scheduler
from bot.slack.app import make_web_client
from storage.db import open_db
from storage.watching import sources as state
from storage.watching import summaries as cache

PAGE = "<html><body><main><p>Cloud consumption growth must be at least {n}% year on year.</p></main></body></html>"
SOURCE = """
[[sources]]
id = "policy"
kind = "html"
url = "{url}/policy.html"
selector = "main"
topic = "policy"
"""


class ChatEndpoint:
    """An OpenAI-compatible chat-completions server on a loopback address; `answer` says what it does."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.answer = "The growth threshold rose from 20% to 25% year on year."
        self.mode = "up"  # up | hang
        self.seen: list[dict[str, Any]] = []
        self.asked = threading.Event()
        self.release = threading.Event()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                endpoint.seen.append({"body": body, "auth": self.headers.get("Authorization")})
                endpoint.asked.set()
                if endpoint.mode == "hang":
                    endpoint.release.wait(30)
                    self.send_response(503)
                    self.end_headers()
                    return
                data = json.dumps({"choices": [{"message": {"role": "assistant", "content": endpoint.answer}}]})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data.encode())

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/v1/chat/completions"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint() -> Iterator[ChatEndpoint]:
    chat = ChatEndpoint()
    yield chat
    chat.close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bot_with_summary(tmp_path: Path, fake_slack: FakeSlack, server: FixtureServer, url: str) -> BotServer:
    summary = f'[summary]\nurl = "{url}"\nmodel = "local-model"\napi_key = "${{LLM_API_KEY}}"\ntimeout = 5\n'
    path = write_config(tmp_path, SOURCE.format(url=server.url("")), extra=summary)
    return BotServer(load_config(path, env={"LLM_API_KEY": "sk-local-test"}), fake_slack)


def change_the_page(bot: BotServer, server: FixtureServer, at: datetime) -> None:
    server.routes["/policy.html"] = Response(200, PAGE.format(n=20).encode(), {})
    poll(bot.runtime, at)
    server.routes["/policy.html"] = Response(200, PAGE.format(n=25).encode(), {})
    poll(bot.runtime, at + timedelta(minutes=1))


def summarise(bot: BotServer, now: datetime) -> int:
    config = bot.runtime.config
    assert config.summary is not None
    sink = ThreadedSink(SlackSink(bot.client), config.bot.thread_hours, config.bot.tz)
    summariser = Summariser(config.summary, config.fetch.network)
    try:
        return summariser.run(bot.db, now, sink)
    finally:
        summariser.close()


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC)


def test_with_the_endpoint_up_the_summary_is_added_labelled_and_asked_once(
    tmp_path: Path, fake_slack: FakeSlack, server: FixtureServer, endpoint: ChatEndpoint, now: datetime
) -> None:
    bot = bot_with_summary(tmp_path, fake_slack, server, endpoint.url)
    try:
        change_the_page(bot, server, now)
        deliver_all(bot, now + timedelta(minutes=1))
        [post] = fake_slack.posts(CHANNEL)
        assert "machine summary" not in text_of(post)  # posted at once, without waiting for it
        assert summarise(bot, now + timedelta(minutes=1)) == 1
        [update] = fake_slack.updates()
        assert "🤖 *machine summary*: The growth threshold rose from 20% to 25% year on year." in text_of(update)
        [request] = endpoint.seen
        assert request["auth"] == "Bearer sk-local-test" and request["body"]["model"] == "local-model"
        assert "at least 25% year on year" in request["body"]["messages"][1]["content"]  # page text is sent
        assert summarise(bot, now + timedelta(minutes=2)) == 0 and len(endpoint.seen) == 1  # cached per diff
    finally:
        bot.stop()


@pytest.mark.parametrize(
    ("answer", "gone"),
    [
        ("<!channel> Growth rose to 25%.", "<!channel>"),
        ("Growth rose to 25%, see https://evil.example/phish or <https://evil.example|here>.", "evil.example"),
        ("Growth rose to 25% @here <@U0ADMIN>", "@here"),
    ],
)
def test_a_hostile_summary_stays_inert(
    tmp_path: Path,
    fake_slack: FakeSlack,
    server: FixtureServer,
    endpoint: ChatEndpoint,
    now: datetime,
    answer: str,
    gone: str,
) -> None:
    endpoint.answer = answer
    bot = bot_with_summary(tmp_path, fake_slack, server, endpoint.url)
    try:
        change_the_page(bot, server, now)
        deliver_all(bot, now + timedelta(minutes=1))
        assert summarise(bot, now + timedelta(minutes=1)) == 1
        text = text_of(fake_slack.updates()[-1])
        assert "machine summary" in text and "Growth rose to 25%" in text
        assert gone not in text and "<@" not in text and "<!" not in text and "https://" not in text
    finally:
        bot.stop()


def test_with_the_endpoint_down_the_alert_stands_without_it(
    tmp_path: Path, fake_slack: FakeSlack, server: FixtureServer, now: datetime
) -> None:
    bot = bot_with_summary(tmp_path, fake_slack, server, f"http://127.0.0.1:{closed_port()}/v1/chat/completions")
    try:
        change_the_page(bot, server, now)
        deliver_all(bot, now + timedelta(minutes=1))
        assert len(fake_slack.posts(CHANNEL)) == 1
        assert summarise(bot, now + timedelta(minutes=1)) == 0
        assert fake_slack.updates() == []
        [row] = bot.db.execute("SELECT text, error FROM machine_summaries").fetchall()
        assert row[0] is None and "did not answer" in row[1]
    finally:
        bot.stop()


def test_with_the_endpoint_hanging_the_alert_posts_meanwhile(
    tmp_path: Path, fake_slack: FakeSlack, server: FixtureServer, endpoint: ChatEndpoint, now: datetime
) -> None:
    endpoint.mode = "hang"
    bot = bot_with_summary(tmp_path, fake_slack, server, endpoint.url)
    try:
        change_the_page(bot, server, now)
        results: list[int] = []
        config = bot.runtime.config
        assert config.summary is not None
        summariser = Summariser(config.summary, config.fetch.network)

        def run() -> None:  # on its own connection, as the scheduler's job thread is
            own = open_db(config.database)
            try:
                results.append(summariser.run(own, now + timedelta(minutes=1)))
            finally:
                own.conn.close()

        worker = threading.Thread(target=run)
        worker.start()
        assert endpoint.asked.wait(10)  # the endpoint has the request and is sitting on it
        deliver_all(bot, now + timedelta(minutes=1))
        assert len(fake_slack.posts(CHANNEL)) == 1 and worker.is_alive()  # posted while the summary hangs
        endpoint.release.set()
        worker.join(10)
        assert results == [0] and fake_slack.updates() == []
        summariser.close()
    finally:
        bot.stop()


def test_the_summary_request_obeys_the_network_policy(
    tmp_path: Path, fake_slack: FakeSlack, server: FixtureServer, now: datetime
) -> None:
    other = ChatEndpoint("127.0.0.2")  # "another host": not in [fetch] allow_private
    bot = bot_with_summary(tmp_path, fake_slack, server, other.url)
    try:
        change_the_page(bot, server, now)
        assert summarise(bot, now + timedelta(minutes=1)) == 0
        assert other.seen == []
        [row] = bot.db.execute("SELECT error FROM machine_summaries").fetchall()
        assert "allow_private" in row[0]
        assert cache.cached_summary(bot.db, "nothing") is None
    finally:
        bot.stop()
        other.close()


@pytest.mark.parametrize("mode", ["up", "hang"])
def test_the_running_bot_posts_at_once_and_adds_the_summary_when_it_comes(
    tmp_path: Path, fake_slack: FakeSlack, server: FixtureServer, endpoint: ChatEndpoint, mode: str
) -> None:
    endpoint.mode = mode
    server.routes["/policy.html"] = Response(200, PAGE.format(n=20).encode(), {})
    summary = f'[summary]\nurl = "{endpoint.url}"\nmodel = "m"\ntimeout = 30\n'
    source = SOURCE.format(url=server.url("")) + 'every = "1s"\n'
    config = load_config(write_config(tmp_path, source, extra=summary), env={})
    runtime = open_runtime(config, datetime.now(UTC))
    connections = Connections(runtime)
    sink = ThreadedSink(SlackSink(make_web_client(fake_slack.token, fake_slack.api_url)), 24, UTC)
    scheduler = Scheduler(connections, sink)
    try:
        scheduler.start()
        assert "summaries" in scheduler.job_ids()
        fake_slack.wait_for(lambda: (state.get_source(runtime.db, "policy") or {}).get("last_status") == "new")
        server.routes["/policy.html"] = Response(200, PAGE.format(n=25).encode(), {})
        [post] = fake_slack.wait_for(lambda: fake_slack.posts(CHANNEL))
        assert "machine summary" not in text_of(post)
        if mode == "up":
            [update] = fake_slack.wait_for(fake_slack.updates)
            assert "machine summary" in text_of(update) and "20% to 25%" in text_of(update)
        else:
            assert endpoint.asked.wait(10) and fake_slack.updates() == []  # posted while the endpoint sits on it
    finally:
        endpoint.release.set()
        scheduler.shutdown()
        connections.close()
        runtime.close()
