"""Tier renames and policy versions: real pages on a local server, real SQLite, answers via `whisperer ask`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from conftest import NOW, FixtureServer
from knowledge_support import ask, html, poll_at, source, tier_table, write_config

from bot.cli.terminal import print_alerts
from bot.config.loading import load_config
from bot.process.runtime import open_runtime, poll
from storage.db import open_db
from storage.outbox.alerts import list_alerts

LADDER = ("Standard", "Advanced", "Premier", "Core")


def alerts_of(config_path: Path, kind: str) -> list[dict[str, object]]:
    db = open_db(config_path.parent / "whisperer.db")
    try:
        return [a for a in reversed(list_alerts(db)) if a["kind"] == kind]
    finally:
        db.conn.close()


def printed_alerts(config_path: Path) -> str:
    lines: list[str] = []
    runtime = open_runtime(load_config(config_path, env={}), NOW)
    try:
        print_alerts(runtime, NOW + timedelta(days=30), lines.append)  # after every poll of the test
    finally:
        runtime.close()
    return "\n".join(lines)


@pytest.fixture
def tiers_config(server: FixtureServer, tmp_path: Path) -> Path:
    server.routes["/tiers.html"] = tier_table(*LADDER)
    return write_config(tmp_path, source(server, "csp-tiers", "/tiers.html", "tiers", 'tiers_selector = "table.tiers"'))


def test_rename_of_our_tier_alerts_once_and_the_bot_follows_the_new_name(
    server: FixtureServer, tiers_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    poll_at(tiers_config, NOW)
    assert alerts_of(tiers_config, "tier-renamed") == []
    server.routes["/tiers.html"] = tier_table("Standard", "Advanced", "Certified Plus", "Core")
    poll_at(tiers_config, NOW + timedelta(days=1))
    poll_at(tiers_config, NOW + timedelta(days=2))  # a restart and another poll: nothing new to say
    [alert] = alerts_of(tiers_config, "tier-renamed")
    payload = alert["payload"]
    assert isinstance(payload, dict)
    assert payload["text"].startswith("Heads-up: *Premier* is now called *Certified Plus*.")
    assert "That is your tier: Acme Cloud is now *Certified Plus*" in payload["text"]

    printed = printed_alerts(tiers_config)
    assert "Heads-up: Premier is now called Certified Plus." in printed  # emphasis is structure, not stars

    out = ask(capsys, tiers_config, "tier Premier")
    assert "Premier was renamed Certified Plus on 2026-11-27; that is your tier." in out
    assert "Certified Plus is level 3 of 4" in out
    out = ask(capsys, tiers_config, "tiers")
    assert "3. Certified Plus  ← Acme Cloud, formerly Premier" in out
    assert "2026-11-27: Premier → Certified Plus" in out
    assert "Your tier: Certified Plus." in out
    out = ask(capsys, tiers_config, "tier certified plus")
    assert "That is your tier." in out and "It was called Premier until 2026-11-27." in out
    out = ask(capsys, tiers_config, "tier core")
    assert "Core is level 4 of 4" in out and "Your tier is Certified Plus." in out
    out = ask(capsys, tiers_config, "tier Premeir")
    assert "I don't know a tier called 'Premeir'." in out and "Did you mean 'Premier'?" in out


def test_added_removed_and_reordered_tiers_are_told_apart(server: FixtureServer, tiers_config: Path) -> None:
    poll_at(tiers_config, NOW)
    server.routes["/tiers.html"] = tier_table("Standard", "Advanced", "Premier", "Elite", "Core")
    poll_at(tiers_config, NOW + timedelta(hours=1))
    server.routes["/tiers.html"] = tier_table("Standard", "Premier", "Advanced", "Elite", "Core")
    poll_at(tiers_config, NOW + timedelta(hours=2))
    server.routes["/tiers.html"] = tier_table("Standard", "Advanced", "Elite", "Core")
    poll_at(tiers_config, NOW + timedelta(hours=3))
    [added] = alerts_of(tiers_config, "tier-added")
    assert added["payload"]["text"] == "New tier on the csp-tiers: *Elite* (level 4 of 5)."
    assert len(alerts_of(tiers_config, "tier-reordered")) == 1
    [removed] = alerts_of(tiers_config, "tier-removed")
    assert "*Premier* is no longer on the csp-tiers." in removed["payload"]["text"]
    assert "That was your tier" in removed["payload"]["text"]
    assert alerts_of(tiers_config, "tier-renamed") == []


def test_a_tier_configured_anew_by_an_admin_wins_over_a_rename_seen_earlier(
    server: FixtureServer, tiers_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    poll_at(tiers_config, NOW)
    server.routes["/tiers.html"] = tier_table("Standard", "Advanced", "Certified Plus", "Core")
    poll_at(tiers_config, NOW + timedelta(days=1))
    tiers_config.write_text(tiers_config.read_text().replace('tier = "Premier"', 'tier = "Core"'))
    out = ask(capsys, tiers_config, "tiers")
    assert "4. Core  ← Acme Cloud" in out and "Your tier: Core." in out


POLICY = "<h1>Cross-Cloud Policy v{v}</h1><p>Updated {u}.</p><ul><li>Growth at least {g}% year on year.</li></ul>"


def test_policy_version_bump_alerts_with_the_diff_and_is_listed(
    server: FixtureServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.routes["/policy.html"] = html(POLICY.format(v="3.2.1", u="Q2 2024", g=20))
    server.routes["/cn.html"] = html("<h1>跨云合作伙伴政策 版本 3.2.1</h1><p>云消费同比增长不低于20%。</p>", "gbk")
    config = write_config(
        tmp_path,
        source(server, "cross-cloud-policy", "/policy.html", "policy", 'name = "Cross-cloud policy"')
        + source(server, "cross-cloud-policy-cn", "/cn.html", "policy", 'name = "跨云政策"'),
    )
    poll_at(config, NOW)
    server.routes["/policy.html"] = html(POLICY.format(v="3.2.1", u="Q2 2024", g=21))  # same version: no alert
    poll_at(config, NOW + timedelta(hours=1))
    assert alerts_of(config, "policy-version") == []
    server.routes["/policy.html"] = html(POLICY.format(v="3.3.0", u="Q4 2026", g=25))
    server.routes["/cn.html"] = html("<h1>跨云合作伙伴政策 版本 3.3</h1><p>云消费同比增长不低于25%。</p>", "gbk")
    poll_at(config, NOW + timedelta(days=1))
    english, chinese = alerts_of(config, "policy-version")
    payload = english["payload"]
    assert isinstance(payload, dict)
    assert payload["heading"] == "Cross-cloud policy v3.2.1 → v3.3.0"
    assert "(the page says: updated Q4 2026)" in payload["text"]
    assert "+Growth at least 25% year on year." in payload["excerpt"]
    assert chinese["payload"]["heading"] == "跨云政策 v3.2.1 → v3.3"

    printed = printed_alerts(config)
    assert "Cross-cloud policy v3.2.1 → v3.3.0" in printed and "-Growth at least 21% year on year." in printed

    out = ask(capsys, config, "policy")
    assert "policy.html) — v3.3.0 (was v3.2.1), page says updated Q4 2026; version since 2026-11-27" in out
    assert "+ Growth at least 25% year on year." in out
    out = ask(capsys, config, "policy cross-cloud-policy-cn")
    assert "跨云政策 v3.3" in out and "v3.2.1 — seen 2026-11-26" in out
    out = ask(capsys, config, "policy nonesuch")
    assert "No tracked policy matches 'nonesuch'." in out


def test_snapshots_from_before_the_extractors_still_give_a_rename_and_a_version_bump(
    server: FixtureServer, tmp_path: Path
) -> None:
    server.routes["/tiers.html"] = tier_table(*LADDER)
    server.routes["/policy.html"] = html(POLICY.format(v="3.2.1", u="Q2 2024", g=20))
    config = write_config(
        tmp_path,
        source(server, "csp-tiers", "/tiers.html", "tiers") + source(server, "policy", "/policy.html", "policy"),
    )
    runtime = open_runtime(load_config(config, env={}), NOW)
    try:
        runtime.extractors = ()  # the bot as it was before it read ladders and versions
        poll(runtime, NOW)
    finally:
        runtime.close()
    server.routes["/tiers.html"] = tier_table("Standard", "Advanced", "Certified Plus", "Core")
    server.routes["/policy.html"] = html(POLICY.format(v="3.3.0", u="Q4 2026", g=25))
    poll_at(config, NOW + timedelta(days=1))
    [renamed] = alerts_of(config, "tier-renamed")
    assert renamed["payload"]["text"].startswith("Heads-up: *Premier* is now called *Certified Plus*.")
    [bumped] = alerts_of(config, "policy-version")
    assert bumped["payload"]["heading"] == "policy v3.2.1 → v3.3.0"
