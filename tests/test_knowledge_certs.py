"""People and certifications: CSV import (bad rows reported, good rows kept), cert add/remove, certs, people."""

from __future__ import annotations

from pathlib import Path

import pytest
from knowledge_support import ask, run, write_config

CSV = """name,email,slack_id,tz,certification,number,passed,expires
Ana Lima,ana@acme.example,U0ANA,Asia/Jakarta,HCIE-Cloud Service Solutions Architect,HCIE-0042,2024-02-01,
Budi Santoso,budi@acme.example,U0BUDI,,HCCDE,,10 June 2025,
Chen Wei,chen@acme.example,,Europe/Berlin,HCIA-Cloud Service,,2023-12-20,
Dewi,dewi@acme.example,dewi,,HCIP-Cloud Service Solutions Architect,,2023-12-03,
Eko,eko@acme.example,U0EKO,,HCIP-Datacom,,2024-13-01,
,nobody@acme.example,,,HCIA-AI,,2024-01-01,
Fitri,fitri@acme.example,U0FITRI,,HCIA-AI,,,
Gita,gita@acme.example,U0GITA,Mars/Base,HCIA-AI,,2024-01-01,
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path, "\n[certifications]\nvalidity_by_level = { HCIA = 2 }\n")


def test_bad_rows_are_reported_by_line_and_good_rows_imported(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_file = tmp_path / "certs.csv"
    csv_file.write_text(CSV, encoding="utf-8")
    code, out = run(capsys, config, "certs", "import", str(csv_file))
    assert code == 1
    assert "Imported 3 certifications from certs.csv: 3 new, 0 updated; 3 new people." in out
    assert "5 rows were not imported" in out
    assert "line 5: slack_id 'dewi' is not a Slack user ID; use IDs like U0ANA123" in out
    assert "line 6: passed '2024-13-01' is not a date; write it as YYYY-MM-DD" in out
    assert "line 7: the name is empty; fill in the person's name" in out
    assert "line 8: neither passed nor expires is given; add the date the exam was passed" in out
    assert "line 9: tz 'Mars/Base' is not a timezone; use an IANA name such as Asia/Jakarta" in out

    out = ask(capsys, config, "certs", as_of="2026-11-26")
    assert "Ana Lima — HCIE-Cloud Service Solutions Architect (HCIE) · no. HCIE-0042 · expires 2027-02-01" in out
    assert "in 67 days" in out
    assert "Budi Santoso — HCCDE (HCCDE) · expires 2028-06-10" in out  # "10 June 2025" read as a date
    assert "Chen Wei — HCIA-Cloud Service (HCIA) · expires 2025-12-20, EXPIRED 341 days" in out

    # The fixed file imported again: the good rows are updated, not doubled.
    csv_file.write_text(CSV.replace(",dewi,", ",U0DEWI,").replace("2024-13-01", "2024-12-01"), encoding="utf-8")
    code, out = run(capsys, config, "certs", "import", str(csv_file))
    assert "Imported 5 certifications from certs.csv: 2 new, 3 updated; 2 new people." in out
    out = ask(capsys, config, "people")
    assert out.count("Ana Lima") == 1 and "Dewi — U0DEWI; 1 certification" in out
    assert "Chen Wei — chen@acme.example (no Slack ID yet), Europe/Berlin; 1 certification" in out


def test_a_file_without_the_needed_columns_imports_nothing(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_file = tmp_path / "certs.csv"
    csv_file.write_text("who,exam\nAna,HCIE\n", encoding="utf-8")
    code, out = run(capsys, config, "certs", "import", str(csv_file))
    assert code == 2
    assert "the header has no name or certification or passed (or expires) column (found: who, exam)" in out
    assert "Nothing was imported." in out
    code, out = run(capsys, config, "certs", "import", str(tmp_path / "missing.csv"))
    assert code == 2 and "no such file" in out


def test_cert_add_and_remove_respect_who_may(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = ask(capsys, config, 'cert add me "HCIE-Cloud Service Solutions Architect" 2024-02-01', user="U0ANA")
    assert "Added #1: U0ANA — HCIE-Cloud Service Solutions Architect (HCIE), expires 2027-02-01" in out
    out = ask(capsys, config, "cert add U0BUDI HCCDE 2025-06-10", user="U0ANA")
    assert "Only admins can add certifications for someone else." in out
    out = ask(capsys, config, "cert add <@U0BUDI|budi> HCCDE 2025-06-10 number=D-1", user="U0ADMIN")
    assert "Added #2: U0BUDI — HCCDE (HCCDE), expires 2028-06-10" in out
    out = ask(capsys, config, "cert add chen@acme.example HCIA-AI 2025-01-15 expires=2027-01-15")
    assert "Added #3: Chen — HCIA-AI (HCIA), expires 2027-01-15" in out
    out = ask(capsys, config, "cert add U0ANA HCIE-Cloud 2024-13-01", user="U0ANA")
    assert "Passed '2024-13-01' is not a date" in out and "Usage: /whisperer cert add" in out

    out = ask(capsys, config, "certs mine", as_of="2026-11-26", user="U0ANA")
    assert "HCIE-Cloud Service Solutions Architect" in out and "HCCDE" not in out
    out = ask(capsys, config, "certs expiring", as_of="2026-11-26")
    assert "Certifications expiring within 90 days" in out and "Ana" not in out
    out = ask(capsys, config, "certs expiring", as_of="2026-12-01")
    assert "HCIE-Cloud Service Solutions Architect" in out and "HCIA-AI" in out and "HCCDE" not in out
    out = ask(capsys, config, "certs @U0BUDI")
    assert "Certifications: U0BUDI" in out and "no. D-1" in out

    out = ask(capsys, config, "cert remove 2", user="U0ANA")
    assert "Only admins can remove someone else's certification." in out
    out = ask(capsys, config, "cert remove 1", user="U0ANA")
    assert "Removed #1: U0ANA's HCIE-Cloud Service Solutions Architect" in out
    out = ask(capsys, config, "cert remove 1")
    assert "There is no certification #1." in out
    out = ask(capsys, config, "certs nobody")
    assert "I know nobody called 'nobody'." in out
