"""RSS and Atom feeds as items: new, changed and removed entries rather than one text blob."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from watchers.reading.decode import charset_from_header, contradiction, known_charset
from watchers.reading.inert import inert
from watchers.reading.normalise import normalise_text


class FeedError(ValueError):
    """The bytes are not a feed feedparser can read."""


@dataclass(frozen=True)
class Entry:
    key: str
    title: str
    link: str
    summary: str
    updated: str

    def as_text(self) -> str:
        lines = [f"title: {self.title}"]
        if self.updated:
            lines.append(f"updated: {self.updated}")
        if self.link:
            lines.append(f"link: {self.link}")
        if self.summary:
            lines.extend(f"  {line}" for line in self.summary.splitlines())
        return "\n".join(lines)


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    entries: tuple[Entry, ...]
    warning: str | None = None


def _plain(html: str) -> str:
    if "<" not in html and "&" not in html:
        return html
    from bs4 import BeautifulSoup

    return BeautifulSoup(html, "lxml").get_text("\n")


def _field(item: Any, name: str) -> str:
    """A text field as a reader sees it: feedparser says whether it is plain text or HTML."""
    value = item.get(name, "") or ""
    detail = item.get(f"{name}_detail") or {}
    return str(value) if detail.get("type") == "text/plain" else _plain(str(value))


def _http_charset(body: bytes, content_type: str | None) -> tuple[dict[str, str], str | None]:
    """feedparser's response_headers for the HTTP charset (which outranks the XML declaration), and a warning
    when the bytes contradict it. Only the charset is passed on: a feed served as text/html still parses."""
    declared = charset_from_header(content_type)
    if not declared:
        return {}, None
    lie = contradiction(body, known_charset(declared))
    if lie:
        codec, what = lie
        warning = f"the server declares charset {declared} but the feed's bytes are {what}; read as {what}"
        return {"content-type": f"application/xml; charset={codec}"}, warning
    return {"content-type": f"application/xml; charset={declared}"}, None


def parse_feed(body: bytes, ignore: Sequence[re.Pattern[str]] = (), content_type: str | None = None) -> ParsedFeed:
    """Parse RSS 0.9x/1.0/2.0 or Atom; a malformed feed that still yields entries is used with a warning."""
    import feedparser  # here: only a poll that reads a feed pays for it

    headers, warning = _http_charset(body, content_type)
    parsed: Any = feedparser.parse(body, sanitize_html=True, resolve_relative_uris=False, response_headers=headers)
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        reason = str(exc).splitlines()[0] if exc else "unknown problem"
        is_feed = bool(parsed.get("version")) or bool(parsed.get("entries"))
        if not is_feed:
            raise FeedError(f"not a readable RSS/Atom feed ({reason})")
        warning = "; ".join(filter(None, [warning, f"malformed feed, read anyway: {reason}"]))
    elif not parsed.get("version") and not parsed.get("entries"):
        raise FeedError("not an RSS/Atom feed (no channel or feed element found)")
    entries: dict[str, Entry] = {}
    for item in parsed.get("entries", []):
        title = normalise_text(_field(item, "title"), ignore)
        link = item.get("link", "") or ""
        summary = normalise_text(_field(item, "summary") or _field(item, "description"), ignore)
        # dict.get: feedparser's own get() maps a missing "updated" to "published" with a DeprecationWarning
        updated = dict.get(item, "updated", "") or dict.get(item, "published", "") or ""
        key = item.get("id") or item.get("guid") or f"{link}#{title}"
        if key in entries:  # duplicate ids happen; keep the first, as readers do
            continue
        entries[key] = Entry(key=key, title=title, link=link, summary=summary, updated=updated)
    feed_title = normalise_text(_plain(parsed.get("feed", {}).get("title", "")))
    return ParsedFeed(title=feed_title, entries=tuple(entries.values()), warning=warning)


def feed_snapshot(feed: ParsedFeed) -> str:
    """Canonical text of a feed (JSON, entries sorted by key) for hashing and storage."""
    # Titles and summaries are normalised already; ids, links and dates are made inert here.
    items = sorted(({k: inert(v) for k, v in asdict(e).items()} for e in feed.entries), key=lambda e: e["key"])
    return json.dumps({"title": feed.title, "entries": items}, ensure_ascii=False, sort_keys=True, indent=1)


_ENTRY_FIELDS = frozenset(Entry.__dataclass_fields__)


def is_feed_snapshot(text: str) -> bool:
    """True for text made by feed_snapshot; a page or a JSON export that merely starts with "{" is not one."""
    if not text.startswith("{"):
        return False
    try:
        data = json.loads(text)
    except ValueError:
        return False
    if not isinstance(data, dict) or set(data) != {"title", "entries"} or not isinstance(data["entries"], list):
        return False
    return all(isinstance(e, dict) and set(e) == _ENTRY_FIELDS for e in data["entries"])


def entries_from_snapshot(text: str) -> dict[str, Entry]:
    if not text:
        return {}
    data = json.loads(text)
    return {e["key"]: Entry(**e) for e in data.get("entries", [])}


@dataclass(frozen=True)
class EntryChange:
    kind: str  # "added" | "changed" | "removed"
    old: Entry | None
    new: Entry | None

    @property
    def entry(self) -> Entry:
        entry = self.new or self.old
        assert entry is not None
        return entry


def diff_entries(old: dict[str, Entry], new: dict[str, Entry]) -> list[EntryChange]:
    """Entries added, changed (title, summary or updated) and removed, in a stable order."""
    changes: list[EntryChange] = []
    for key, entry in new.items():
        before = old.get(key)
        if before is None:
            changes.append(EntryChange("added", None, entry))
        elif (before.title, before.summary, before.updated) != (entry.title, entry.summary, entry.updated):
            changes.append(EntryChange("changed", before, entry))
    changes.extend(EntryChange("removed", entry, None) for key, entry in old.items() if key not in new)
    return changes
