"""Pure: is a body text a parser can read, or an image, archive or document that would be stored as noise?

Sniffed from the first bytes (what the server says is second: many send pages as octet-stream).
"""

from __future__ import annotations

# The kinds that read text. A kind that reads a binary format itself (pdf) is not listed, so it is not refused.
TEXT_KINDS = frozenset({"html", "feed", "json"})

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a zip archive (or an Office document)"),
    (b"PK\x05\x06", "an empty zip archive"),
    (b"\x1f\x8b", "a gzip file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old-style Office document"),
    (b"\x00\x00\x01\x00", "an icon"),
    (b"\x7fELF", "a program"),
    (b"wOFF", "a web font"),
    (b"wOF2", "a web font"),
    (b"ID3", "an MP3 file"),
)
_BINARY_TYPES = {"image": "an image", "audio": "an audio file", "video": "a video", "font": "a font"}
_BINARY_APPLICATION = {
    "application/pdf": "a PDF document",
    "application/zip": "a zip archive",
    "application/gzip": "a gzip file",
    "application/x-gzip": "a gzip file",
    "application/x-7z-compressed": "a 7-Zip archive",
    "application/vnd.rar": "a RAR archive",
    "application/x-tar": "a tar archive",
    "application/msword": "a Word document",
    "application/vnd.ms-excel": "an Excel workbook",
}
_TEXT_EXCEPTIONS = ("image/svg+xml",)  # XML, readable as text
# Bytes no text document holds (the WHATWG MIME sniffing "binary data bytes").
_BINARY_BYTES = frozenset({*range(0x00, 0x09), 0x0B, *range(0x0E, 0x1B), *range(0x1C, 0x20)})
_BINARY_DELETE = bytes(sorted(_BINARY_BYTES))  # for bytes.translate: the test runs in C, not byte by byte


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def sniff_binary(body: bytes, content_type: str | None = None) -> str | None:
    """What binary thing the body is ("a PNG image"), or None if it may be text."""
    head = body[:1024]
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    if head[4:8] == b"ftyp":
        return "a video (MP4/MOV)"
    if head.startswith(b"RIFF") and head[8:12] in (b"WEBP", b"WAVE", b"AVI "):
        return "a media file (" + head[8:12].decode().strip() + ")"
    media = _media_type(content_type)
    has_binary_bytes = len(head.translate(None, _BINARY_DELETE)) != len(head)
    looks_binary = has_binary_bytes and not head.startswith((b"\xff\xfe", b"\xfe\xff"))
    if media in _TEXT_EXCEPTIONS:
        return None
    top = media.split("/", 1)[0]
    if top in _BINARY_TYPES or media in _BINARY_APPLICATION:
        return _BINARY_APPLICATION.get(media) or _BINARY_TYPES[top]
    if media.startswith("application/vnd.openxmlformats"):
        return "an Office document"
    if looks_binary and media in ("", "application/octet-stream", "binary/octet-stream"):
        return "binary data"
    return None


def binary_refusal(kind: str, body: bytes, content_type: str | None) -> str | None:
    """Pure: the error for a text kind that was served a binary body, naming what it is; else None."""
    if kind not in TEXT_KINDS:
        return None
    what = sniff_binary(body, content_type)
    if what is None:
        return None
    served = f" (served as {_media_type(content_type)})" if _media_type(content_type) else ""
    hint = 'use kind = "pdf" for a PDF' if "PDF" in what else "point the source at the page that shows it instead"
    return f"the server sent {what}{served}, not a {kind} document; nothing was stored; {hint}"
