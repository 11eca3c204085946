"""HTML and file sources end to end: extraction from fixture pages, new/changed/unchanged, noise, diffs."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import DATA, NOW, FixtureServer, Response, Watch

from storage.db import stamp
from watchers.fetching.http import Fetched
from watchers.reading.normalise import content_hash
from watchers.reading.observe import observe
from watchers.sources import SourceSpec

PAGES = DATA / "pages"
CASES: list[dict[str, Any]] = json.loads((PAGES / "cases.json").read_text(encoding="utf-8"))
HTML = {"Content-Type": "text/html; charset=utf-8"}
TIERS = (PAGES / "tiers.html").read_text(encoding="utf-8")
# Advanced moves from 72 to 96 hours and a Premier row appears: one line removed, two added.
TIERS_V2 = TIERS.replace("<td>72 hours</td>", "<td>96 hours</td>").replace(
    "</table>", "  <tr><td>Premier</td><td>120 hours</td><td>8%</td></tr>\n</table>"
)


def expected_lines(name: str) -> list[str]:
    return (PAGES / name).read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("case", CASES, ids=[f"{c['page']}:{c.get('selector') or 'body'}" for c in CASES])
def test_page_extraction(case: dict[str, Any]) -> None:
    spec = SourceSpec(
        id="page",
        kind="html",
        url="http://portal.test/page",
        selector=case.get("selector"),
        ignore=tuple(case.get("ignore", ())),
        unordered=case.get("unordered", False),
    )
    body = (PAGES / case["page"]).read_bytes()
    fetched = Fetched(False, body, case.get("content_type", "text/html; charset=utf-8"), None, None, spec.url)

    obs = observe(spec, fetched)

    assert obs.status == "ok", obs.error
    assert obs.text.splitlines() == expected_lines(case["expected"]), case["why"]
    assert obs.warning == case.get("warning")


def test_html_source_new_then_changed_then_unchanged(server: FixtureServer, watch: Watch) -> None:
    server.routes["/tiers"] = Response(body=TIERS.encode(), headers=HTML)
    spec = SourceSpec(id="tiers", kind="html", url=server.url("/tiers"), selector="table.tiers")

    first = watch.poll(spec)["tiers"]
    assert first.status == "new"
    assert watch.snapshot("tiers") == "\n".join(expected_lines("tiers.table.txt"))
    assert watch.changes("tiers") == []
    assert watch.source("tiers")["last_status"] == "new"

    server.routes["/tiers"] = Response(body=TIERS_V2.encode(), headers=HTML)
    second = watch.poll(spec, now=NOW + timedelta(hours=1))["tiers"]
    assert second.status == "changed"
    [change] = watch.changes("tiers")
    assert second.change_ids == [change["id"]]
    assert change["kind"] == "page"
    assert change["summary"] == "2 lines added, 1 removed: 'Advanced | 96 hours | 4%'"
    assert second.summaries == [change["summary"]]
    assert (change["added"], change["removed"]) == (2, 1)
    assert change["diff"] == "\n".join(
        [
            "--- tiers (before)",
            "+++ tiers (now)",
            "@@ -1,4 +1,5 @@",
            " Tier | Deal registration | Rebate",
            " Certified | 48 hours | 2%",
            "-Advanced | 72 hours | 4%",
            "+Advanced | 96 hours | 4%",
            " Elite | 96 hours | 6%",
            "+Premier | 120 hours | 8%",
        ]
    )
    new_text = watch.snapshot("tiers")
    assert new_text is not None and "Premier | 120 hours | 8%" in new_text
    assert change["new_hash"] == content_hash(new_text)
    assert change["old_hash"] == content_hash("\n".join(expected_lines("tiers.table.txt")))
    [alert] = watch.alerts("change")
    assert alert["change_id"] == change["id"]
    assert json.loads(alert["payload"])["summary"] == change["summary"]

    third = watch.poll(spec, now=NOW + timedelta(hours=2))["tiers"]
    assert third.status == "unchanged"
    assert len(watch.changes("tiers")) == 1
    row = watch.source("tiers")
    assert row["last_change_at"] == stamp(NOW + timedelta(hours=1))
    assert row["last_checked"] == stamp(NOW + timedelta(hours=2))
    assert watch.count("snapshots") == 2


@pytest.mark.parametrize(
    ("name", "before", "after", "summary"),
    [
        (
            "notes.txt",
            "Rebates\nElite: 6%\nAdvanced: 4%\n",
            "Rebates\nElite: 7%\nAdvanced: 4%\nCertified: 2%\n",
            "2 lines added, 1 removed: 'Elite: 7%'",
        ),
        (
            "tiers.html",
            TIERS,
            TIERS_V2,
            "2 lines added, 1 removed: 'Advanced | 96 hours | 4%'",
        ),
        (
            "retired.txt",
            "Rebates\nLegacy programme: closed\nElite: 6%\n",
            "Rebates\nElite: 6%\n",
            "1 line removed: 'Legacy programme: closed'",
        ),
    ],
)
def test_file_source_new_then_changed_then_unchanged(
    tmp_path: Path, watch: Watch, name: str, before: str, after: str, summary: str
) -> None:
    path = tmp_path / "saved" / name
    path.parent.mkdir()
    path.write_text(before, encoding="utf-8")
    spec = SourceSpec(id="saved", kind="file", url=str(path))

    assert watch.poll(spec)["saved"].status == "new"
    path.write_text(after, encoding="utf-8")
    changed = watch.poll(spec, now=NOW + timedelta(hours=1))["saved"]
    unchanged = watch.poll(spec, now=NOW + timedelta(hours=2))["saved"]

    assert changed.status == "changed"
    assert changed.summaries == [summary]
    assert unchanged.status == "unchanged"
    assert [c["summary"] for c in watch.changes("saved")] == [summary]


def test_html_file_is_parsed_as_html_and_text_file_as_text(tmp_path: Path, watch: Watch) -> None:
    page = tmp_path / "tiers.html"
    page.write_text(TIERS, encoding="utf-8")
    text = tmp_path / "tiers.txt"
    text.write_text("<b>Elite</b>  tier\n", encoding="utf-8")

    watch.poll(
        SourceSpec(id="html-file", kind="file", url=str(page)), SourceSpec(id="text", kind="file", url=str(text))
    )

    assert watch.snapshot("html-file") == "\n".join(expected_lines("tiers.full.txt"))
    assert watch.snapshot("text") == "<b>Elite</b> tier"


NOTICE = (PAGES / "notice.html").read_text(encoding="utf-8")
# The same page a minute later: every volatile fragment differs, the content does not.
NOTICE_LATER = (
    NOTICE.replace("Visitors: 12,345", "Visitors: 12,391")
    .replace("Updated at 10:42:07", "Updated at 10:43:12")
    .replace("session_id=8f3a9c2d1e7b6a5f", "session_id=0b1c2d3e4f5a6b7c")
    .replace("csrf_token: 9f8e7d6c5b4a3f2e", "csrf_token: 1a2b3c4d5e6f7a8b")
    .replace("1,024 views", "1,031 views")
    .replace("浏览量：5321", "浏览量：5340")
    .replace("Posted 3 hours ago", "Posted 4 hours ago")
)


def test_volatile_fragments_are_not_changes(server: FixtureServer, watch: Watch) -> None:
    assert NOTICE_LATER != NOTICE and NOTICE_LATER.count("12,391") == 1  # the fixture really varies
    server.routes["/notice"] = Response(body=NOTICE.encode(), headers=HTML)
    spec = SourceSpec(id="notice", kind="html", url=server.url("/notice"))
    watch.poll(spec)

    server.routes["/notice"] = Response(body=NOTICE_LATER.encode(), headers=HTML)
    quiet = watch.poll(spec, now=NOW + timedelta(minutes=1))["notice"]

    assert quiet.status == "unchanged"
    assert watch.changes("notice") == []
    assert watch.count("snapshots") == 1

    # A real edit on the same noisy page is still seen.
    edited = NOTICE_LATER.replace("lasts 90 days", "lasts 120 days")
    server.routes["/notice"] = Response(body=edited.encode(), headers=HTML)
    loud = watch.poll(spec, now=NOW + timedelta(minutes=2))["notice"]
    assert loud.status == "changed"
    assert loud.summaries == [
        "1 line added, 1 removed: 'From 1 January 2027, deal registration protection lasts 120 days.'"
    ]


PARTNERS = (PAGES / "partners.html").read_text(encoding="utf-8")
PARTNERS_LATER = PARTNERS.replace(
    "<li>Zeta Systems — Elite</li>\n  <li>Alpha Cloud — Advanced</li>\n  <li>Build 2026.11.26-7f3a</li>",
    "<li>Build 2026.11.27-09bc</li>\n  <li>Alpha Cloud — Advanced</li>\n  <li>Zeta Systems — Elite</li>",
)


def test_ignore_patterns_and_unordered(server: FixtureServer, watch: Watch) -> None:
    assert PARTNERS_LATER != PARTNERS
    server.routes["/partners"] = Response(body=PARTNERS.encode(), headers=HTML)
    url = server.url("/partners")
    calm = SourceSpec(id="calm", kind="html", url=url, selector="#partners", ignore=(r"^Build \S+$",), unordered=True)
    ordered = SourceSpec(id="ordered", kind="html", url=url, selector="#partners", ignore=(r"^Build \S+$",))
    raw = SourceSpec(id="raw", kind="html", url=url, selector="#partners", unordered=True)
    watch.poll(calm, ordered, raw)

    server.routes["/partners"] = Response(body=PARTNERS_LATER.encode(), headers=HTML)
    outcomes = watch.poll(calm, ordered, raw, now=NOW + timedelta(hours=1))

    assert outcomes["calm"].status == "unchanged"
    assert outcomes["ordered"].status == "changed"  # the same reordering counts without unordered = true
    assert outcomes["raw"].status == "changed"  # and the build line counts without the ignore pattern
    assert outcomes["raw"].summaries == ["1 line added, 1 removed: 'Build 2026.11.27-09bc'"]
    assert watch.snapshot("calm") == "Alpha Cloud — Advanced\nZeta Systems — Elite"


def test_a_new_ignore_pattern_is_not_a_change_and_later_changes_still_count(
    server: FixtureServer, watch: Watch
) -> None:
    def page(build: int, rebate: str) -> Response:
        return Response(body=f"<p>Build {build}</p><p>Elite rebate: {rebate}</p>".encode(), headers=HTML)

    server.routes["/rebates"] = page(101, "6%")
    noisy = SourceSpec(id="rebates", kind="html", url=server.url("/rebates"))
    watch.poll(noisy)

    # The operator adds an ignore pattern for the build line; the page's build number moves on.
    calm = SourceSpec(id="rebates", kind="html", url=server.url("/rebates"), ignore=(r"^Build \d+$",))
    server.routes["/rebates"] = page(102, "6%")
    assert watch.poll(calm, now=NOW + timedelta(hours=1))["rebates"].status == "unchanged"
    assert watch.snapshot("rebates") == "Elite rebate: 6%"

    server.routes["/rebates"] = page(103, "7%")
    later = watch.poll(calm, now=NOW + timedelta(hours=2))["rebates"]
    assert later.status == "changed"
    assert later.summaries == ["1 line added, 1 removed: 'Elite rebate: 7%'"]


@pytest.mark.parametrize(
    ("name", "before", "after"),
    [
        ("notes.txt", "{Draft} Rebate rules\nElite: 6%\n", "{Draft} Rebate rules\nElite: 7%\n"),
        ("prices.json", '{"tier": "Elite", "rebate": 6}\n', '{"tier": "Elite", "rebate": 7}\n'),
    ],
)
def test_pages_that_start_with_a_brace_are_still_pages(
    tmp_path: Path, watch: Watch, name: str, before: str, after: str
) -> None:
    path = tmp_path / name
    path.write_text(before, encoding="utf-8")
    spec = SourceSpec(id="braces", kind="file", url=str(path))
    watch.poll(spec)

    path.write_text(after, encoding="utf-8")
    outcome = watch.poll(spec, now=NOW + timedelta(hours=1))["braces"]

    assert outcome.status == "changed"
    [change] = watch.changes("braces")
    assert change["kind"] == "page"
    assert f"+{after.strip().splitlines()[-1]}" in change["diff"].splitlines()
