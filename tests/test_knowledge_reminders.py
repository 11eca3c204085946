"""The reminder sweep: DMs at each step once (restarts included), working hours, weekly summary, lag."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import NOW, FixtureServer
from knowledge_support import html, poll_at, run, source, write_config

from bot.cli.terminal import print_alerts
from bot.config.loading import load_config
from bot.process.reminders import working_moment
from bot.process.runtime import open_runtime
from handlers.settings import ReminderSettings
from storage.db import open_db
from storage.outbox.alerts import list_alerts

CSV = """name,email,slack_id,tz,certification,passed,expires
Dewi,dewi@acme.example,U0DEWI,,HCIP-Cloud Service Solutions Architect,2023-12-03,
Chen Wei,chen@acme.example,,Europe/Berlin,HCIA-Cloud Service,2023-12-20,
Old Timer,old@acme.example,U0OLD,,HCIA-Datacom,2017-01-01,
Budi,budi@acme.example,U0BUDI,,HCCDE,2025-06-10,
"""


def outbox(config: Path) -> list[dict[str, object]]:
    db = open_db(config.parent / "whisperer.db")
    try:
        return list(reversed(list_alerts(db)))
    finally:
        db.conn.close()


@pytest.fixture
def config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = write_config(tmp_path, "")
    (tmp_path / "certs.csv").write_text(CSV, encoding="utf-8")
    run(capsys, path, "certs", "import", str(tmp_path / "certs.csv"))
    return path


def test_dry_run_shows_the_dms_and_queues_nothing(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, config, "reminders", "--as-of", "2026-11-26", "--dry-run")
    assert code == 0
    assert "Reminder sweep as of 2026-11-26 09:00 Asia/Jakarta (dry run)" in out
    assert "→ DM Dewi (U0DEWI), now:" in out
    assert "Hi Dewi: your HCIP-Cloud Service Solutions Architect expires on 2026-12-03, in 7 days." in out
    # Chen has no Slack ID (DM by email) and lives in Berlin: 09:00 in Jakarta is 03:00 there.
    assert (
        "→ DM Chen Wei (by email chen@acme.example), at 2026-11-26 15:00 (09:00 Europe/Berlin, their working hours):"
        in out
    )
    assert "expires on 2026-12-20, in 24 days" in out
    assert (
        "Certifications: week 48" in out and "Dewi — HCIP-Cloud Service Solutions Architect: expires 2026-12-03" in out
    )
    assert "Old Timer" not in out and "Budi" not in out  # expired long ago; fine for years
    assert "3 messages would be sent." in out
    assert outbox(config) == []


def test_each_step_is_sent_once_across_restarts(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _code, out = run(capsys, config, "reminders", "--as-of", "2026-11-26")
    assert "3 messages queued." in out
    rows = {str(a["key"]): a for a in outbox(config)}
    assert set(rows) == {
        "cert-reminder:1:2026-12-03:7",
        "cert-reminder:2:2026-12-20:30",
        "cert-weekly:2026-W48",
    }
    assert rows["cert-reminder:1:2026-12-03:7"]["user_id"] == "U0DEWI"
    chen = rows["cert-reminder:2:2026-12-20:30"]
    assert chen["user_id"] is None and chen["channel"] is None
    assert chen["payload"]["person_id"] == 2
    assert chen["next_attempt_at"] == "2026-11-26T08:00:00+00:00"  # 09:00 in Berlin

    for day in ("2026-11-26", "2026-11-27", "2026-11-30"):  # each run is a fresh process on the same file
        _code, out = run(capsys, config, "reminders", "--as-of", day)
        assert "Nothing to send today." in out or out.count("→") == 1, out
    keys = [str(a["key"]) for a in outbox(config)]
    assert "cert-weekly:2026-W49" in keys  # Monday 30 November starts a new week
    run(capsys, config, "reminders", "--as-of", "2026-12-02")
    run(capsys, config, "reminders", "--as-of", "2026-12-03")
    run(capsys, config, "reminders", "--as-of", "2026-12-04")
    run(capsys, config, "reminders", "--as-of", "2026-12-03")
    dewi = [str(a["key"]) for a in outbox(config) if a["user_id"] == "U0DEWI"]
    assert dewi == ["cert-reminder:1:2026-12-03:7", "cert-reminder:1:2026-12-03:1", "cert-expired:1:2026-12-03"]
    expired = next(a for a in outbox(config) if a["key"] == "cert-expired:1:2026-12-03")
    assert "expired on *2026-12-03*" in expired["payload"]["text"]

    # Terminal mode prints the DMs, including the one that needs an email lookup.
    lines: list[str] = []
    runtime = open_runtime(load_config(config, env={}), NOW)
    try:
        print_alerts(runtime, NOW + timedelta(days=30), lines.append)  # DMs wait for working hours: print later
    finally:
        runtime.close()
    printed = "\n".join(lines)
    assert "[alert → DM U0DEWI]" in printed and "[alert → DM Chen Wei (by email chen@acme.example)]" in printed
    assert "[alert → #partner]" in printed  # the weekly summary


def test_a_recertification_starts_the_steps_again(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, config, "reminders", "--as-of", "2026-11-26")
    (tmp_path / "renewed.csv").write_text(
        "name,slack_id,certification,passed\nDewi,U0DEWI,HCIP-Cloud Service Solutions Architect,2026-11-20\n"
    )
    run(capsys, config, "certs", "import", str(tmp_path / "renewed.csv"))
    _code, out = run(capsys, config, "reminders", "--as-of", "2029-08-25", "--dry-run")
    assert "Hi Dewi: your HCIP-Cloud Service Solutions Architect expires on 2029-11-20, in 87 days." in out


def test_working_hours_skip_the_weekend() -> None:
    settings = ReminderSettings()
    jakarta = ZoneInfo("Asia/Jakarta")
    saturday = datetime(2026, 11, 28, 10, 0, tzinfo=jakarta)
    assert working_moment(saturday, jakarta, settings) == datetime(2026, 11, 30, 9, 0, tzinfo=jakarta)
    tuesday_evening = datetime(2026, 12, 1, 19, 0, tzinfo=jakarta)
    assert working_moment(tuesday_evening, jakarta, settings) == datetime(2026, 12, 2, 9, 0, tzinfo=jakarta)
    tuesday_noon = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
    assert working_moment(tuesday_noon, jakarta, settings) == tuesday_noon


PAGE_EN = "<h1>Cross-Cloud Policy v{v}</h1><p>Growth at least {g}%.</p>"
PAGE_CN = "<h1>跨云合作伙伴政策 版本 {v}</h1><p>云消费同比增长不低于{g}%。</p>"


def test_translation_lag_alerts_once_after_lag_days(
    server: FixtureServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.routes["/en.html"] = html(PAGE_EN.format(v="3.2.1", g=20))
    server.routes["/cn.html"] = html(PAGE_CN.format(v="3.2.1", g=20), "gbk")
    config = write_config(
        tmp_path,
        source(server, "policy-en", "/en.html", "policy", 'name = "Cross-cloud policy"\ntwin = "policy-cn"')
        + source(server, "policy-cn", "/cn.html", "policy", 'name = "跨云政策"\ntwin = "policy-en"\nlag_days = 7'),
    )
    poll_at(config, NOW)
    server.routes["/cn.html"] = html(PAGE_CN.format(v="3.3.0", g=25), "gbk")
    poll_at(config, NOW + timedelta(days=1))
    _code, out = run(capsys, config, "reminders", "--as-of", "2026-12-01")
    assert "Translation lag" not in out  # 5 days: still within lag_days
    _code, out = run(capsys, config, "reminders", "--as-of", "2026-12-05")
    assert (
        "The Chinese version of Cross-cloud policy changed on 2026-11-27; the English version has not caught up." in out
    )
    _code, out = run(capsys, config, "reminders", "--as-of", "2026-12-06")
    assert "Translation lag" not in out
    assert [a["kind"] for a in outbox(config)].count("translation-lag") == 1

    # English follows within the lag: no alert for that round.
    server.routes["/cn.html"] = html(PAGE_CN.format(v="3.4.0", g=30), "gbk")
    poll_at(config, NOW + timedelta(days=20))
    server.routes["/en.html"] = html(PAGE_EN.format(v="3.4.0", g=30))
    poll_at(config, NOW + timedelta(days=22))
    _code, out = run(capsys, config, "reminders", "--as-of", "2027-01-30")
    assert "Translation lag" not in out
