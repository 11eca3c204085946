"""People: what-if, leavers (grace 0, 30, the enterprise rule), binding, the matrix, coverage and the plan,
through `whisperer ask` on a real SQLite file loaded from a real CSV file."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from conftest import NOW
from knowledge_support import ask, run, write_config

from bot.config.loading import load_config
from bot.process.reminders import plan_sweep
from bot.process.runtime import open_runtime
from storage.db import open_db
from storage.team import departures

GROUPS = """
[certifications.groups]
cssa_professional = ["HCIP-Cloud Service Solutions Architect*", "HCCDP*"]
cssa_expert = ["HCIE-CSSA*", "HCIE-Cloud Service Solutions Architect*", "HCCDE*"]
project_managers = ["PMP*", "IPMA*", "HCIP-PM*"]

[[competencies]]
id = "cloud_migration"
name = "Cloud Migration"
requires = { cssa_professional = 2, cssa_expert = 1, project_managers = 1 }
"""
# Renewal on 2027-03-31 (knowledge_support's [partner]); architects (HCIE-Cloud/CSSA, HCCDE) need 3.
# Ana's HCIE-Cloud expires on 2027-02-01, Eko's HCCDP on 2027-05-01, Fitri's PMP on 2027-12-01.
CSV = """name,slack_id,certification,passed,bound
Ana Lima,U0ANA,HCIE-Cloud,2024-02-01,yes
Budi Santoso,U0BUDI,HCCDE,2025-06-10,yes
Chen Wei,U0CHEN,HCIE-CSSA,2025-09-01,
Dewi Sari,U0DEWI,HCIP-Cloud Service Solutions Architect,2025-01-01,yes
Eko Putra,U0EKO,HCCDP,2024-05-01,yes
Fitri Ayu,U0FIT,PMP,2024-12-01,yes
Gita Rahma,U0GITA,HCIE-CSSA,2025-03-01,no
"""
DAY = "2026-11-26"


def setup(tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: str = "") -> Path:
    path = write_config(tmp_path, GROUPS + extra)
    (tmp_path / "certs.csv").write_text(CSV, encoding="utf-8")
    code, out = run(capsys, path, "certs", "import", str(tmp_path / "certs.csv"))
    assert code == 0 and "Imported 7 certifications" in out
    return path


@pytest.fixture
def config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    return setup(tmp_path, capsys)


def departures_in(config: Path) -> int:
    db = open_db(config.parent / "whisperer.db")
    try:
        return int(db.execute("SELECT COUNT(*) FROM people_departures").fetchone()[0])
    finally:
        db.conn.close()


def test_an_unbound_holder_does_not_count_until_bound(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = ask(capsys, config, "renewal", as_of=DAY)
    assert "Certified architects: 3 (needs ≥ 3) — at risk" in out  # Gita's HCIE-CSSA is not counted
    assert "⚠ Would count once bound: Gita Rahma (HCIE-CSSA)" in out
    assert "Would count once bound: Gita" in ask(capsys, config, "digest", as_of=DAY)
    assert "Would count once bound: Gita" in ask(capsys, config, "home", as_of=DAY, user="U0ANA")
    assert "Only admins can bind people." in ask(capsys, config, "person bind Gita", as_of=DAY, user="U0ANA")
    out = ask(capsys, config, "person bind Gita", as_of=DAY, user="U0ADMIN")
    assert "Gita Rahma's HUAWEI ID is marked bound: their 1 certificate now counts" in out
    out = ask(capsys, config, "renewal", as_of=DAY)
    assert "Certified architects: 4 (needs ≥ 3) — met" in out and "Would count once bound" not in out
    assert "already marked bound" in ask(capsys, config, "person bind Gita", as_of=DAY)


def test_whatif_combinations_say_what_flips_when_and_the_fix(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = ask(capsys, config, "whatif leave Budi 2027-01-15", as_of=DAY, user="U0ANA")  # anyone may ask
    assert "What if Budi Santoso leaves on 2027-01-15?" in out
    assert (
        "❌ KPI Certified architects (needs ≥ 3): before 3 now, 2 from 2027-02-01 → after 3 now, 2 from 2027-01-15, "
        "1 from 2027-02-01 — flips on 2027-01-15: renewal KPI missed: Provisional until Q3."
    ) in out
    assert (
        "➖ competency Cloud Migration: cssa expert (needs ≥ 1): before 2 now, met throughout → after 2 now, 1" in out
    )
    assert "Bind Gita Rahma's HUAWEI ID (no exam)" in out  # the fix: no exam needed
    out = ask(capsys, config, "whatif leave Fitri, pass Dewi PMP 2026-12-15", as_of=DAY)
    assert "Fitri Ayu leaves on 2026-11-26; Dewi Sari passes PMP on 2026-12-15" in out
    assert (
        "❌ competency Cloud Migration: project managers (needs ≥ 1): before 1 now, met throughout → after 0 now, "
        "1 from 2026-12-15 — flips on 2026-11-26 (today): competency Cloud Migration lost (short until 2026-12-15)."
    ) in out
    out = ask(capsys, config, "whatif leave Budi 2027-01-15, pass Dewi HCIE-CSSA 2027-01-10", as_of=DAY)
    assert "➖ KPI Certified architects" in out and "flips" not in out  # Dewi replaces Budi in time
    out = ask(capsys, config, "whatif lapse 2", as_of=DAY)
    assert "Budi Santoso's HCCDE (#2) lapses today" in out and "flips on 2026-11-26 (today)" in out
    out = ask(capsys, config, "whatif leave Zed", as_of=DAY)
    assert "I know nobody called 'Zed' (leave)" in out
    assert "is not something I can imagine" in ask(capsys, config, "whatif hire Zed", as_of=DAY)
    assert "'2027-13-45' is not a date" in ask(capsys, config, "whatif leave Ana 2027-13-45", as_of=DAY)
    assert departures_in(config) == 0  # read-only


def test_dates_around_the_renewal(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    on_the_day = ask(capsys, config, "whatif leave Chen 2027-03-31", as_of=DAY)
    assert "flips on 2027-03-31" in on_the_day  # the renewal day itself still counts
    after = ask(capsys, config, "whatif leave Chen 2027-04-01", as_of=DAY)
    assert "Nothing changes: all 4 people requirements stay as they are through 2027-03-31." in after
    # After the renewal date has passed, what-if looks a year ahead instead.
    late = ask(capsys, config, "whatif leave Chen 2027-04-01", as_of="2027-04-02")
    assert "through 2028-04-01" in late


def test_a_leaver_with_grace_0(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def reminders_for_ana() -> list[str]:
        runtime = open_runtime(load_config(config, env={}), NOW)
        try:
            return [p.key for p in plan_sweep(runtime, NOW.replace(month=12, day=5)) if p.key.startswith("cert-rem")]
        finally:
            runtime.close()

    assert [k for k in reminders_for_ana() if k.startswith("cert-reminder:1:")]  # 58 days before expiry
    preview = ask(capsys, config, "person leave Ana 2026-12-01", as_of=DAY, user="U0ADMIN")
    assert "Ana Lima leaves on 2026-12-01?" in preview and 'person leave "Ana Lima" 2026-12-01 confirm' in preview
    assert departures_in(config) == 0  # a preview stores nothing
    out = ask(capsys, config, "person leave Ana 2026-12-01 confirm", as_of=DAY, user="U0ADMIN")
    assert "Recorded: Ana Lima leaves on 2026-12-01. Their certificates stop counting on that day" in out
    assert "flips on 2026-12-01" in out
    assert "exactly 3 — Ana Lima, Budi Santoso, Chen Wei" in ask(capsys, config, "coverage", as_of="2026-11-30")
    out = ask(capsys, config, "coverage", as_of="2026-12-01")
    assert "Already short:" in out and "Certified architects (needs ≥ 3): short already — 2 hold it" in out
    assert reminders_for_ana() == []  # the leaver's reminders stop
    db = open_db(config.parent / "whisperer.db")
    try:
        queued = db.execute("SELECT kind, payload FROM alerts").fetchall()
    finally:
        db.conn.close()
    assert [k for k, _ in queued] == ["people-leaver"]
    assert "Ana Lima* leaves on *2026-12-01*" in queued[0][1] and "Certified architects" in queued[0][1]
    out = ask(capsys, config, "person return Ana", as_of="2026-12-02", user="U0ADMIN")
    assert "Welcome back, Ana" in out
    assert "exactly 3 — Ana Lima" in ask(capsys, config, "coverage", as_of="2026-12-02")
    assert reminders_for_ana()
    out = ask(capsys, config, "person history Ana", as_of="2026-12-02")
    assert "Leaves/left on 2026-12-01 (recorded by U0ADMIN); returned 2026-12-02" in out
    assert "has no departure to undo" in ask(capsys, config, "person return Ana", user="U0ADMIN")


def test_a_leaver_with_grace_30_and_the_enterprise_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = setup(tmp_path, capsys)
    text = config.read_text(encoding="utf-8").replace(
        "[certifications.groups]", "[certifications]\nleaver_grace_days = 30\n\n[certifications.groups]"
    )
    config.write_text(text, encoding="utf-8")
    out = ask(capsys, config, "person leave Budi 2026-12-01 confirm", as_of=DAY, user="U0ADMIN")
    assert "Their certificates count until 2026-12-31 ([certifications] leaver_grace_days = 30)" in out
    assert "Certified architects: 3 (needs ≥ 3)" in ask(capsys, config, "renewal", as_of="2026-12-30")
    assert "Certified architects: 2 (needs ≥ 3) — missed" in ask(capsys, config, "renewal", as_of="2026-12-31")
    out = ask(capsys, config, "renewal", as_of=DAY)
    assert "Budi leaves (stops counting on 2026-12-31)" in out and "someone replaces Budi before 2026-12-31" in out
    config.write_text(text.replace("leaver_grace_days = 30", 'leaver_rule = "enterprise"'), encoding="utf-8")
    out = ask(capsys, config, "whatif leave Chen 2026-12-10", as_of=DAY)
    assert "flips on 2027-03-10" in out  # counts until the 90-day replacement deadline
    out = ask(capsys, config, "person leave Chen 2026-12-10", as_of=DAY, user="U0ADMIN")
    assert "report the departure to Huawei by 2027-01-09; a replacement must pass by 2027-03-10" in out


def test_matrix_and_coverage(config: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = ask(capsys, config, "certs matrix", as_of=DAY)
    assert "person       architects cssa professional cssa expert project managers" in out
    assert "Ana Lima     !" in out  # expires before the renewal
    assert "Gita Rahma   ?          ·                 ?" in out  # unbound
    csv_text = ask(capsys, config, "certs matrix csv", as_of=DAY)
    assert "Gita Rahma,unbound (expires 2028-03-01),,unbound (expires 2028-03-01)," in csv_text
    code, said = run(capsys, config, "certs", "matrix", "--csv", str(tmp_path / "matrix.csv"))
    assert code == 0 and "Wrote 7 people × 4 groups" in said
    with (tmp_path / "matrix.csv").open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["person", "architects", "cssa_professional", "cssa_expert", "project_managers"]
    assert len(rows) == 8
    out = ask(capsys, config, "coverage", as_of=DAY)
    assert "1 single point of failure:" in out
    assert "only Fitri Ayu holds a PMP…, IPMA… or HCIP-PM… certificate — competency Cloud Migration" in out
    assert "KPI Certified architects (needs ≥ 3): exactly 3 — Ana Lima, Budi Santoso, Chen Wei" in out


def test_plan_lines_say_who_which_by_when_and_why(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = ask(capsys, config, "plan", as_of=DAY)
    assert "Exam plan through 2027-03-31" in out and "Bind Gita Rahma's HUAWEI ID (no exam)" in out
    ask(capsys, config, "cert remove 7", as_of=DAY)  # no Gita to bind: exams it is
    out = ask(capsys, config, "plan", as_of=DAY)
    assert "1 exam keeps every KPI and competency met through 2027-03-31." in out
    assert (
        "1. Ana Lima recertifies HCIE-Cloud by 2027-02-01 — covers certified architects after Ana's HCIE-Cloud "
        "lapse on 2027-02-01."
    ) in out
    out = ask(capsys, config, "plan until 2027-12-31", as_of=DAY)
    assert "3 exams keep every KPI" in out
    assert "Eko Putra recertifies HCCDP by 2027-05-01" in out and "Fitri Ayu recertifies PMP by 2027-12-01" in out
    # A booked exam counts as passed on its day.
    ask(capsys, config, "cert booked 1 2027-01-20", as_of=DAY, user="U0ADMIN")
    out = ask(capsys, config, "plan", as_of=DAY)
    assert "Nothing to sit" in out and "Counted as passed (booked exams): Ana Lima's HCIE-Cloud on 2027-01-20." in out
    # Admins see the first line on Home; the digest carries it for everyone.
    ask(capsys, config, "person leave Chen 2027-01-05 confirm", as_of=DAY, user="U0ADMIN")
    home = ask(capsys, config, "home", as_of=DAY, user="U0ADMIN")
    assert "🎓 Next in the exam plan:" in home
    assert "🎓 Next in the exam plan:" not in ask(capsys, config, "home", as_of=DAY, user="U0ANA")
    assert "🎓 Next in the exam plan:" in ask(capsys, config, "digest", as_of=DAY)
    assert "is not ahead of today" in ask(capsys, config, "plan until 2026-01-01", as_of=DAY)
    assert "is not a date" in ask(capsys, config, "plan until soon", as_of=DAY)


def test_bad_configuration_names_the_key_and_the_fix(tmp_path: Path) -> None:
    from bot.config.loading import ConfigError

    path = write_config(tmp_path, '[[competencies]]\nid = "x"\nrequires = { nobody = 2 }\n')
    with pytest.raises(ConfigError, match=r"competencies\[0\]\.requires\.nobody.*no certification group 'nobody'"):
        load_config(path, env={})
    path = write_config(tmp_path, '[certifications]\nleaver_rule = "forgive"\n')
    with pytest.raises(ConfigError, match=r"certifications\.leaver_rule.*'forgive' is not a leaver rule"):
        load_config(path, env={})
    path = write_config(tmp_path, "[certifications]\nleaver_grace_days = 400\n")
    with pytest.raises(ConfigError, match=r"leaver_grace_days.*400 is out of range"):
        load_config(path, env={})


def test_a_bad_bound_cell_is_named_and_the_rest_imported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, "")
    (tmp_path / "c.csv").write_text(
        "name,slack_id,certification,passed,bound\nA,U0A,HCIA-Cloud,2025-01-01,maybe\nB,U0B,HCIA-Cloud,2025-01-01,no\n",
        encoding="utf-8",
    )
    code, out = run(capsys, path, "certs", "import", str(tmp_path / "c.csv"))
    assert code != 0 and "line 2: bound 'maybe' is not yes or no" in out and "Imported 1 certification" in out
    db = open_db(tmp_path / "whisperer.db")
    try:
        assert [r[0] for r in db.execute("SELECT bound FROM people").fetchall()] == [0]
        assert departures.open_departures(db) == {}
    finally:
        db.conn.close()
