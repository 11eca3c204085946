"""HTML and plain-text pages to lines of visible text."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # BeautifulSoup and soupsieve are imported when a page is read, not when this module is
    from bs4.element import PageElement, Tag

_DROP = ("script", "style", "noscript", "template", "svg", "iframe", "head")
_BLOCK = {
    "p", "div", "li", "tr", "br", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "section",
    "article", "header", "footer", "dt", "dd", "pre", "blockquote", "title", "option", "hr", "main", "nav",
}  # fmt: skip


_FLUSH = "\x00flush"


class SelectorError(ValueError):
    """The CSS selector is invalid, or matched nothing on the page."""


# Type, class and id selectors joined by combinators or commas ("main", "div.notice > table", "#rates td"): valid CSS
# whatever soupsieve's version, so checking them needs no CSS parser. Anything else is compiled by soupsieve.
_IDENT = r"[A-Za-z_][A-Za-z0-9_-]*"
_COMPOUND = rf"(?:(?:[A-Za-z][A-Za-z0-9-]*|\*)(?:[.#]{_IDENT})*|(?:[.#]{_IDENT})+)"
_COMPLEX = rf"{_COMPOUND}(?:\s*[>+~]\s*{_COMPOUND}|\s+{_COMPOUND})*"
_SIMPLE_SELECTOR = rf"\s*{_COMPLEX}(?:\s*,\s*{_COMPLEX})*\s*"  # compiled by re at its first use, then cached


@lru_cache(maxsize=1024)
def check_selector(selector: str) -> None:
    """Raise SelectorError if the CSS selector does not parse (each distinct selector is checked once)."""
    if re.fullmatch(_SIMPLE_SELECTOR, selector):
        return
    from soupsieve import SelectorSyntaxError
    from soupsieve import compile as compile_css

    try:
        compile_css(selector)
    except SelectorSyntaxError as exc:
        raise SelectorError(str(exc).splitlines()[0]) from exc


def _text_lines(root: Tag) -> list[str]:
    """Visible text, one line per block element; table cells joined with " | ".

    One iterative walk over the tree (no find_all, no mutation): pages can be deep, and this runs
    for every changed page on every poll.
    """
    from bs4.element import CData, NavigableString, Tag

    lines: list[str] = []
    buf: list[str] = []

    def flush() -> None:
        line = "".join(buf).strip()
        buf.clear()
        if line:
            lines.append(line.rstrip("|").strip())

    stack: list[PageElement | str] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, str) and not isinstance(node, NavigableString):
            if node == _FLUSH:
                flush()
            else:
                buf.append(node)
            continue
        if isinstance(node, NavigableString):
            if type(node) in (NavigableString, CData):
                buf.append(str(node))
            continue
        if not isinstance(node, Tag) or node.name in _DROP:
            continue
        name = node.name
        children: list[PageElement | str] = list(node.children)
        if name in ("td", "th"):
            children.append(" | ")
        if name in _BLOCK:
            children = [_FLUSH, *children, _FLUSH]
        stack.extend(reversed(children))
    flush()
    return [line for line in lines if line]


def parse_html(text: str, selector: str | None = None) -> list[str]:
    """Extract text lines, scripts/styles/comments dropped; several selector matches kept in order."""
    from watchers.reading import fasthtml

    xpath = fasthtml.selector_xpath(selector) if selector else None
    root = fasthtml.parse_document(text) if xpath is not None or not selector else None
    if root is None:
        return parse_html_soup(text, selector)
    if xpath is None:
        body = next(root.iter("body"), None)  # soup.body: the first <body> in document order
        return fasthtml.text_lines(root if body is None else body)
    matches = xpath(root)
    if not matches:
        raise SelectorError(f"selector {selector!r} matched nothing on the page")
    lines = []
    matched = {id(m) for m in matches}
    for match in matches:
        if any(id(parent) in matched for parent in match.iterancestors()):  # outermost matches only, as below
            continue
        lines.extend(fasthtml.text_lines(match))
    return lines


def parse_html_soup(text: str, selector: str | None = None) -> list[str]:
    """parse_html with BeautifulSoup and soupsieve: for the selectors fasthtml does not turn into XPath."""
    from bs4 import BeautifulSoup
    from soupsieve import SelectorSyntaxError

    soup = BeautifulSoup(text, "lxml")
    if not selector:
        root = soup.body or soup
        return _text_lines(root)
    try:
        matches = soup.select(selector)
    except SelectorSyntaxError as exc:
        raise SelectorError(f"invalid CSS selector {selector!r}: {str(exc).splitlines()[0]}") from exc
    if not matches:
        raise SelectorError(f"selector {selector!r} matched nothing on the page")
    lines: list[str] = []
    matched = {id(m) for m in matches}
    for match in matches:
        # Nested matches (a div inside a matched div) would repeat text; keep outermost only.
        if any(id(parent) in matched for parent in match.parents):
            continue
        lines.extend(_text_lines(match))
    return lines


def parse_text(text: str) -> list[str]:
    return text.splitlines()
