"""Partner knowledge through Slack: signed /whisperer commands to the real endpoint, answers via response_url."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from botserver import ADMIN, BotServer, text_of, write_config
from fakeslack import FakeSlack

from bot.config.loading import load_config

# The bot reads the real clock, so dates are relative to today.
RFP = date.today() + timedelta(days=30)
PARTNER = f"""
[partner]
name = "Acme Cloud"
tier = "Premier"
status_expires = {date.today() + timedelta(days=60)}

[dealreg]
hours_before = 72
"""


@pytest.fixture
def bot(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[BotServer]:
    server = BotServer(load_config(write_config(tmp_path, extra=PARTNER), env={}), fake_slack)
    yield server
    server.stop()


def test_whatis_answers_in_slack_as_in_the_terminal(bot: BotServer) -> None:
    answer = bot.ask("whatis ROMA")
    assert answer["response_type"] == "ephemeral"
    assert "ROMA Connect" in text_of(answer) and "integration" in text_of(answer)
    assert "Did you mean" in text_of(bot.ask("whatis ModelArtz"))


def test_dealreg_adds_a_deadline_that_deadlines_then_lists(bot: BotServer) -> None:
    text = text_of(bot.ask(f"dealreg {RFP} PT Nusantara"))
    assert "Register by" in text and "72 hours before the RFP" in text
    assert "signed LOI" in text
    deadlines = text_of(bot.ask("deadlines 90"))
    assert "PT Nusantara" in deadlines
    assert "partner status" in deadlines  # [partner] status_expires is on the same list


def test_metric_set_is_for_admins_only(bot: BotServer) -> None:
    refused = bot.ask("metric set cloud_growth 27")
    assert "Only admins" in text_of(refused)
    accepted = bot.ask("metric set cloud_growth 27", user=ADMIN)
    assert "27" in text_of(accepted) and "Only admins" not in text_of(accepted)


def test_slack_markup_in_arguments_is_read_as_typed_and_escaped_once_on_the_way_out(bot: BotServer) -> None:
    # Slack sends "MDF & SPIF <draft>" as entities, and a typed link as <url|label>.
    text = text_of(
        bot.ask(f"deadline add {RFP} Claim MDF &amp; SPIF &lt;draft&gt; via <https://portal.example/mdf|portal>")
    )
    assert "MDF &amp; SPIF &lt;draft&gt;" in text  # escaped exactly once for Slack
    assert "&amp;amp;" not in text
    listed = text_of(bot.ask("deadlines 90"))
    assert "Claim MDF &amp; SPIF &lt;draft&gt; via https://portal.example/mdf" in listed
