"""Tested docs: every subcommand is in /whisperer help and in the docs; the manifest and .env.example agree."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from bot.cli.doctor import REQUIRED_SCOPES
from bot.slack.app import COMMAND, EVENTS_PATH
from bot.slack.render import to_text
from handlers.registry import Context, dispatch, load_commands
from storage.database import Database

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
# The README plus one page per topic under docs/, as sqlite-utils and bolt-python keep theirs.
COMMANDS = load_commands()
DOCS = README + "".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md")))


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_subcommand_is_in_help_and_the_docs(name: str, db: Database) -> None:
    ctx = Context(db=db, now=datetime(2026, 11, 26, tzinfo=UTC), tz=UTC, operator=True)
    assert f"/whisperer {COMMANDS[name].usage}" in to_text(dispatch(ctx, "help"))
    assert re.search(rf"`/whisperer {re.escape(name)}\b", DOCS), f"docs/ has no entry for /whisperer {name}"


def test_the_manifest_matches_the_code() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == COMMAND
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == set(REQUIRED_SCOPES)
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True


def test_env_example_lists_every_variable_commented_out() -> None:
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    names = {m.group(1) for line in lines if (m := re.match(r"# ([A-Z_]+)=", line))}
    assert names == {
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN",
        "SLACK_API_URL",
        "WHISPERER_CONFIG",
        "WHISPERER_DB",
        "PORTAL_COOKIE",  # the example of a ${VAR} that whisperer.toml refers to
        "WHISPERER_LOG_FORMAT",
        "WHISPERER_LOG_SDK",
    }
    assert not [line for line in lines if line and not line.startswith("#")]


def test_the_readme_walks_through_slack_setup() -> None:
    section = README.split("## Connect a real Slack workspace", 1)[1].split("\n## ", 1)[0]
    steps = re.findall(r"^(\d+)\. ", section, flags=re.M)
    assert steps == [str(n) for n in range(1, len(steps) + 1)] and len(steps) >= 5
    for needle in ("manifest.yml", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "whisperer doctor", "whisperer run"):
        assert needle in section
    assert EVENTS_PATH in README and "whisperer run --http" in README


def test_the_readme_is_for_a_newcomer_and_links_every_docs_page() -> None:
    pages = sorted(p.name for p in (ROOT / "docs").glob("*.md"))
    assert len(README.splitlines()) <= 300, "README.md is a landing page: move reference material into docs/"
    for name in pages:
        assert f"(docs/{name})" in README, f"README's 'Read next' does not link docs/{name}"
    for heading in ("## Quick start", "## Connect a real Slack workspace", "## Where things live", "## Read next"):
        assert heading in README


def test_relative_links_in_the_docs_point_at_files_that_exist() -> None:
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            assert (page.parent / target).exists(), f"{page.name} links {target}, which does not exist"
