"""Pure observation: a fetched body → the canonical snapshot text (parse, normalise), no I/O, no database."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePath

from watchers.fetching.http import Fetched
from watchers.fetching.session import logged_out_reason, logs_in, looks_like_html
from watchers.reading.content import binary_refusal
from watchers.reading.decode import Decoded, decode_body
from watchers.reading.feeds import FeedError, feed_snapshot, parse_feed
from watchers.reading.html import SelectorError, parse_html, parse_text
from watchers.reading.jsondoc import JsonError, json_lines
from watchers.reading.normalise import compile_patterns, content_hash, normalise_lines
from watchers.reading.pdf import PdfError, pdf_lines
from watchers.sources import SourceSpec


@dataclass(frozen=True)
class Observation:
    """What one check of a source saw, before it is compared with the past."""

    # "ok" | "not_modified" (a 304) | "same_bytes" (the very bytes read last time) | "error"
    # | "logged_out" (a sign-in page or 401/403 instead of the content: `error` says why)
    status: str
    text: str = ""
    document: str = ""
    etag: str | None = None
    last_modified: str | None = None
    warning: str | None = None
    error: str | None = None
    body_hash: str | None = None  # the fetched bytes and the rules that read them (see body_key)
    readable: str = ""  # the text before noise removal: metrics are read from it, even from ignored lines


@lru_cache(maxsize=512)
def patterns(ignore: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return compile_patterns(ignore)


def _is_html(spec: SourceSpec, fetched: Fetched) -> bool:
    if spec.kind in ("html", "browser"):
        return True
    suffix = PurePath(spec.url).suffix.lower()
    return suffix in (".html", ".htm", ".xhtml")


def body_key(spec: SourceSpec, fetched: Fetched) -> str:
    """A hash of the bytes and of everything that decides how they are read: equal keys, equal snapshots."""
    rules = repr((spec.kind, spec.url, spec.selector, spec.tiers_selector, spec.ignore, spec.unordered, spec.select))
    if spec.metrics:  # a new or edited metric watch must read the page again, even if its bytes did not change
        rules += repr(spec.metrics)
    return content_hash(rules + "\0" + (fetched.content_type or "") + "\0") + hashlib.sha256(fetched.body).hexdigest()


def observe(spec: SourceSpec, fetched: Fetched, previous_body: str | None = None) -> Observation:
    """Pure: parse and normalise a fetched body into the canonical snapshot text.

    Bytes identical to the last ones read (`previous_body`, same rules) are "same_bytes", and not parsed:
    many portal pages send no ETag or Last-Modified, and this makes their quiet polls nearly as cheap as a 304.
    """
    etag, last_modified = fetched.etag, fetched.last_modified
    if fetched.not_modified:
        return Observation("not_modified", etag=etag, last_modified=last_modified)
    key = body_key(spec, fetched)
    if previous_body is not None and key == previous_body:
        return Observation("same_bytes", etag=etag, last_modified=last_modified, body_hash=key)
    decoded = None
    if spec.is_remote and logs_in(spec):
        textual = spec.kind in ("html", "json") or looks_like_html(fetched.body, fetched.content_type)
        decoded = decode_body(fetched.body, fetched.content_type) if textual else None
        reason = logged_out_reason(
            spec.url,
            fetched.url,
            fetched.body,
            decoded.text if decoded else "",
            fetched.content_type,
            spec.logged_out_when,
        )
        if reason:
            return Observation("logged_out", error=reason, etag=etag, last_modified=last_modified)
    return _parse(spec, fetched, key, decoded)


def _parse(spec: SourceSpec, fetched: Fetched, key: str, decoded: Decoded | None = None) -> Observation:
    """The observation of a body; an "ok" one carries `key`, the body_key of what it read."""
    etag, last_modified = fetched.etag, fetched.last_modified
    refused = binary_refusal(spec.kind, fetched.body, fetched.content_type)  # a PNG is not a page
    if refused:
        return Observation("error", error=refused, etag=etag, last_modified=last_modified)
    ignore = patterns(spec.ignore)
    if spec.kind == "feed" or (spec.kind == "file" and PurePath(spec.url).suffix.lower() in (".xml", ".rss", ".atom")):
        try:
            feed = parse_feed(fetched.body, ignore, fetched.content_type)
        except FeedError as exc:
            return Observation("error", error=str(exc), etag=etag, last_modified=last_modified)
        text = feed_snapshot(feed)
        return Observation("ok", text, warning=feed.warning, etag=etag, last_modified=last_modified, body_hash=key)
    if spec.kind == "pdf":
        try:
            lines = pdf_lines(fetched.body)
        except PdfError as exc:
            return Observation("error", error=str(exc), etag=etag, last_modified=last_modified)
        return _lines_observation(spec, lines, "", None, etag, last_modified, key)
    decoded = decoded or decode_body(fetched.body, fetched.content_type)
    try:
        if spec.kind == "json":
            lines = json_lines(decoded.text, spec.select)
        elif _is_html(spec, fetched):
            lines = parse_html(decoded.text, spec.selector)
        else:
            lines = parse_text(decoded.text)
    except SelectorError as exc:
        return Observation("error", error=f"{exc}; fix the source's selector", etag=etag, last_modified=last_modified)
    except JsonError as exc:
        return Observation("error", error=str(exc), etag=etag, last_modified=last_modified)
    warning = "; ".join(w for w in (fetched.warning, decoded.warning) if w) or None  # a browser's blocked requests
    return _lines_observation(spec, lines, decoded.text, warning, etag, last_modified, key)


def _lines_observation(
    spec: SourceSpec,
    lines: list[str],
    document: str,
    warning: str | None,
    etag: str | None,
    last_modified: str | None,
    key: str,
) -> Observation:
    text = "\n".join(normalise_lines(lines, patterns(spec.ignore), spec.unordered))
    return Observation(
        "ok",
        text=text,
        document=document,
        warning=warning,
        etag=etag,
        last_modified=last_modified,
        body_hash=key,
        readable="\n".join(lines),
    )


def safe_observe(spec: SourceSpec, fetched: Fetched | Observation, previous_body: str | None = None) -> Observation:
    """observe() that turns a parser bug into a recorded error instead of a crash."""
    if isinstance(fetched, Observation):
        return fetched
    try:
        return observe(spec, fetched, previous_body)
    except Exception as exc:
        return Observation("error", error=f"unexpected {type(exc).__name__} while parsing: {exc}")
