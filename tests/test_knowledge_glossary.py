"""whatis: abbreviations, old names, Chinese names, did-you-mean, and terms admins add."""

from __future__ import annotations

from pathlib import Path

import pytest
from knowledge_support import ask, write_config


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(
        tmp_path, '\n[glossary]\nterms = { "Whisperer" = "The person who refreshes the portal twice." }\n'
    )


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("ECS", "Elastic Cloud Server"),
        ("obs", "Object Storage Service"),
        ("CCE", "Cloud Container Engine"),
        ("ModelArts", "ModelArts"),
        ("ROMA", "ROMA Connect"),
        ("roma-connect", "ROMA Connect"),
        ("APIG", "API Gateway"),
        ("GaussDB", "GaussDB"),
        ("CodeArts", "CodeArts"),
        ("Astro Zero", "Huawei Cloud Astro Zero"),
        ("KooGallery", "KooGallery"),
        ("MDF", "Market Development Fund"),
        ("SPIF", "Sales Performance Incentive Fund"),
        ("HCIE", "Huawei Certified ICT Expert"),
        ("HCCDE", "Huawei Certified Cloud Developer"),
        ("对象存储服务", "Object Storage Service"),
        ("华为云WeLink", "Huawei Cloud WeLink"),
        ("Huawei Cloud ModelArts", "ModelArts"),
    ],
)
def test_terms_by_any_name(config: Path, query: str, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = ask(capsys, config, f"whatis {query}")
    assert out.splitlines()[0] == name


def test_old_names_say_what_they_became(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for old, new in (("DevCloud", "CodeArts"), ("AppCube", "Huawei Cloud Astro Zero"), ("Marketplace", "KooGallery")):
        out = ask(capsys, config, f"whatis {old}")
        assert f"{old} is the old name of {new}." in out
    out = ask(capsys, config, "whatis ROMA")
    assert "Enterprise application and data integration platform" in out
    assert "Source: https://support.huaweicloud.com/en-us/productdesc-roma/what-is-ROMA.html." in out
    out = ask(capsys, config, "whatis LOI")
    assert "Not verified: inferred from general knowledge" in out


def test_did_you_mean_and_admin_terms(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = ask(capsys, config, "whatis ModelArt")
    assert "I don't know 'ModelArt' yet." in out and "Did you mean 'ModelArts'" in out
    out = ask(capsys, config, "whatis PSM")
    assert "Admins can teach me: /whisperer whatis add PSM = what it means." in out
    out = ask(capsys, config, "whatis add PSM = Partner Solution Management", user="U0ANA")
    assert "Only admins can add glossary terms." in out
    out = ask(capsys, config, "whatis add PSM = Partner Solution Management, now Partner Build Management")
    assert "Learnt PSM: Partner Solution Management, now Partner Build Management" in out
    out = ask(capsys, config, "whatis psm")
    assert "Partner Solution Management, now Partner Build Management" in out and "Added by terminal." in out
    out = ask(capsys, config, "what is Whisperer?")
    assert "The person who refreshes the portal twice." in out and "Added by whisperer.toml." in out
    assert "Forgot 'PSM'." in ask(capsys, config, "whatis remove PSM")
    assert "I don't know 'PSM' yet." in ask(capsys, config, "whatis PSM")
