"""Renewal KPIs (with the projection to the renewal date), metrics with history, rebate eligibility."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from conftest import NOW, FixtureServer
from knowledge_support import ask, html, poll_at, run, source, tier_table, write_config

CSV = """name,slack_id,certification,passed
Ana Lima,U0ANA,HCIE-Cloud,2024-02-01
Budi Santoso,U0BUDI,HCCDE,2025-06-10
Chen Wei,U0CHEN,HCIE-CSSA,2025-09-01
Dewi,U0DEWI,HCIP-Cloud Service Solutions Architect,2025-01-01
"""
REBATE = """
[[rebates]]
id = "cross-cloud"
name = "Cross-cloud growth rebate"
source = "policy"
min_tier = "Advanced"
no_overdue_bills = true
min_metrics = { cloud_growth = 30 }
min_certified = { architects = 3 }
claim_opens = 2027-01-01
claim_closes = 2027-03-31
"""


@pytest.fixture
def config(server: FixtureServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    server.routes["/tiers.html"] = tier_table("Standard", "Advanced", "Premier", "Core")
    server.routes["/policy.html"] = html("<h1>Cross-Cloud Policy v3.2.1</h1><p>Growth at least 20%.</p>")
    path = write_config(
        tmp_path,
        source(server, "tiers", "/tiers.html", "tiers")
        + source(server, "policy", "/policy.html", "policy", 'name = "Cross-cloud policy"')
        + REBATE,
    )
    (tmp_path / "certs.csv").write_text(CSV, encoding="utf-8")
    run(capsys, path, "certs", "import", str(tmp_path / "certs.csv"))
    poll_at(path, NOW)
    return path


def test_renewal_shows_each_kpi_and_projects_to_the_renewal_date(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = ask(capsys, config, "renewal", as_of="2026-11-26")
    assert "Renewal on 2027-03-31 (in 125 days) — Acme Cloud, Premier" in out
    assert (
        "Cloud consumption growth (YoY): not set (needs ≥ 25%) — unknown: record it with /whisperer metric set" in out
    )
    assert (
        "Certified architects: 3 (needs ≥ 3) — at risk: Ana's HCIE-Cloud expires on 2027-02-01, before your renewal "
        "on 2027-03-31: certified architects would drop to 2 (< 3). To close the gap: Ana recertifies before "
        "2027-02-01, or one more person passes HCIE-Cloud…, HCIE-CSSA… or HCCDE…."
    ) in out
    assert "On track today, but 3 KPIs are at risk or unknown." in out

    assert "Only admins can set metrics." in ask(capsys, config, "metric set cloud_growth 27", user="U0ANA")
    out = ask(capsys, config, "metric set growth 27", as_of="2026-11-20")
    assert "I don't track a metric called 'growth'." in out and "Did you mean 'cloud_growth'?" in out
    assert "'lots' is not a number" in ask(capsys, config, "metric set cloud_growth lots", as_of="2026-11-20")
    out = ask(capsys, config, "metric set cloud_growth 27% Q3 report", as_of="2026-11-20", user="U0ADMIN")
    assert "Cloud consumption growth (YoY) is now 27%." in out
    ask(capsys, config, "metric set licence_escalations 0", as_of="2026-11-20")
    ask(capsys, config, "metric set cloud_growth 22 Q4 estimate", as_of="2026-11-25")

    out = ask(capsys, config, "renewal", as_of="2026-11-26")
    assert (
        "❌ Cloud consumption growth (YoY): 22% (needs ≥ 25%) — missed. To close the gap: raise it by 3 percentage "
        "points to 25%. Missing it means: Provisional until Q3."
    ) in out
    assert "✅ Licence-misuse escalations: 0 (needs ≤ 0) — met." in out
    assert "1 of 3 KPIs missed. As things stand: Provisional until Q3." in out
    out = ask(capsys, config, "renewal", as_of="2026-11-22")  # --as-of sees what was known then
    assert "27% (needs ≥ 25%) — met" in out

    out = ask(capsys, config, "metric cloud_growth", as_of="2026-11-26")
    assert "22% — 2026-11-25 by terminal: Q4 estimate" in out and "27% — 2026-11-20 by U0ADMIN: Q3 report" in out
    out = ask(capsys, config, "metrics", as_of="2026-11-26")
    assert "Overdue bills: not set" in out and "Licence-misuse escalations: 0 (set 2026-11-20 by terminal)" in out

    # After Ana's certificate lapses the KPI is missed, with the count it needs.
    out = ask(capsys, config, "renewal", as_of="2027-02-02")
    assert "Certified architects: 2 (needs ≥ 3) — missed. To close the gap: 1 more person with HCIE-Cloud…" in out


def test_the_projection_alerts_once(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _code, out = run(capsys, config, "reminders", "--as-of", "2026-11-26")
    assert "Renewal at risk" in out
    assert "Ana's HCIE-Cloud expires on 2027-02-01, before your renewal on 2027-03-31" in out
    _code, out = run(capsys, config, "reminders", "--as-of", "2026-11-27")
    assert "Renewal at risk" not in out


def test_rebate_eligibility_names_every_criterion_and_warns_when_rules_may_be_stale(
    config: Path, server: FixtureServer, capsys: pytest.CaptureFixture[str]
) -> None:
    for line in ("cloud_growth 27", "overdue_bills 0"):
        ask(capsys, config, f"metric set {line}", as_of="2026-11-20")
    out = ask(capsys, config, "rebate", as_of="2026-11-26")
    assert "Cross-cloud growth rebate — not eligible (1 of 5 criteria not met)" in out
    assert "✓ Tier: Premier (level 3); needs Advanced (level 2) or higher" in out
    assert "✗ Cloud consumption growth (YoY): 27%; needs ≥ 30% — raise it by 3 percentage points" in out
    assert "✓ Certified architects: 3; needs ≥ 3" in out
    assert "✓ Overdue bills: 0; needs none" in out
    assert "✓ Claim window: opens 2027-01-01 (in 36 days); needs 2027-01-01 → 2027-03-31" in out
    assert "Rules not yet confirmed by an admin: /whisperer rebate confirm cross-cloud." in out

    assert "Only admins can confirm rebate rules." in ask(capsys, config, "rebate confirm cross-cloud", user="U0ANA")
    out = ask(capsys, config, "rebate confirm cross-cloud", as_of="2026-11-26")
    assert "Confirmed the rules of Cross-cloud growth rebate" in out
    assert "stale" not in ask(capsys, config, "rebate cross-cloud", as_of="2026-11-27")

    server.routes["/policy.html"] = html("<h1>Cross-Cloud Policy v3.3.0</h1><p>Growth at least 25%.</p>")
    poll_at(config, NOW + timedelta(days=1))
    out = ask(capsys, config, "rebate cross-cloud", as_of="2026-11-28")
    assert "⚠ These rules may be stale: Cross-cloud policy (" in out
    assert (
        "changed on 2026-11-27 10:00 after they were last confirmed on 2026-11-26 09:00. Read /whisperer diff 1" in out
    )
    ask(capsys, config, "rebate confirm cross-cloud", as_of="2026-11-28")
    assert "stale" not in ask(capsys, config, "rebate cross-cloud", as_of="2026-11-29")

    ask(capsys, config, "metric set cloud_growth 31", as_of="2026-11-29")
    out = ask(capsys, config, "rebate", as_of="2027-01-10")
    assert "Cross-cloud growth rebate — eligible" in out
    assert "Claim window: open, closes 2027-03-31 (in 80 days)" in out
    out = ask(capsys, config, "rebate", as_of="2027-04-02")
    assert "✗ Claim window: closed on 2027-03-31" in out and "✗ Certified architects: 2; needs ≥ 3 — 1 more with" in out
    out = ask(capsys, config, "rebate cross", as_of="2027-04-02")
    assert "There is no rebate programme 'cross'." in out and "Did you mean 'cross-cloud'?" in out


def test_without_programmes_the_answer_says_where_to_describe_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, "")
    out = ask(capsys, config, "rebate")
    assert "No rebate programmes configured." in out and "[[rebates]]" in out


def test_a_kpi_close_to_its_line_is_at_risk(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(
        tmp_path,
        """
[[renewal.kpis]]
id = "growth"
label = "Cloud growth"
metric = "cloud_growth"
min = 25
unit = "%"
warn_within = 2
consequence = "Downgrade"
""",
    )
    ask(capsys, config, "metric set cloud_growth 26", as_of="2026-11-20")
    out = ask(capsys, config, "renewal", as_of="2026-11-26")
    assert "⚠️ Cloud growth: 26% (needs ≥ 25%) — at risk: only 1 percentage point from the line" in out
    ask(capsys, config, "metric set cloud_growth 24", as_of="2026-11-21")
    out = ask(capsys, config, "renewal", as_of="2026-11-26")
    assert "1 of 1 KPIs missed. As things stand: Downgrade." in out
