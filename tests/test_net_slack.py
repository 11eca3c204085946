"""`/whisperer source add` gets the same network policy as the file: signed slash commands to the real endpoint."""

from __future__ import annotations

import pytest
from botserver import ADMIN, BotServer, text_of
from conftest import FixtureServer

from storage.watching import sources as state


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",  # refused by the policy: nothing connects
        "<http://2852039166/latest/meta-data/>",
        "http://0xA9FEA9FE/",
        "http://[fd00:ec2::254]/latest/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://10.0.0.7/admin",  # refused by the policy: nothing connects
        "http://127.0.0.2:8080/",  # loopback, but not the address whisperer.toml allows
    ],
)
def test_source_add_refuses_what_the_file_does_not_allow(bot: BotServer, url: str) -> None:
    answer = text_of(bot.ask(f"source add imds html {url}", user=ADMIN))
    assert "I won't watch that address" in answer
    assert "add it to [fetch] allow_private in whisperer.toml if you mean it" in answer
    assert state.get_source(bot.db, "imds") is None
    assert bot.effects == []


def test_source_add_accepts_an_address_the_file_allows(bot: BotServer, server: FixtureServer) -> None:
    url = server.url("/notices.xml")  # 127.0.0.1, which the test configuration lists in allow_private
    answer = text_of(bot.ask(f"source add notices feed {url}", user=ADMIN))
    assert "Now watching notices" in answer
    assert state.get_source(bot.db, "notices") is not None
    assert server.seen == []  # adding checks the address; it does not fetch
