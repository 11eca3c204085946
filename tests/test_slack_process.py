"""`whisperer run` as a real process: killed with SIGKILL mid-delivery, restarted, reloaded, stopped."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TypeVar

import httpx
import pytest
from botserver import ADMIN, CHANNEL, text_of, write_config
from conftest import FixtureServer, Response
from fakeslack import SECRET, FakeSlack, hang, sign, slash_body

from bot.cli.main import main
from storage.db import open_db
from storage.outbox import alerts as outbox

T = TypeVar("T")
PAGE = "<html><body><main>Cross-cloud policy v{}</main></body></html>"


def wait_until(predicate: Callable[[], T], timeout: float = 20.0, what: str = "") -> T:
    """A bounded wait for state outside the fake (a database row, a line of output)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout}s waiting for {what or predicate}")
        time.sleep(0.05)


class Bot:
    """`python -m bot run …` in a subprocess, its output collected line by line."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str], stdin: bool = False) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self.readers = [
            threading.Thread(target=self._read, args=(stream, lines), daemon=True)
            for stream, lines in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))
        ]
        for reader in self.readers:
            reader.start()

    @staticmethod
    def _read(stream: IO[str] | None, lines: list[str]) -> None:
        assert stream is not None
        for line in stream:
            lines.append(line.rstrip("\n"))

    def line(self, pattern: str, stream: str = "out", timeout: float = 20.0) -> re.Match[str]:
        lines = self.out if stream == "out" else self.err

        def found() -> re.Match[str] | None:
            for line in list(lines):
                match = re.search(pattern, line)
                if match:
                    return match
            if self.proc.poll() is not None and not [ln for ln in lines if re.search(pattern, ln)]:
                raise AssertionError(f"the bot exited ({self.proc.returncode}): {self.err[-5:]}")
            return None

        return wait_until(found, timeout, f"{pattern!r} in std{stream}")

    def send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        for reader in self.readers:
            reader.join(10)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "WHISPERER_"))}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


@pytest.fixture
def bots() -> Iterator[list[Bot]]:
    started: list[Bot] = []
    yield started
    for bot in started:
        bot.close()


def setup_change(tmp_path: Path, server: FixtureServer) -> Path:
    """A config with one source, and a change recorded by `whisperer poll` (as cron would run it)."""
    server.routes["/policy.html"] = Response(200, PAGE.format("3.2.1").encode(), {"Content-Type": "text/html"})
    sources = f'[[sources]]\nid = "policy"\nkind = "html"\nurl = "{server.url("/policy.html")}"\nevery = "1h"\n'
    config = write_config(tmp_path, sources)
    assert main(["--config", str(config), "poll"]) == 0
    server.routes["/policy.html"] = Response(200, PAGE.format("3.3.0").encode(), {"Content-Type": "text/html"})
    assert main(["--config", str(config), "poll"]) == 0
    return config


def alerts(tmp_path: Path) -> list[dict[str, object]]:
    db = open_db(tmp_path / "whisperer.db", upgrade=False)
    try:
        return outbox.list_alerts(db)
    finally:
        db.conn.close()


def test_killed_between_change_and_delivery_then_restarted_delivers_exactly_once(
    tmp_path: Path, server: FixtureServer, fake_slack: FakeSlack, bots: list[Bot]
) -> None:
    config = setup_change(tmp_path, server)
    [pending] = alerts(tmp_path)
    assert pending["status"] == "pending"
    env = clean_env(SLACK_BOT_TOKEN=fake_slack.token, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=fake_slack.api_url)
    args = ["--config", str(config), "run", "--http", "--port", "0"]

    fake_slack.fail_next("chat.postMessage", hang())  # the post never comes back …
    first = Bot(args, tmp_path, env)
    bots.append(first)
    fake_slack.wait_for(lambda: [c for c in fake_slack.calls_to("chat.postMessage") if c.outcome == "hung"], 20)
    first.proc.kill()  # … because the process dies (SIGKILL: no clean-up at all)
    assert first.proc.wait(10) == -signal.SIGKILL
    fake_slack.release()
    [still] = alerts(tmp_path)
    assert (still["status"], still["attempts"]) == ("pending", 1)  # counted before the post went out
    assert still["attempt_started_at"]  # … and marked unanswered: the restart looks before posting
    assert fake_slack.posts() == []

    second = Bot(args, tmp_path, env)
    bots.append(second)
    [post] = fake_slack.wait_for(lambda: fake_slack.posts(CHANNEL), 20)
    assert "v3.3.0" in text_of(post)
    wait_until(lambda: alerts(tmp_path)[0]["status"] == "sent", what="the alert marked sent")

    # The same process answers signed slash commands on the port it printed.
    url = second.line(r"Slack requests on (http://127\.0\.0\.1:\d+/slack/events)").group(1)
    body = slash_body("changes", ADMIN, fake_slack.response_url("t-1"), "t-1")
    headers = {**sign(body), "Content-Type": "application/x-www-form-urlencoded"}
    assert httpx.post(url, content=body, headers=headers, timeout=10).status_code == 200
    listed = text_of(fake_slack.wait_for(lambda: fake_slack.responses("t-1"))[0])
    assert "Cross-cloud policy: v3.2.1 → v3.3.0" in listed

    # One `whisperer run` per database.
    refused = subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2
    assert "another `whisperer run`" in refused.stderr and "WHISPERER_DB" in refused.stderr

    # SIGHUP re-reads whisperer.toml.
    with config.open("a", encoding="utf-8") as handle:
        handle.write('\n[[sources]]\nid = "news"\nkind = "feed"\nurl = "https://portal.example/feed.xml"\n')
    second.proc.send_signal(signal.SIGHUP)
    second.line(r"configuration reloaded: 2 sources scheduled \(added news\)", stream="err")

    assert second.stop() == 0
    assert len(fake_slack.posts()) == 1  # exactly once, across the kill and the restart
    assert [a["status"] for a in alerts(tmp_path)] == ["sent"]
    logs = "\n".join(first.err + second.err)
    assert fake_slack.token not in logs and SECRET not in logs


def test_terminal_mode_prints_alerts_and_answers_stdin(tmp_path: Path, server: FixtureServer, bots: list[Bot]) -> None:
    config = setup_change(tmp_path, server)
    bot = Bot(["--config", str(config), "run"], tmp_path, clean_env(), stdin=True)
    bots.append(bot)
    bot.line(r"Terminal mode \(no Slack tokens\)")
    bot.line(rf"\[alert → {CHANNEL}\]")
    bot.line(r"Cross-cloud policy v3\.3\.0")
    bot.send("/whisperer sources")
    bot.line(r"1 sources, all healthy")
    bot.send("diff 99")
    bot.line(r"There is no change #99")
    bot.send("quit")
    assert bot.proc.wait(20) == 0
    assert [a["status"] for a in alerts(tmp_path)] == ["sent"]


@pytest.fixture(autouse=True)
def _no_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # main() reads ./.env; keep the developer's own out of these tests


def test_a_rejected_token_stops_the_bot_at_start_with_the_fix(tmp_path: Path, fake_slack: FakeSlack) -> None:
    config = write_config(tmp_path)
    env = clean_env(SLACK_BOT_TOKEN="xoxb-revoked-0000", SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=fake_slack.api_url)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "run", "--http", "--port", "0"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Slack did not accept SLACK_BOT_TOKEN (invalid_auth)" in result.stderr
    assert "Bot User OAuth Token" in result.stderr and "xoxb-revoked-0000" not in result.stderr + result.stdout
    [call] = fake_slack.calls_to("auth.test")
    assert call.outcome == "error:invalid_auth"
