"""The lxml reader (watchers/reading/fasthtml.py) gives the very lines the BeautifulSoup reader gives: a snapshot
taken before it came must not read as a change after."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchers.reading.fasthtml import parse_document, selector_xpath
from watchers.reading.html import SelectorError, parse_html, parse_html_soup

PAGES = Path(__file__).parent / "data"
TRICKY = """<!DOCTYPE html><html><head><title>T</title></head><body>
<div class="a b" id="x">  Hello   <b>bold</b>  <!-- c --> after comment <?pi x?> after pi
<pre>  keep
   spaces  <i> </i>  </pre> tail
<ruby>漢<rp>(</rp><rt>kan</rt><rp>)</rp>字</ruby> ruby
<table class="t"><tr><th>A</th><th>B</th></tr><tr><td> 1 </td><td>2<br>3</td></tr></table>
<p>para &amp; entity &nbsp; x</p><textarea>  </textarea><p>   </p><p>\xa0</p><p>x<span>\x0c</span>y</p>
<ul><li>one<li>two</ul><section><div><div class="a">nested a</div></div></section>
<script>var x=1</script><noscript>no</noscript><svg><text>svg</text></svg>
<p class="A">Upper</p><DIV ID="Y">caps</DIV><form><form>f</form><td>stray cell
</div><main><p>m1</p><main><p>m2</p></main></main><pre><main>  in pre <b> </b> </main></pre>
</body></html>"""
DOCUMENTS = {
    **{p.name: p.read_bytes().decode("utf-8", "replace") for p in sorted(PAGES.rglob("*.htm*"))},
    "tricky": TRICKY,
    "no body": "<p>just a paragraph</p> text",
    "text": "plain text only",
    "empty": "",
    "deep": "<body><p>before</p>" + "<div>" * 3000 + "deep" + "</div>" * 3000 + "<p>after</p></body>",
    # Just under the depth libxml2 builds completely, and just over it with fewer closing tags than opening ones.
    "nearly too deep": "<body>" + "<div>" * 2040 + "deep" + "</div>" * 2040 + "<p>after</p></body>",
    "too deep, unclosed": "<body><p>before</p>" + "<b>" * 2050 + "deep",
    "nested": """<body><pre> a <textarea>  </textarea> <b> </b>\n</pre>\n<ruby>x<rt> <pre> hid <b>den</b> </pre>
        </rt> y</ruby><p>a<script>x</script>  <style>y</style>\n<b>b</b>\t<!-- c -->\x0c</p>
        <table><tr><td><table><tr><td>inner</td></tr></table>|</td><th> </th></tr></table>
        <pre><rp> ( </rp> kept <!-- c --> \n </pre><p>| x |</p><div><td>cell<div>block</div>after</td></div></body>""",
}
SELECTORS = [
    None, "main", "table", "p", ".a", "#x", "div > p", "div p", "h1, p", "table td", "tr > td", "div.a", "#Y",
    "div", "body", "*", ".A", "li", "pre", "rt", "section div", "main > p",
]  # fmt: skip


def lines_or_error(read: object, text: str, selector: str | None) -> list[str] | str:
    try:
        return read(text, selector)  # type: ignore[operator, no-any-return]
    except SelectorError as exc:
        return f"error: {exc}"


@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_the_lxml_reader_gives_the_beautifulsoup_readers_lines(name: str) -> None:
    text = DOCUMENTS[name]
    for selector in SELECTORS:
        assert lines_or_error(parse_html, text, selector) == lines_or_error(parse_html_soup, text, selector), selector


def test_selectors_beyond_the_simple_ones_are_left_to_soupsieve() -> None:
    assert selector_xpath("main") is not None and selector_xpath("div.a > p, #x td") is not None
    for selector in ("a:hover", "li:nth-child(2)", "a[href]", "h1 + p", "h1 ~ p", "div."):
        assert selector_xpath(selector) is None
    assert parse_html(TRICKY, "li:nth-child(2)") == ["two"]  # read by BeautifulSoup, as before


def test_a_page_deeper_than_libxml2_builds_is_read_by_beautifulsoup() -> None:
    assert parse_document(DOCUMENTS["deep"]) is None
    assert parse_html(DOCUMENTS["deep"]) == ["before", "deep", "after"]
