"""HTTP mode under pressure and abuse: hung response_urls, full answer pools, and requests Bolt could not parse."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from botserver import USER, BotServer, text_of, write_config
from fakeslack import SECRET, FakeSlack, hang, sign, slash_body

from bot.config.loading import load_config
from bot.slack.answers import AnswerPool
from bot.slack.app import BUSY, quiet_queue_warnings
from bot.slack.gate import MAX_BODY
from bot.slack.once import DUPLICATE_HEADER

FORM = "application/x-www-form-urlencoded"
# Only so that an ack that never comes fails the test instead of hanging it: these tests assert that acks do not
# wait for hung answers (cause), not how soon they come (bench/command_latency.py measures that).
HANG_GUARD = 60.0


def send(bot: BotServer, body: bytes, headers: dict[str, str]) -> httpx.Response:
    with httpx.Client(timeout=HANG_GUARD) as client:
        return client.post(bot.url, content=body, headers=headers)


def signed(body: bytes, **extra: str) -> dict[str, str]:
    """Slack's signature over raw bytes (fakeslack.sign takes text, and these bodies need not be UTF-8)."""
    timestamp = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": f"v0={digest}", "Content-Type": FORM, **extra}


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []


def test_24_concurrent_commands_are_acknowledged_while_response_url_hangs(bot: BotServer) -> None:
    bot.fake.hang_responses()

    def command(n: int) -> int:
        body = slash_body("help", USER, bot.fake.response_url(f"hung-{n}"), f"trigger-hung-{n}")
        return send(bot, body.encode(), {**sign(body), "Content-Type": FORM}).status_code

    with ThreadPoolExecutor(max_workers=24) as senders:
        statuses = list(senders.map(command, range(24)))
    # Every one acknowledged while the answers were stuck on the hung response_url (none was answered yet).
    assert statuses == [200] * 24
    stuck = bot.fake.calls_to("response_url")
    assert stuck and {call.outcome for call in stuck} == {"hung"}
    bot.fake.hang_responses(False)
    bot.fake.release()
    assert "/whisperer changes" in text_of(bot.ask("help"))  # and the pool recovers once Slack answers again


def not_busy(bot: BotServer) -> str | None:
    """Send `help`; its trigger if it was accepted, None if the pool still said busy (its slot frees a moment
    after the answer it was posting arrived)."""
    response, trigger = bot.command("help")
    return None if BUSY in response.text else trigger


def test_a_full_answer_pool_acknowledges_with_busy(tmp_path: Path, fake_slack: FakeSlack) -> None:
    config = load_config(write_config(tmp_path), env={})
    bot = BotServer(config, fake_slack, pool=AnswerPool(threads=1, backlog=1))
    try:
        fake_slack.hang_responses()
        first, _ = bot.command("help")
        fake_slack.wait_for(lambda: fake_slack.calls_to("response_url"))  # the one worker is now stuck
        second, second_trigger = bot.command("help")  # waits in the backlog
        third, third_trigger = bot.command("help")
        assert (first.status_code, second.status_code, third.status_code) == (200, 200, 200)
        assert (first.text, second.text) == ("", "")
        assert BUSY in third.text  # told at once, while the other two are stuck, instead of never
        fake_slack.hang_responses(False)
        fake_slack.release()
        bot.answer(second_trigger)  # the backlog drains once Slack answers again
        later = fake_slack.wait_for(lambda: not_busy(bot))
        assert "/whisperer changes" in text_of(bot.answer(later))
        assert fake_slack.responses(third_trigger) == []  # the busy one was not answered later as well
    finally:
        bot.stop()


