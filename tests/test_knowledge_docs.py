"""docs/knowledge.md documents every partner-knowledge subcommand, and its configuration example is valid."""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli.main import build_parser
from bot.config.loading import parse_config
from bot.slack.render import to_text
from handlers.registry import Context, dispatch, load_commands
from storage.db import open_db

SECTION = (Path(__file__).parent.parent / "docs" / "knowledge.md").read_text(encoding="utf-8")
KNOWLEDGE = sorted(c.name for c in load_commands().values() if c.group in ("partner", "people"))


def test_every_knowledge_subcommand_is_in_help_and_in_its_docs_page(tmp_path: Path) -> None:
    assert {"tiers", "tier", "policy", "deadlines", "deadline", "dealreg", "renewal", "metric", "rebate"} <= set(
        KNOWLEDGE
    )
    assert {"certs", "cert", "people", "whatis"} <= set(KNOWLEDGE)
    db = open_db(tmp_path / "w.db")
    try:
        help_text = to_text(dispatch(Context(db=db, now=datetime(2026, 11, 26, tzinfo=UTC), tz=UTC), "help"))
    finally:
        db.conn.close()
    for name in KNOWLEDGE:
        assert f"/whisperer {name}" in help_text, name
        assert re.search(rf'(ask ["\']{name}\b|/whisperer {name}\b|`{name}\b)', SECTION), name


@pytest.mark.parametrize("command", ["certs import", "deadlines", "reminders"])
def test_cli_subcommands_are_documented_and_exist(command: str) -> None:
    assert f"whisperer {command}" in SECTION
    build_parser().parse_args(command.split() + (["x.csv"] if command == "certs import" else []))


def test_the_configuration_example_is_valid(tmp_path: Path) -> None:
    block = re.search(r"## Configuration.*?```toml\n(.*?)```", SECTION, re.S)
    assert block is not None
    config = parse_config(tomllib.loads(block.group(1)), {}, "whisperer.toml", tmp_path)
    knowledge = config.knowledge
    assert [k.id for k in knowledge.renewal.kpis] == ["cloud_growth", "certified_architects", "licence_escalations"]
    assert knowledge.rebate("cross-cloud") is not None
    assert knowledge.glossary and knowledge.reminders.days_before == (90, 60, 30, 7, 1)
