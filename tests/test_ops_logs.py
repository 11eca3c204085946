"""JSON logs with nothing secret in them, and SIGTERM during delivery: exit 0 quickly, nothing posted twice."""

from __future__ import annotations

import io
import json
import logging
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from botserver import CHANNEL, text_of, write_config
from conftest import FixtureServer, Response
from fakeslack import SECRET, FakeSlack, hang, sign, slash_body
from test_slack_process import Bot, alerts, clean_env, setup_change, wait_until

from bot.ops.logs import log_context, setup_logging

COOKIE = "sessionid=c00k1e-VALUE-4242"
HEADER = "Bearer portal-api-key-0123456789"
STOP_WITHIN = 10.0  # the acceptance bound for SIGTERM → exit


@pytest.fixture
def bots() -> Iterator[list[Bot]]:
    started: list[Bot] = []
    yield started
    for bot in started:
        bot.close()


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def json_lines(text: str) -> list[dict[str, str]]:
    entries = []
    for line in text.splitlines():
        if line.startswith("{"):
            entries.append(json.loads(line))
    return entries


def test_json_lines_carry_context_and_redact_tokens_secrets_cookies_and_header_values(restore_logging: None) -> None:
    stream = io.StringIO()
    token = "xoxb-1234567890-abcdefghijkl"
    setup_logging([SECRET, HEADER], stream=stream, fmt="json")
    log = logging.getLogger("whisperer.test")
    with log_context(source="policy", job="poll:policy"):
        log.warning("fetch failed with %s and Cookie: %s", HEADER, COOKIE)
    with log_context(event="Ev0123"):
        log.info("signed with %s by %s", SECRET, token)
    try:
        raise ValueError(f"token {token} in a traceback")
    except ValueError:
        log.exception("boom")
    logging.getLogger("slack_sdk.web").debug("request headers: Authorization: Bearer %s", token)  # below WARNING

    text = stream.getvalue()
    for value in (token, SECRET, COOKIE, "c00k1e-VALUE", HEADER):
        assert value not in text
    first, second, third = json_lines(text)
    assert set(first) == {"ts", "level", "logger", "msg", "source", "job"}
    assert (first["level"], first["logger"], first["source"], first["job"]) == (
        "WARNING",
        "whisperer.test",
        "policy",
        "poll:policy",
    )
    assert first["msg"] == "fetch failed with …(redacted) and Cookie: …(redacted)"
    assert second["event"] == "Ev0123" and "source" not in second and "xoxb-…(redacted)" in second["msg"]
    assert third["level"] == "ERROR" and "ValueError" in third["exc"] and "xoxb-…(redacted)" in third["exc"]


def test_json_logs_of_a_running_bot_hold_no_token_or_cookie(
    tmp_path: Path, server: FixtureServer, fake_slack: FakeSlack, bots: list[Bot]
) -> None:
    # The portal answers with a reason phrase that quotes the cookie back: the poll logs it as the error.
    server.routes["/portal.html"] = Response(
        raw=f"HTTP/1.1 500 Rejected {COOKIE}\r\nContent-Length: 0\r\n\r\n".encode()
    )
    sources = (
        f'[[sources]]\nid = "portal"\nkind = "html"\nurl = "{server.url("/portal.html")}"\nevery = "1m"\n'
        'headers = { Cookie = "${PORTAL_COOKIE}", Authorization = "${PORTAL_KEY}" }\n'
    )
    config = write_config(tmp_path, sources)
    env = clean_env(
        SLACK_BOT_TOKEN=fake_slack.token,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake_slack.api_url,
        PORTAL_COOKIE=COOKIE,
        PORTAL_KEY=HEADER,
        WHISPERER_LOG_FORMAT="json",
        WHISPERER_LOG_SDK="debug",  # slack_sdk at DEBUG logs its requests, token and all
    )
    bot = Bot(["--config", str(config), "run", "--http", "--port", "0"], tmp_path, env)
    bots.append(bot)
    bot.line(r'"source": "portal"', stream="err", timeout=30)  # the poll's failure, tagged with its source
    # Slack retries a command (same body, X-Slack-Retry-Num): the line about it carries Slack's id for it.
    url = bot.line(r"Slack requests on (http://127\.0\.0\.1:\d+/slack/events)").group(1)
    body = slash_body("help", "U0USER", fake_slack.response_url("t-9"), "trigger-9")
    headers = {**sign(body), "Content-Type": "application/x-www-form-urlencoded"}
    assert httpx.post(url, content=body, headers=headers, timeout=10).status_code == 200
    retry = httpx.post(url, content=body, headers={**headers, "X-Slack-Retry-Num": "1"}, timeout=10)
    assert retry.headers.get("x-whisperer-duplicate") == "1"
    bot.line(r'"event": "trigger-9"', stream="err")
    assert bot.stop() == 0
    logs = "\n".join(bot.err)
    entries = json_lines(logs)
    assert entries and all({"ts", "level", "logger", "msg"} <= set(e) for e in entries)
    assert any(e["logger"].startswith("slack_sdk") for e in entries)  # the SDK did log (asked for DEBUG)
    [failure] = [e for e in entries if e.get("source") == "portal" and e["level"] == "WARNING"][:1]
    assert "500" in failure["msg"] and "…(redacted)" in failure["msg"] and failure["job"] == "poll:portal"
    for value in (fake_slack.token, SECRET, COOKIE, "c00k1e-VALUE-4242", HEADER):
        assert value not in logs, value


def test_sigterm_during_an_unanswered_post_exits_0_promptly_and_nothing_is_posted_twice(
    tmp_path: Path, server: FixtureServer, fake_slack: FakeSlack, bots: list[Bot]
) -> None:
    config = setup_change(tmp_path, server)
    env = clean_env(SLACK_BOT_TOKEN=fake_slack.token, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=fake_slack.api_url)
    args = ["--config", str(config), "run", "--http", "--port", "0"]
    fake_slack.fail_next("chat.postMessage", hang())  # Slack takes the post and does not answer …
    first = Bot(args, tmp_path, env)
    bots.append(first)
    fake_slack.wait_for(lambda: [c for c in fake_slack.calls_to("chat.postMessage") if c.outcome == "hung"], 20)
    asked = time.monotonic()
    first.proc.send_signal(signal.SIGTERM)  # … while the bot is told to stop
    assert first.proc.wait(STOP_WITHIN + 5) == 0
    assert time.monotonic() - asked < STOP_WITHIN
    assert any("handed back" in line for line in first.err)
    fake_slack.release()
    [row] = alerts(tmp_path)
    assert row["status"] == "pending"  # handed back, not lost and not marked sent
    assert fake_slack.posts() == []

    second = Bot(args, tmp_path, env)
    bots.append(second)
    [post] = fake_slack.wait_for(lambda: fake_slack.posts(CHANNEL), 20)
    assert "v3.3.0" in text_of(post)
    wait_until(lambda: alerts(tmp_path)[0]["status"] == "sent", what="the alert marked sent")
    assert second.stop() == 0
    assert len(fake_slack.posts()) == 1
