"""HTML read with lxml alone: the same lines as html.py's BeautifulSoup walk, for a fraction of the cost.

BeautifulSoup's "lxml" builder is libxml2's HTML parser feeding a Python tree, node by node; on a cold poll that
tree was most of the time spent. Here libxml2 builds its own tree, and the walk reproduces what the BeautifulSoup
tree would have held: whitespace-only strings become one space or one newline (not inside <pre>/<textarea>),
text inside <rt>/<rp> is not page text, comments and processing instructions are skipped but the text after them
is kept. Selectors are the simple ones (type, class and id selectors, descendant and child combinators, lists),
turned into XPath; for any other, html.py reads the page with BeautifulSoup and soupsieve as before.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from watchers.reading.html import _BLOCK, _DROP, _SIMPLE_SELECTOR

_PRESERVE = frozenset(("pre", "textarea"))  # BeautifulSoup keeps whitespace-only strings as they are here
_NOT_TEXT = frozenset(("rt", "rp"))  # BeautifulSoup files these strings as ruby annotations, not page text
_CELLS = frozenset(("td", "th"))
_DROPPED = frozenset(_DROP)
_BLOCKS = frozenset(_BLOCK)
_ASCII_SPACES = "\x20\x0a\x09\x0c\x0d"  # what BeautifulSoup counts as whitespace (str.strip's characters)

_IDENT = r"[A-Za-z_][A-Za-z0-9_-]*"
_STEP = rf"(?P<type>[A-Za-z][A-Za-z0-9-]*|\*)?(?P<rest>(?:[.#]{_IDENT})*)"
_PART = rf"\s*(?P<comb>>)\s*|(?P<space>\s+)|{_STEP}"


def _literal(value: str) -> str:
    return f"'{value}'"  # identifiers (the grammar above) hold no quote


def _step_xpath(type_name: str | None, rest: str) -> str:
    conditions = []
    for marker, name in re.findall(rf"([.#])({_IDENT})", rest):
        if marker == ".":
            conditions.append(f"contains(concat(' ', normalize-space(@class), ' '), {_literal(' ' + name + ' ')})")
        else:
            conditions.append(f"@id = {_literal(name)}")
    tag = (type_name or "*").lower()  # HTML tag names are case-insensitive; lxml stores them in lower case
    return tag + "".join(f"[{c}]" for c in conditions)


@lru_cache(maxsize=1024)
def selector_xpath(selector: str) -> Any:
    """The lxml XPath of a simple CSS selector, or None when the selector is not one (soupsieve reads it)."""
    from lxml import etree

    if not re.fullmatch(_SIMPLE_SELECTOR, selector) or "+" in selector or "~" in selector:
        return None
    paths = []
    for part in selector.split(","):
        path, pending = "//", ""
        for match in re.finditer(_PART, part.strip()):
            if match.group("comb"):
                pending = "/"
            elif match.group("space"):
                pending = pending or "//"
            elif match.group("type") or match.group("rest"):
                path += pending + _step_xpath(match.group("type"), match.group("rest"))
                pending = ""
        paths.append(path)
    return etree.XPath(" | ".join(paths))


def parse_document(text: str) -> Any:
    """The page's root element as libxml2 reads it (as BeautifulSoup's lxml builder feeds it), or None."""
    from lxml import etree

    if text[:1] == "\N{BYTE ORDER MARK}":  # as BeautifulSoup does before handing a string to lxml
        text = text[1:]
    parser = etree.HTMLParser(recover=True, huge_tree=True)  # huge_tree: deep pages, as BeautifulSoup reads them
    try:
        parser.feed(text)
        root = parser.close()
    except etree.ParserError:  # an empty document: BeautifulSoup's reading of it is the reference
        return None
    # libxml2 stops building its tree at _MAX_DEPTH, silently; BeautifulSoup does not: it reads such a page.
    # Each element but the few libxml2 implies (html, head, body, p) starts with a "<": a page with fewer than
    # _MAX_DEPTH of them cannot be that deep, and counting is far cheaper than the XPath test.
    if root is None or (text.count("<") >= _MAX_DEPTH - _IMPLIED and _too_deep()(root)):
        return None
    return root


@lru_cache(maxsize=1)
def _too_deep() -> Any:
    from lxml import etree

    return etree.XPath("boolean(/*" + "/*" * (_MAX_DEPTH - 1) + ")")


_MAX_DEPTH = 2048  # elements deep, <html> included: the last depth libxml2 builds completely (huge_tree)
_IMPLIED = 16  # more than the elements libxml2 can add on one path without a "<" for them in the page


def text_lines(root: Any) -> list[str]:
    """html.py's _text_lines over an lxml element: one line per block element, table cells joined with " | ".

    One lxml walk (iterwalk: start and end events, comments); the strings are gathered in one list and the line
    breaks kept as positions in it, so no node costs more than a few comparisons and an append."""
    from lxml import etree

    if not isinstance(root.tag, str) or root.tag in _DROPPED:
        return []
    # Depths inside <pre>/<textarea> and <rt>/<rp>, counting those around the root.
    preserve = sum(a.tag in _PRESERVE for a in root.iterancestors())
    hidden = sum(a.tag in _NOT_TEXT for a in root.iterancestors())
    parts: list[str] = []
    add = parts.append
    breaks: list[int] = []  # where a block element starts or ends: a line ends there
    walker = etree.iterwalk(root, events=("start", "end", "comment", "pi"))
    for event, node in walker:
        tag = node.tag
        if event == "start":
            if tag in _DROPPED or not isinstance(tag, str):  # a dropped element (or an entity): its tail only
                walker.skip_subtree()
                continue
            if tag in _PRESERVE:
                preserve += 1
            elif tag in _NOT_TEXT:
                hidden += 1
            if tag in _BLOCKS:
                breaks.append(len(parts))
            text = node.text
            if text and not hidden:
                add(text if preserve or text.strip(_ASCII_SPACES) else "\n" if "\n" in text else " ")
            continue
        if event == "end" and tag not in _DROPPED and isinstance(tag, str):
            if tag in _PRESERVE:
                preserve -= 1
            elif tag in _NOT_TEXT:
                hidden -= 1
            if tag in _CELLS:
                add(" | ")
            if tag in _BLOCKS:
                breaks.append(len(parts))
            if node is root:  # the root's tail is not its text
                break
        tail = node.tail  # an element's, comment's or processing instruction's: text of the enclosing element
        if tail and not hidden:
            # What BeautifulSoup stores for a string: a whitespace-only one shrinks to a newline or a space.
            add(tail if preserve or tail.strip(_ASCII_SPACES) else "\n" if "\n" in tail else " ")
    breaks.append(len(parts))
    lines = []
    start = 0
    for end in breaks:
        if end > start:
            line = "".join(parts[start:end]).strip()
            if line:
                line = line.rstrip("|").strip()
                if line:
                    lines.append(line)
        start = end
    return lines
