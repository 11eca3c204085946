"""`whisperer doctor` against the fake Slack: what it finds, the fixes it names, and what it never prints."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from botserver import ADMIN, CHANNEL, write_config
from fakeslack import SCOPES, SECRET, FakeSlack

from bot.cli.doctor import Check, print_checks, run_checks
from bot.cli.main import main
from storage.db import open_db, transaction
from storage.outbox import delivery as blocks

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = write_config(tmp_path, '[[sources]]\nid = "a"\nkind = "html"\nurl = "https://portal.example/a"\n')
    open_db(tmp_path / "whisperer.db").conn.close()
    return path


def env_for(fake: FakeSlack, **extra: str) -> dict[str, str]:
    return {"SLACK_BOT_TOKEN": fake.token, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake.api_url, **extra}


def report(checks: list[Check]) -> tuple[int, str]:
    lines: list[str] = []
    return print_checks(checks, lines.append), "\n".join(lines)


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def test_all_good(config: Path, fake_slack: FakeSlack) -> None:
    midyear = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)  # in November, China's next year of 调休 is not yet known
    checks = run_checks(config, env_for(fake_slack), midyear)
    status, text = report(checks)
    assert status == 0, text
    assert [c.name for c in checks] == [
        "config",
        "database",
        "calendar",
        "slack",
        "token",
        "scopes",
        "alerts channel",
        "manifest",
    ]
    assert "working days in Indonesia (ID) and China (CN), python-holidays " in text
    assert "auth.test: the bot is @whisperer in Acme Cloud" in text
    assert f"{CHANNEL}: the bot can post (a private note went to {ADMIN})" in text
    [note] = fake_slack.calls_to("chat.postEphemeral")
    assert (note.args["channel"], note.args["user"]) == (CHANNEL, ADMIN)
    assert fake_slack.posts() == []  # checking never posts in the channel
    assert fake_slack.token not in text and SECRET not in text
    assert text.endswith("All good.")


def test_the_bot_not_in_the_channel_is_a_problem_with_a_fix(config: Path, fake_slack: FakeSlack) -> None:
    fake_slack.refuse(CHANNEL, "not_in_channel")
    status, text = report(run_checks(config, env_for(fake_slack), NOW))
    assert status == 1
    assert f"✗ alerts channel  {CHANNEL}: not_in_channel" in text
    assert f"fix: invite the bot there: type `/invite @Huawei Whisperer` in {CHANNEL}" in text
    assert text.endswith("1 problem to fix.")


def test_missing_scopes_are_named(config: Path) -> None:
    fake = FakeSlack(scopes=tuple(s for s in SCOPES if s != "users:read.email")).start()
    try:
        scopes = by_name(run_checks(config, env_for(fake), NOW))["scopes"]
    finally:
        fake.stop()
    assert (scopes.status, scopes.detail) == ("fail", "missing users:read.email")
    assert "manifest.yml" in scopes.fix


def test_a_rejected_token(config: Path, fake_slack: FakeSlack) -> None:
    checks = by_name(run_checks(config, env_for(fake_slack, SLACK_BOT_TOKEN="xoxb-not-the-right-one"), NOW))
    assert (checks["token"].status, checks["token"].detail) == ("fail", "auth.test: invalid_auth")
    assert "Bot User OAuth Token" in checks["token"].fix
    assert "alerts channel" not in checks  # nothing more to learn without a working token


def test_slack_unreachable(config: Path) -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-1-2-3", "SLACK_APP_TOKEN": "xapp-1-2", "SLACK_API_URL": "http://127.0.0.1:9/api/"}
    token = by_name(run_checks(config, env, NOW))["token"]
    assert token.status == "fail" and "cannot reach http://127.0.0.1:9/api/" in token.detail


def test_no_tokens_means_terminal_mode(config: Path) -> None:
    checks = by_name(run_checks(config, {}, NOW))
    assert checks["slack"].status == "info" and "terminal mode" in checks["slack"].detail
    assert "token" not in checks


def test_a_malformed_token_and_missing_pieces(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    checks = by_name(run_checks(missing, {"SLACK_BOT_TOKEN": "xoxp-user"}, NOW))
    assert checks["config"].status == "fail" and "cp whisperer.example.toml" in checks["config"].fix
    assert checks["database"].status == "warn" and "does not exist yet" in checks["database"].detail
    assert checks["slack"].status == "fail" and "xoxb-" in checks["slack"].detail
    assert "xoxp-user" not in report(list(checks.values()))[1]


def test_held_alert_targets_are_reported(config: Path, tmp_path: Path) -> None:
    db = open_db(tmp_path / "whisperer.db")
    with transaction(db):
        blocks.block_target(db, "#old-channel", "channel_not_found", "use the channel ID", NOW, NOW)
    db.conn.close()
    delivery = by_name(run_checks(config, {}, NOW))["delivery"]
    assert (delivery.status, delivery.detail, delivery.fix) == (
        "fail",
        "alerts to #old-channel held: channel_not_found",
        "use the channel ID",
    )


def test_whisperer_doctor_command(
    config: Path, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in env_for(fake_slack).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    assert main(["--config", str(config), "doctor"]) == 0
    assert "✓ token" in capsys.readouterr().out
    fake_slack.refuse(CHANNEL, "channel_not_found")
    assert main(["--config", str(config), "doctor"]) == 1


@pytest.fixture(autouse=True)
def _no_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)  # main() reads ./.env; keep the developer's own out of these tests
    yield
