"""`whisperer demo` shows the logged-in portal: JSON field changes, a PDF version bump, the EMI metric, and a
session that expires mid-story and comes back (one alert each way, no change recorded)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.demo.story import run_demo


def test_the_demo_shows_the_logged_in_portal(tmp_path: Path) -> None:
    lines: list[str] = []
    assert run_demo(keep=str(tmp_path / "demo"), out=lines.append) == 0
    out = "\n".join(lines)
    for expected in (
        "partner-status: data.emi.score: 73.8 → 68.1; data.partner.tier: Premier → Certified Plus",
        "🟡 EMI fell from 73.8 (green) to 68.1 (yellow)",
        "CSP incentive policy (PDF) v1.4 → v1.5",
        "+Claims for Q4 2026 must be filed by 2027-01-31.",
        "🔒 partner-status: session expired — redirected to the sign-in page http://127.0.0.1:",
        "Half an hour later it is still logged out. The bot says nothing more:\n"
        "  🔒 partner-status: session expired — redirected to the sign-in page",
        "  (0 alerts)",
        "$ whisperer cookies check portal-cookies.txt",
        "portal-cookies.txt: 2 cookies (values not shown)",
        "  · partner-status: unchanged",
        "68.1 █▁ 🟡 yellow (red below 60, yellow below 70; green otherwise)",
    ):
        assert expected in out, expected
    assert out.count("Session expired: Partner Center status (JSON)") == 2  # the channel and the one admin
    assert out.count("Session restored: Partner Center status (JSON)") == 2
    db = sqlite3.connect(tmp_path / "demo" / "demo.db")
    try:
        changes = db.execute("SELECT COUNT(*) FROM changes WHERE source_id = 'partner-status'").fetchone()[0]
        readings = db.execute("SELECT value, source_id FROM metrics WHERE name = 'emi' ORDER BY id").fetchall()
    finally:
        db.close()
    assert changes == 1  # the tier and EMI change; nothing for the session going and coming back
    assert readings == [(73.8, "partner-status"), (68.1, "partner-status")]
