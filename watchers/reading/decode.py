"""Bytes to text, honouring the HTTP header, the BOM and <meta charset>, with Chinese pages in mind."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

_META = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.IGNORECASE)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_\-.]+)["']""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_\-:.]+)", re.IGNORECASE)

# Servers say gb2312 or gbk and send GB18030 characters; Big5 pages use HKSCS extensions.
# Decoding with the superset reads every byte the narrower name promises, and more.
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "cp950": "big5hkscs",
    "iso-8859-1": "cp1252",
    "latin-1": "cp1252",
    "ascii": "cp1252",
    "us-ascii": "cp1252",
}


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    warning: str | None = None


def charset_from_header(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = _HEADER_CHARSET.search(content_type)
    return match.group(1) if match else None


def known_charset(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().lower()
    name = _SUPERSETS.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def sniff_charset(body: bytes) -> str | None:
    """The charset a document declares about itself: BOM, XML declaration or <meta>."""
    for bom, name in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if body.startswith(bom):
            return name
    head = body[:4096]
    match = _XML_DECL.match(head) or _META.search(head)
    return match.group(1).decode("ascii", "replace") if match else None


_UNICODE = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32")
_SINGLE_BYTE = ("cp12", "cp437", "cp85", "cp86", "iso8859", "latin", "koi8", "mac-", "ascii", "tis-620", "cp874")


def _cjk(char: str) -> bool:
    code = ord(char)
    return (
        0x4E00 <= code <= 0x9FFF  # unified ideographs
        or 0x3400 <= code <= 0x4DBF  # extension A
        or 0x3000 <= code <= 0x303F  # CJK punctuation
        or 0xFF00 <= code <= 0xFFEF  # full-width forms
        or 0x2010 <= code <= 0x2027  # dashes and quotes GBK carries
    )


def _looks_chinese(body: bytes) -> bool:
    """GB18030 bytes of Chinese text: mostly CJK once decoded, in runs (Latin-1 misread as GBK gives lone ones)."""
    try:
        text = body.decode("gb18030")
    except UnicodeDecodeError:
        return False
    high = [i for i, char in enumerate(text) if ord(char) > 0x7F]
    if len(high) < 4:
        return False
    cjk = sum(_cjk(text[i]) for i in high)
    in_runs = sum((i > 0 and ord(text[i - 1]) > 0x7F) or (i + 1 < len(text) and ord(text[i + 1]) > 0x7F) for i in high)
    return cjk >= 0.9 * len(high) and in_runs >= 0.5 * len(high)


def contradiction(body: bytes, declared: str | None) -> tuple[str, str] | None:
    """Pure: (codec, name) of what the bytes plainly are when that is not the declared charset, else None.

    Valid UTF-8 with non-ASCII bytes is UTF-8 whatever the label says (no real text in another charset is valid
    UTF-8 by chance); Chinese GBK/GB18030 bytes under a single-byte label are caught by their shape.
    """
    if declared is None or declared in _UNICODE or body.isascii():
        return None
    try:
        body.decode("utf-8")
        return "utf-8", "UTF-8"
    except UnicodeDecodeError:
        pass
    if declared.startswith(_SINGLE_BYTE) and _looks_chinese(body):
        return "gb18030", "GBK/GB18030 Chinese"
    return None


def decode_body(body: bytes, content_type: str | None = None) -> Decoded:
    """Decode strictly with the declared charset; fall back to UTF-8 and GB18030; never lose the page.

    A page whose bytes fit none of them is decoded with replacement characters and a warning,
    so the change is still recorded and the operator learns that the server lies about its charset.
    """
    declared_raw = charset_from_header(content_type) or sniff_charset(body)
    declared = known_charset(declared_raw)
    lie = contradiction(body, declared)
    if lie:
        codec, what = lie
        said = f"the page declares charset {declared_raw} but its bytes are {what}; read as {what}"
        return Decoded(body.decode(codec), codec, said)
    candidates = [c for c in (declared, "utf-8", "gb18030") if c]
    for name in dict.fromkeys(candidates):
        try:
            text = body.decode(name)
        except UnicodeDecodeError:
            continue
        warning = None
        if declared_raw and declared is None:
            warning = f"unknown charset {declared_raw!r}; read as {name}"
        elif declared and name != declared:
            warning = f"page declares {declared_raw} but is not valid {declared_raw}; read as {name}"
        return Decoded(text, name, warning)
    name = declared or "utf-8"
    text = body.decode(name, errors="replace")
    bad = text.count("\ufffd")
    return Decoded(text, name, f"{bad} bytes could not be read as {declared_raw or 'utf-8'} and were replaced")
