"""The Slack part of the environment, the run modes it selects, and the small rules of the slash command."""

from __future__ import annotations

import io
import logging

import pytest
from fakeslack import APP_TOKEN, SECRET, TOKEN

from bot.config.loading import ConfigError
from bot.process.service import Redact
from bot.slack.app import DEFAULT_API_URL, make_web_client, response_for, slack_settings
from bot.slack.once import request_key
from handlers.registry import split_share
from handlers.reply import error, para, reply


def test_settings_default_to_slack_and_keep_secrets_out_of_repr() -> None:
    settings = slack_settings({"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET})
    assert settings.api_url == DEFAULT_API_URL
    assert TOKEN not in repr(settings) and SECRET not in repr(settings)
    assert settings.secrets() == (TOKEN, SECRET)


@pytest.mark.parametrize(
    ("env", "http", "mode"),
    [
        ({}, False, "terminal"),
        ({"SLACK_BOT_TOKEN": TOKEN, "SLACK_APP_TOKEN": APP_TOKEN}, False, "socket"),
        ({"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET}, True, "http"),
        ({"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_APP_TOKEN": APP_TOKEN}, True, "http"),
    ],
)
def test_the_mode_follows_the_tokens(env: dict[str, str], http: bool, mode: str) -> None:
    assert slack_settings(env).mode(http) == mode


@pytest.mark.parametrize(
    ("env", "http", "where", "fix"),
    [
        ({"SLACK_API_URL": "localhost:8080"}, False, "SLACK_API_URL", "unset it"),
        ({"SLACK_BOT_TOKEN": TOKEN}, False, "SLACK_APP_TOKEN", "whisperer run --http"),
        ({"SLACK_BOT_TOKEN": TOKEN}, True, "SLACK_SIGNING_SECRET", "Signing Secret"),
        ({"SLACK_SIGNING_SECRET": SECRET}, True, "SLACK_BOT_TOKEN", ".env"),
        ({"SLACK_APP_TOKEN": APP_TOKEN}, False, "SLACK_BOT_TOKEN", "Socket Mode needs both"),
    ],
)
def test_half_configured_slack_says_what_to_set(env: dict[str, str], http: bool, where: str, fix: str) -> None:
    with pytest.raises(ConfigError) as caught:
        slack_settings(env).mode(http)
    assert caught.value.where == where
    assert fix in caught.value.fix
    assert TOKEN not in str(caught.value)


def test_the_web_client_uses_the_api_url_and_retries_rate_limits() -> None:
    client = make_web_client(TOKEN, "http://127.0.0.1:9/api")
    assert client.base_url == "http://127.0.0.1:9/api/"
    assert [type(h).__name__ for h in client.retry_handlers] == [
        "ConnectionErrorRetryHandler",
        "RateLimitErrorRetryHandler",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("changes policy share", ("changes policy", True)),
        ("changes SHARE", ("changes", True)),
        ("share", ("", True)),
        ('ask "a share"', ('ask "a share"', False)),
        ("changes sharepoint", ("changes sharepoint", False)),
        ("", ("", False)),
    ],
)
def test_a_trailing_share_word_shares(text: str, expected: tuple[str, bool]) -> None:
    assert split_share(text) == expected


def test_replies_are_private_unless_shared_and_errors_always_private() -> None:
    answer = reply(para("Latest changes"))
    assert response_for(answer, share=False)["response_type"] == "ephemeral"
    assert response_for(answer, share=True)["response_type"] == "in_channel"
    assert response_for(reply(para("news"), ephemeral=False), share=False)["response_type"] == "in_channel"
    assert response_for(error("no such change"), share=True)["response_type"] == "ephemeral"
    assert response_for(answer, share=False)["blocks"][0]["type"] == "section"


def test_request_keys() -> None:
    assert request_key({"event_id": "Ev1", "trigger_id": "t"}) == "event:Ev1"
    assert request_key({"trigger_id": "123.456.abc"}) == "trigger:123.456.abc"
    # Neither: the signed timestamp and body, so only the very same request counts as a repeat.
    same = request_key({"type": "x"}, "a=1", "1764100000")
    assert same.startswith("body:") and same == request_key({"type": "x"}, "a=1", "1764100000")
    assert same != request_key({"type": "x"}, "a=1", "1764100001")
    assert same != request_key({"type": "x"}, "a=2", "1764100000")


def test_tokens_never_reach_the_log() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(Redact([SECRET]))
    logger = logging.getLogger("test.redact")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("calling with %s and %s, secret %s", TOKEN, APP_TOKEN, SECRET)
        logger.warning("a user token xoxp-123-456-abc in a message")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert TOKEN not in output and APP_TOKEN not in output and SECRET not in output and "xoxp-123" not in output
    assert "xoxb-…(redacted)" in output and "xapp-…(redacted)" in output and "secret …(redacted)" in output


def test_a_token_of_an_odd_shape_is_a_warning_that_never_shows_the_token(caplog: pytest.LogCaptureFixture) -> None:
    # Proxies and test doubles have their own tokens: auth.test decides, the shape only warns.
    with caplog.at_level(logging.WARNING, logger="whisperer.slack"):
        settings = slack_settings({"SLACK_BOT_TOKEN": "xoxp-user-secret", "SLACK_APP_TOKEN": "xoxb-wrong-secret"})
    assert settings.mode(http=False) == "socket"
    assert "Bot User OAuth Token" in caplog.text and "connections:write" in caplog.text
    assert "secret" not in caplog.text


def test_the_api_url_works_with_or_without_its_trailing_slash() -> None:
    for url in ("http://127.0.0.1:9/api", "http://127.0.0.1:9/api/"):
        assert make_web_client("xoxb-1", url).base_url == "http://127.0.0.1:9/api/"
