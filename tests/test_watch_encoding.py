"""Chinese pages over HTTP: GBK, GB2312 (really GBK) and Big5 read correctly; a lying charset is a warning."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import DATA, NOW, FixtureServer, Response, Watch

from watchers.sources import SourceSpec

PAGES = DATA / "pages"


def expected(name: str) -> str:
    return (PAGES / name).read_text(encoding="utf-8").rstrip("\n")


@pytest.mark.parametrize(
    ("page", "content_type", "must_contain"),
    [
        ("gbk-meta.html", "text/html", "精英级合作伙伴：喆悦科技"),  # charset only in <meta>
        ("gb2312-header.html", "text/html; charset=gb2312", "联系人：朱镕"),  # 镕 is GBK, not GB2312
        ("big5.html", "text/html", "華為雲合作夥伴計劃"),
        ("big5.html", "text/html; charset=big5", "菁英級夥伴：喆悅科技"),  # 喆 is an HKSCS extension
    ],
)
def test_chinese_pages_are_read_correctly(
    server: FixtureServer, watch: Watch, page: str, content_type: str, must_contain: str
) -> None:
    body = (PAGES / page).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")  # the fixture really is not UTF-8
    server.routes["/cn"] = Response(body=body, headers={"Content-Type": content_type})

    outcome = watch.poll(SourceSpec(id="cn", kind="html", url=server.url("/cn")))["cn"]

    assert outcome.status == "new"
    snapshot = watch.snapshot("cn")
    assert snapshot == expected(page.replace(".html", ".txt"))
    assert must_contain in snapshot.splitlines()
    assert "\ufffd" not in snapshot
    assert watch.source("cn")["warning"] is None


@pytest.mark.parametrize(
    ("page", "warning"),
    [
        ("gbk-says-utf8.html", "page declares utf-8 but is not valid utf-8; read as gb18030"),
        ("broken-bytes.html", "3 bytes could not be read as utf-8 and were replaced"),
    ],
)
def test_bytes_invalid_in_the_declared_charset_are_recorded_with_a_warning(
    server: FixtureServer, watch: Watch, page: str, warning: str
) -> None:
    body = (PAGES / page).read_bytes()
    server.routes["/lying"] = Response(body=body, headers={"Content-Type": "text/html; charset=utf-8"})
    spec = SourceSpec(id="lying", kind="html", url=server.url("/lying"))

    outcome = watch.poll(spec)["lying"]

    assert outcome.status == "new"
    assert outcome.warning == warning
    row = watch.source("lying")
    assert row["warning"] == warning
    assert row["last_status"] == "new" and row["last_error"] is None
    assert watch.snapshot("lying") == expected(page.replace(".html", ".txt"))


def test_a_change_on_a_page_with_bad_bytes_is_still_recorded(server: FixtureServer, watch: Watch) -> None:
    body = (PAGES / "broken-bytes.html").read_bytes()
    server.routes["/broken"] = Response(body=body, headers={"Content-Type": "text/html; charset=utf-8"})
    spec = SourceSpec(id="broken", kind="html", url=server.url("/broken"))
    watch.poll(spec)

    server.routes["/broken"] = Response(
        body=body.replace(b"Tier list", b"Tier list 2027"), headers={"Content-Type": "text/html; charset=utf-8"}
    )
    outcome = watch.poll(spec, now=NOW + timedelta(hours=1))["broken"]

    assert outcome.status == "changed"
    assert outcome.summaries == ["1 line added, 1 removed: 'Tier list 2027'"]
    assert watch.source("broken")["warning"] == "3 bytes could not be read as utf-8 and were replaced"


def test_a_warning_clears_when_the_server_fixes_its_charset(server: FixtureServer, watch: Watch) -> None:
    body = (PAGES / "gbk-says-utf8.html").read_bytes()
    server.routes["/cn"] = Response(body=body, headers={"Content-Type": "text/html; charset=utf-8"})
    spec = SourceSpec(id="cn", kind="html", url=server.url("/cn"))
    watch.poll(spec)
    assert watch.source("cn")["warning"] is not None

    server.routes["/cn"] = Response(body=body, headers={"Content-Type": "text/html; charset=gbk"})
    outcome = watch.poll(spec, now=NOW + timedelta(hours=1))["cn"]

    assert outcome.status == "unchanged"
    assert watch.source("cn")["warning"] is None
