"""gzip/deflate bodies decompressed here, bounded, and only accepted whole.

urllib3's decoder accepts a truncated gzip stream without a word (it flushes what it has), so a page cut short
would become a snapshot. This one requires the end-of-stream marker, and stops at max_bytes of output.
"""

from __future__ import annotations

import zlib

from watchers.fetching.errors import FetchError

GZIP_MAGIC = b"\x1f\x8b"


class Inflater:
    """Feed compressed chunks in, get the decoded bytes out; finish() raises unless the stream ended properly."""

    def __init__(self, content_encoding: str | None) -> None:
        codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise FetchError(
                f"the server sent Content-Encoding {content_encoding!r}, which we did not ask for "
                "(we accept gzip and deflate); the page cannot be read"
            )
        self.coding = codings[0] if codings else None
        self._gzip = self.coding in ("gzip", "x-gzip")
        self._fed = False
        self._raw_deflate = False
        self._z = self._new() if self.coding else None

    def _new(self) -> zlib._Decompress:
        if self._gzip:
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        return zlib.decompressobj(-zlib.MAX_WBITS if self._raw_deflate else zlib.MAX_WBITS)

    def feed(self, data: bytes, room: int) -> bytes:
        """Decode a chunk; returns at most room + 1 bytes (one more than fits tells the caller it is too big)."""
        if self._z is None:
            return data
        out = bytearray()
        while data and len(out) <= room:
            if self._z.eof:
                if not (self._gzip and data.startswith(GZIP_MAGIC)):
                    break  # bytes after the end of the stream: ignored, as browsers do
                self._z = self._new()  # a second gzip member
            try:
                out += self._z.decompress(data, room + 1 - len(out))
            except zlib.error as exc:
                if self.coding == "deflate" and not self._fed and not self._raw_deflate:
                    self._raw_deflate = True  # "deflate" servers often send raw deflate without the zlib header
                    self._z = self._new()
                    continue
                raise FetchError(f"the server's {self.coding} body is corrupt ({exc}); it will be retried") from None
            self._fed = True
            data = self._z.unused_data if self._z.eof else self._z.unconsumed_tail
        return bytes(out)

    def finish(self) -> None:
        """Raise FetchError if the compressed stream stopped before its end (a truncated body)."""
        if self._z is not None and self._fed and not self._z.eof:
            raise FetchError(
                f"the server's {self.coding} body stopped before its end (truncated); "
                "it was not stored and will be retried on the next poll"
            )
