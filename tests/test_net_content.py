"""Binary bodies are not pages, and a charset the bytes contradict is read right and warned about.

Through the real pipeline: a server on 127.0.0.1, the poll, the database."""

from __future__ import annotations

import gzip

import pytest
from conftest import FixtureServer, Response, Watch

from watchers.reading.content import binary_refusal, sniff_binary
from watchers.reading.decode import decode_body
from watchers.reading.feeds import parse_feed
from watchers.sources import SourceSpec

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
CHINESE = "合作伙伴计划：铂金级现更名为认证增强级，跨云政策更新至第三版。"


def spec(source_id: str, url: str, kind: str = "html") -> SourceSpec:
    return SourceSpec(id=source_id, kind=kind, url=url)


@pytest.mark.parametrize(
    ("body", "content_type", "what"),
    [
        (PNG, "text/html", "a PNG image"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg", "a JPEG image"),
        (b"GIF89a\x01\x00\x01\x00", None, "a GIF image"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/pdf", "a PDF document"),
        (b"PK\x03\x04\x14\x00\x06\x00", "application/octet-stream", "a zip archive"),
        (gzip.compress(b"<html></html>"), "text/html", "a gzip file"),
        (b"\x00\x01\x02\x03binary", "application/octet-stream", "binary data"),
        (b"<html>an error page</html>", "image/png", "an image"),
        (b"anything", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "an Office document"),
    ],
)
def test_binary_bodies_are_named(body: bytes, content_type: str | None, what: str) -> None:
    found = sniff_binary(body, content_type)
    assert found is not None and found.startswith(what)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<html><body>hello</body></html>", "application/octet-stream"),  # a page mislabelled: still text
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"),
        (CHINESE.encode("gb18030"), "text/html; charset=gbk"),
        ("\ufeffhello".encode("utf-16"), None),
    ],
)
def test_text_is_not_binary(body: bytes, content_type: str | None) -> None:
    assert sniff_binary(body, content_type) is None


def test_only_text_kinds_refuse_binary() -> None:
    assert binary_refusal("pdf", b"%PDF-1.7", "application/pdf") is None  # the pdf kind reads it
    assert binary_refusal("file", PNG, None) is None
    message = binary_refusal("feed", b"%PDF-1.7", "application/pdf")
    assert message is not None and 'use kind = "pdf"' in message


def test_a_png_served_as_html_is_an_error_not_a_snapshot(watch: Watch, server: FixtureServer) -> None:
    server.routes["/tiers"] = Response(body=PNG, headers={"Content-Type": "text/html"})
    server.routes["/feed"] = Response(body=PNG, headers={"Content-Type": "image/png"})
    outcomes = watch.poll(spec("tiers", server.url("/tiers")), spec("feed", server.url("/feed"), "feed"))
    assert {o.status for o in outcomes.values()} == {"error"}
    tiers = watch.source("tiers")
    assert tiers["last_hash"] is None
    assert "the server sent a PNG image (served as text/html), not a html document" in tiers["last_error"]
    assert "a PNG image (served as image/png), not a feed document" in watch.source("feed")["last_error"]


def test_a_charset_lie_is_read_right_and_warned(watch: Watch, server: FixtureServer) -> None:
    page = f"<html><body><main><p>{CHINESE}</p></main></body></html>"
    server.routes["/gbk"] = Response(body=page.encode("gbk"), headers={"Content-Type": "text/html; charset=iso-8859-1"})
    server.routes["/utf8"] = Response(
        body=page.encode("utf-8"), headers={"Content-Type": "text/html; charset=windows-1252"}
    )
    watch.poll(spec("gbk", server.url("/gbk")), spec("utf8", server.url("/utf8")))
    for source_id, what in (("gbk", "GBK/GB18030 Chinese"), ("utf8", "UTF-8")):
        assert watch.snapshot(source_id) == CHINESE  # no mojibake
        warning = watch.source(source_id)["warning"]
        assert "declares charset" in warning and what in warning, warning
    assert "iso-8859-1" in watch.source("gbk")["warning"]
    assert "windows-1252" in watch.source("utf8")["warning"]


@pytest.mark.parametrize(
    "text", ["Müller & Söhne GmbH, Straße 5", "café au lait, été, naïve", "Ñandú — «Señor» ¿qué?", "Ça coûte 5 €"]
)
def test_honest_latin_1_pages_are_not_called_liars(text: str) -> None:
    decoded = decode_body(text.encode("cp1252"), "text/html; charset=iso-8859-1")
    assert decoded.text == text
    assert decoded.warning is None


def test_feeds_get_the_http_charset() -> None:
    title = "Política de nubes"
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>{title}</title><guid>1</guid></item></channel></rss>"
    ).encode("iso-8859-1")
    # No XML declaration of the charset: only the HTTP header says it (XML would assume UTF-8).
    assert parse_feed(body, (), "application/rss+xml; charset=ISO-8859-1").entries[0].title == title
    # A header that the bytes contradict: read as what they are, with a warning naming both.
    chinese = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>{CHINESE}</title><guid>1</guid></item></channel></rss>"
    ).encode()
    feed = parse_feed(chinese, (), "text/xml; charset=iso-8859-1")
    assert feed.entries[0].title == CHINESE
    assert feed.warning is not None and "iso-8859-1" in feed.warning and "UTF-8" in feed.warning
