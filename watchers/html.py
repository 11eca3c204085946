"""HTML and plain-text pages to lines of visible text."""

from __future__ import annotations

from bs4 import BeautifulSoup, Comment, Tag
from soupsieve import SelectorSyntaxError
from soupsieve import compile as compile_css

_DROP = ("script", "style", "noscript", "template", "svg", "iframe", "head")
_BLOCK = {
    "p", "div", "li", "tr", "br", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "section",
    "article", "header", "footer", "dt", "dd", "pre", "blockquote", "title", "option", "hr", "main", "nav",
}  # fmt: skip


class SelectorError(ValueError):
    """The CSS selector is invalid, or matched nothing on the page."""


def check_selector(selector: str) -> None:
    """Raise SelectorError if the CSS selector does not parse."""
    try:
        compile_css(selector)
    except SelectorSyntaxError as exc:
        raise SelectorError(str(exc).splitlines()[0]) from exc


def _text_lines(node: Tag) -> list[str]:
    """Visible text, one line per block element and per table cell row."""
    for cell in node.find_all(["td", "th"]):
        cell.append(" | ")
    for block in node.find_all(_BLOCK):
        block.insert_before("\n")
        block.append("\n")
    text = node.get_text()
    lines = []
    for line in text.splitlines():
        line = line.strip().rstrip("|").strip()
        if line:
            lines.append(line)
    return lines


def parse_html(text: str, selector: str | None = None) -> list[str]:
    """Extract text lines, scripts/styles/comments dropped; several selector matches kept in order."""
    soup = BeautifulSoup(text, "lxml")
    for tag in soup.find_all(_DROP):
        tag.decompose()
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        comment.extract()
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
