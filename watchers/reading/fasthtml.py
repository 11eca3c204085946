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
_ASCII_SPACES = frozenset("\x20\x0a\x09\x0c\x0d")
_FLUSH = object()

_IDENT = r"[A-Za-z_][A-Za-z0-9_-]*"
_STEP = rf"(?P<type>[A-Za-z][A-Za-z0-9-]*|\*)?(?P<rest>(?:[.#]{_IDENT})*)"
_PART = rf"\s*(?P<comb>>)\s*|(?P<space>\s+)|{_STEP}"


def _string(text: str, preserve: bool) -> str:
    """What BeautifulSoup stores for a string: whitespace-only ones shrink to a newline or a space."""
    if not preserve and all(ch in _ASCII_SPACES for ch in text):
        return "\n" if "\n" in text else " "
    return text


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
    if root is None or _too_deep()(root):
        return None
    return root


@lru_cache(maxsize=1)
def _too_deep() -> Any:
    from lxml import etree

    return etree.XPath("boolean(/*" + "/*" * (_MAX_DEPTH - 1) + ")")


_MAX_DEPTH = 2048  # elements deep, <html> included: the last depth libxml2 builds completely (huge_tree)


def text_lines(root: Any) -> list[str]:
    """html.py's _text_lines over an lxml element: one line per block element, table cells joined with " | "."""
    lines: list[str] = []
    buf: list[str] = []

    def flush() -> None:
        line = "".join(buf).strip()
        buf.clear()
        if line:
            lines.append(line.rstrip("|").strip())

    preserve_root = any(a.tag in _PRESERVE for a in root.iterancestors())
    hidden_root = any(a.tag in _NOT_TEXT for a in root.iterancestors())
    # Items: (element, preserve, hidden) to walk, a string to add, or _FLUSH.
    stack: list[Any] = [(root, preserve_root, hidden_root)]
    while stack:
        item = stack.pop()
        if item is _FLUSH:
            flush()
            continue
        if isinstance(item, str):
            buf.append(item)
            continue
        node, preserve, hidden = item
        name = node.tag
        if not isinstance(name, str) or name in _DROP:  # a comment or processing instruction; a dropped element
            continue
        inner_preserve = preserve or name in _PRESERVE
        inner_hidden = hidden or name in _NOT_TEXT
        children: list[Any] = []
        if node.text and not inner_hidden:
            children.append(_string(node.text, inner_preserve))
        for child in node:
            children.append((child, inner_preserve, inner_hidden))
            if child.tail and not inner_hidden:
                children.append(_string(child.tail, inner_preserve))
        if name in ("td", "th"):
            children.append(" | ")
        if name in _BLOCK:
            children = [_FLUSH, *children, _FLUSH]
        stack.extend(reversed(children))
    flush()
    return [line for line in lines if line]
