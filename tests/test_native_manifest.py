"""The manifest declares interactivity and the shortcut; `whisperer doctor` names what a manifest lacks."""

from __future__ import annotations

import shutil
from pathlib import Path

from botserver import write_config
from conftest import NOW

from bot.cli.doctor import REQUIRED_SCOPES, print_checks, run_checks
from bot.slack.manifest import load_manifest, manifest_problems

ROOT = Path(__file__).resolve().parent.parent


def test_the_repositorys_manifest_has_everything_the_code_uses() -> None:
    data = load_manifest(ROOT / "manifest.yml")
    assert manifest_problems(data, REQUIRED_SCOPES, socket_mode=True) == []
    [shortcut] = data["features"]["shortcuts"]
    assert (shortcut["type"], shortcut["callback_id"]) == ("global", "add_deadline")


def test_doctor_names_a_manifest_without_interactivity(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    shutil.copy(ROOT / "manifest.yml", tmp_path / "manifest.yml")
    ok = [c for c in run_checks(config, {}, NOW) if c.name == "manifest"]
    assert [c.status for c in ok] == ["ok"]
    old = (tmp_path / "manifest.yml").read_text(encoding="utf-8")
    old = old.replace("is_enabled: true", "is_enabled: false").replace("callback_id: add_deadline", "callback_id: x")
    (tmp_path / "manifest.yml").write_text(old, encoding="utf-8")
    lines: list[str] = []
    status = print_checks(run_checks(config, {}, NOW), lines.append)
    text = "\n".join(lines)
    assert status == 1
    assert "settings.interactivity.is_enabled is not true: buttons, forms and the shortcut do nothing" in text
    assert "no global shortcut with callback_id add_deadline" in text
    assert "fix: paste the fix into Slack app settings → App Manifest" in text


def test_an_http_mode_manifest_needs_the_events_url() -> None:
    data = dict(load_manifest(ROOT / "manifest.yml"))
    settings = {**data["settings"], "socket_mode_enabled": False}
    settings["interactivity"] = {"is_enabled": True, "request_url": "https://bot.acme.example/slack/events"}
    problems = manifest_problems({**data, "settings": settings}, REQUIRED_SCOPES, socket_mode=False)
    assert problems == ["settings.event_subscriptions.request_url should be https://<your host>/slack/events"]


def test_a_broken_manifest_is_a_clear_failure(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    (tmp_path / "manifest.yml").write_text("features: [unclosed\n", encoding="utf-8")
    [check] = [c for c in run_checks(config, {}, NOW) if c.name == "manifest"]
    assert check.status == "fail" and check.detail.startswith("manifest.yml: ")