def test_hung_home_tab_publishes_do_not_hold_commands(bot: BotServer) -> None:
    bot.fake.fail_next("views.publish", *[hang() for _ in range(12)])
    event = {"type": "app_home_opened", "user": "U0ALICE", "channel": "D0HOME", "tab": "home"}
    for n in range(12):
        assert bot.event(event, f"Ev0HUNG{n}").status_code == 200
    body = slash_body("help", USER, bot.fake.response_url("after-hung-home"), "trigger-after-hung-home")
    assert send(bot, body.encode(), {**sign(body), "Content-Type": FORM}).status_code == 200
    bot.fake.release()


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"command=%2Fwhisperer&text=\xff\xfe", "not UTF-8"),
        (b"command=%2Fwhisperer&text=%FF", "not valid form encoding"),
        (b"command=%2Fwhisperer&text", "not valid form encoding"),
        (b"payload=%7Bnot-json", "'payload' field is not valid JSON"),
        (b'{"type": "event_callback",', "JSON body is not valid JSON"),
    ],
)
def test_malformed_bodies_are_refused_with_400(
    bot: BotServer, caplog: pytest.LogCaptureFixture, body: bytes, problem: str
) -> None:
    response = send(bot, body, signed(body))
    assert response.status_code == 400
    assert problem in response.text
    no_tracebacks(caplog)


def test_unsigned_garbage_is_refused_with_401_before_it_is_read(
    bot: BotServer, caplog: pytest.LogCaptureFixture
) -> None:
    garbage = b"\xff\xfe\x00 not a slack request"
    assert send(bot, garbage, {"Content-Type": FORM}).status_code == 401
    forged = {**signed(garbage), "X-Slack-Signature": "v0=" + "0" * 64}
    assert send(bot, garbage, forged).status_code == 401
    bad_time = {**signed(garbage), "X-Slack-Request-Timestamp": "yesterday"}
    assert send(bot, garbage, bad_time).status_code == 401
    no_tracebacks(caplog)


def test_oversized_bodies_are_refused_with_413(bot: BotServer, caplog: pytest.LogCaptureFixture) -> None:
    text = "x" * (MAX_BODY + 1)
    body = slash_body(text, USER, bot.fake.response_url("huge"), "trigger-huge").encode()
    response = send(bot, body, signed(body))
    assert response.status_code == 413
    assert bot.fake.calls_to("response_url") == []
    assert "/whisperer changes" in text_of(bot.ask("help"))  # the server carries on
    no_tracebacks(caplog)


def without(field: str, body: str) -> str:
    fields = dict(pair.split("=", 1) for pair in body.split("&"))
    fields.pop(field)
    return "&".join(f"{k}={v}" for k, v in fields.items())


def test_a_command_without_response_url_is_answered_in_the_ack(bot: BotServer) -> None:
    body = without("response_url", slash_body("help", USER, "unused", "trigger-no-url"))
    response = bot.post(body, FORM)
    assert response.status_code == 200
    ack = response.json()
    assert ack["response_type"] == "ephemeral"
    assert "/whisperer changes" in text_of(ack)
    assert bot.fake.calls_to("response_url") == []


def test_a_command_without_trigger_id_is_still_acted_on_once(bot: BotServer) -> None:
    body = without("trigger_id", slash_body("subscribe policy", "U0ALICE", bot.fake.response_url("no-trig"), "x"))
    headers = {**sign(body), "Content-Type": FORM}
    first = bot.http.post(bot.url, content=body.encode(), headers=headers)
    assert first.status_code == 200 and DUPLICATE_HEADER not in first.headers
    assert "Subscribed" in text_of(bot.answer("no-trig"))
    replay = bot.http.post(bot.url, content=body.encode(), headers=headers)  # the very same signed request
    assert replay.status_code == 200 and replay.headers[DUPLICATE_HEADER] == "1"
    bot.ask("help")
    assert len(bot.fake.responses("no-trig")) == 1
    # Neither field: answered in the ack, and a replay of it is dropped too.
    bare = without("trigger_id", without("response_url", slash_body("help", USER, "unused", "x")))
    bare_headers = {**sign(bare), "Content-Type": FORM}
    assert "/whisperer changes" in text_of(bot.http.post(bot.url, content=bare.encode(), headers=bare_headers).json())
    again = bot.http.post(bot.url, content=bare.encode(), headers=bare_headers)
    assert again.headers[DUPLICATE_HEADER] == "1" and again.text == ""


def test_queue_depth_warnings_are_logged_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    quiet_queue_warnings()
    queue_logger = logging.getLogger("waitress.queue")
    with caplog.at_level(logging.WARNING, logger="waitress.queue"):
        for depth in range(1, 200):
            queue_logger.warning("Task queue depth is %d", depth)
    assert len([r for r in caplog.records if r.name == "waitress.queue"]) <= 1
