"""`whisperer demo` tells the partner-knowledge story end to end, on its own fixed clock."""

from __future__ import annotations

from pathlib import Path

from bot.demo.story import run_demo


def test_the_demo_shows_every_partner_knowledge_answer(tmp_path: Path) -> None:
    lines: list[str] = []
    assert run_demo(keep=str(tmp_path / "demo"), out=lines.append) == 0
    out = "\n".join(lines)
    for expected in (
        "line 8: slack_id 'fajar' is not a Slack user ID",  # the bad CSV row; the others imported
        "Heads-up: Premier is now called Certified Plus.",
        "That is your tier: Acme Cloud is now Certified Plus.",
        "Cross-cloud policy v3.2.1 → v3.3.0",
        "Premier was renamed Certified Plus on 2026-11-26; that is your tier.",
        "Register by Monday 2026-12-07 00:00 Asia/Jakarta",
        "2026-12-07 00:00 (in 11 days) — Register the deal with PT Nusantara Logistics",
        "2027-01-01 (in 36 days) — Cross-cloud policy v3.3.0 takes effect on 2027-01-01",
        "certified architects would drop to 2 (< 3)",
        # The rebate criterion follows the renewal KPI's threshold, read from the policy page: 25%, not 30%.
        "Cross-cloud growth rebate — eligible",
        "You are at 27%: still met, margin down from 7 to 2 points.",
        "云消费同比增长不低于: 20% → 25%",
        "Term gloss, not a translation",
        "👉 Claims for Q4 2026 must be filed 16 days later: 2027-01-31.",  # a deadline on /whisperer deadlines
        "👉 That is your tier: Premier is now called Certified Plus.",  # `diff 1`: the impact of the tier change
        "⚠ These rules may be stale",
        "ROMA Connect",
        "[alert → DM U0DEWI]",
        "[alert → DM Chen Wei (by email chen@acme.example)]",
        "Renewal at risk",
        # The money scene: an MDF request whose 10 working days run across Christmas and New Year.
        "Apply for the MDF by Tue 2026-12-22 (in 26 days) — 10 working days before the start on 2027-01-08",
        "2026-12-25 Fri: Christmas Day",
        "China (CN): Thursday 2026-12-24 provisional",
        "[DM U0BUDI, 2026-12-15 09:00]",
        # If Ana leaves…: what it breaks and the plan that fixes it (issue 17)
        "What if Ana Lima leaves on 2027-01-15?",
        "flips on 2027-01-15: renewal KPI missed: Provisional until Q3.",
        "1. Dewi Lestari sits HCIE-Cloud… by 2027-01-15 — covers certified architects after Ana leaves on 2027-01-15.",
        "A certified colleague is leaving",
    ):
        assert expected in out, expected
    # The same impact sentence in the alert, `changes`, the digest and Home.
    assert out.count("You are at 27%: still met, margin down from 7 to 2 points.") >= 3
    assert (tmp_path / "demo" / "team-certs.csv").exists()
