"""kind = "pdf": text per page, a policy version bump found by the policy extractor, clear errors."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pytest
from conftest import NOW, FixtureServer, Response, Watch

from bot.demo.pdfwriter import write_pdf
from storage.db import transaction
from storage.programme import knowledge
from storage.watching import sources as state
from watchers.facts.extractors import make_extractors
from watchers.poll import poll_sources
from watchers.reading.pdf import PdfError, pdf_lines
from watchers.sources import SourceSpec

PDF = {"Content-Type": "application/pdf"}


def policy(version: str, growth: int) -> bytes:
    return write_pdf(
        [
            [f"Cross-Cloud Partner Policy v{version}", "Updated 2026-11-24."],
            [f"Cloud consumption growth must be at least {growth}% year on year."],
            ["Deal registration closes on 2027-01-15."],
        ],
        title="Cross-cloud policy",
    )


def encrypted(body: bytes) -> bytes:
    # pypdf (a test-only dependency) writes the encrypted fixture: no PDF encryption by hand.
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(body)))
    writer.encrypt("s3cret", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_one_block_per_page() -> None:
    assert pdf_lines(policy("3.2.1", 20)) == [
        "page 1",
        "Cross-Cloud Partner Policy v3.2.1",
        "Updated 2026-11-24.",
        "page 2",
        "Cloud consumption growth must be at least 20% year on year.",
        "page 3",
        "Deal registration closes on 2027-01-15.",
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (encrypted(policy("3.2.1", 20)), "encrypted with a password"),
        (write_pdf([[], []]), "2 pages hold no text, only images"),
        (b"<!DOCTYPE html><html><title>Sign in</title>", "not a PDF"),
        (b"%PDF-1.4\n garbage", "damaged"),
    ],
    ids=["encrypted", "image-only", "html", "corrupt"],
)
def test_unreadable_pdfs_are_clear_errors(body: bytes, message: str) -> None:
    with pytest.raises(PdfError) as info:
        pdf_lines(body)
    assert message in str(info.value)


def test_pdf_version_bump_found_by_the_policy_extractor(server: FixtureServer, watch: Watch) -> None:
    server.routes["/policy.pdf"] = Response(body=policy("3.2.1", 20), headers=PDF)
    spec = SourceSpec(id="policy-pdf", kind="pdf", url=server.url("/policy.pdf"), topic="policy", name="Policy PDF")
    extractors = make_extractors("Acme Cloud", "Premier")
    with transaction(watch.db):
        state.sync_sources(watch.db, [spec.public_dict()], NOW)
    (first,) = poll_sources(watch.db, [spec], watch.client, watch.limiter, watch.settings, NOW, extractors=extractors)
    assert first.status == "new"
    assert knowledge.latest_policy_version(watch.db, spec.id)["version"] == "v3.2.1"

    server.routes["/policy.pdf"] = Response(body=policy("3.3", 25), headers=PDF)
    (second,) = poll_sources(watch.db, [spec], watch.client, watch.limiter, watch.settings, NOW, extractors=extractors)
    assert second.status == "changed"
    (alert,) = [a for a in watch.alerts() if a["kind"] == "policy-version"]
    assert "Policy PDF v3.2.1 → v3.3" in alert["payload"]
    (change,) = watch.changes(spec.id)
    assert "+Cloud consumption growth must be at least 25% year on year." in change["diff"]


def test_pdf_file_source_and_image_only_error(tmp_path: Path, watch: Watch) -> None:
    file = tmp_path / "policy.pdf"
    file.write_bytes(policy("3.2.1", 20))
    spec = SourceSpec(id="policy-file", kind="pdf", url=str(file), topic="policy")
    assert watch.poll(spec)["policy-file"].status == "new"
    assert "page 2" in (watch.snapshot("policy-file") or "")

    file.write_bytes(write_pdf([[]]))
    outcome = watch.poll(spec)["policy-file"]
    assert outcome.status == "error"
    assert outcome.error is not None and "hold no text" in outcome.error
