"""One poll: fetch → parse → normalise → snapshot → diff → changes and alerts, one transaction per source."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from pathlib import PurePath
from typing import Protocol
from urllib.parse import urlsplit

from sqlite_utils import Database

from storage import alerts as outbox
from storage import changes as store
from storage import sources as state
from storage.db import transaction
from watchers.decode import decode_body
from watchers.diffing import diff_lines
from watchers.feeds import FeedError, diff_entries, entries_from_snapshot, feed_snapshot, is_feed_snapshot, parse_feed
from watchers.fetch import Client, Fetched, FetchError, FetchSettings, HostLimiter, fetch_url, read_file
from watchers.html import SelectorError, parse_html, parse_text
from watchers.normalise import compile_patterns, content_hash, normalise_lines, normalise_text
from watchers.sources import SourceSpec


@dataclass(frozen=True)
class Observation:
    """What one check of a source saw, before it is compared with the past."""

    status: str  # "ok" | "not_modified" (a 304) | "same_bytes" (the very bytes read last time) | "error"
    text: str = ""
    document: str = ""
    etag: str | None = None
    last_modified: str | None = None
    warning: str | None = None
    error: str | None = None
    body_hash: str | None = None  # the fetched bytes and the rules that read them (see body_key)


@dataclass
class Outcome:
    """What a poll did to one source."""

    source_id: str
    status: str  # "new" | "changed" | "unchanged" | "not_modified" | "error" | "skipped"
    change_ids: list[int] = field(default_factory=list)
    summaries: list[str] = field(default_factory=list)
    error: str | None = None
    warning: str | None = None
    failures: int = 0


class Extractor(Protocol):
    """Turns a new snapshot into facts, inside the poll's transaction (tier ladders, versions, dates)."""

    def __call__(
        self,
        db: Database,
        spec: SourceSpec,
        obs: Observation,
        old_text: str | None,
        change_ids: Sequence[int],
        now: datetime,
    ) -> None: ...


@lru_cache(maxsize=512)
def _patterns(ignore: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return compile_patterns(ignore)


def _is_html(spec: SourceSpec, fetched: Fetched) -> bool:
    if spec.kind == "html":
        return True
    suffix = PurePath(spec.url).suffix.lower()
    return suffix in (".html", ".htm", ".xhtml")


def body_key(spec: SourceSpec, fetched: Fetched) -> str:
    """A hash of the bytes and of everything that decides how they are read: equal keys, equal snapshots."""
    rules = repr((spec.kind, spec.url, spec.selector, spec.tiers_selector, spec.ignore, spec.unordered))
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
    obs = _parse(spec, fetched)
    return replace(obs, body_hash=key) if obs.status == "ok" else obs


def _parse(spec: SourceSpec, fetched: Fetched) -> Observation:
    etag, last_modified = fetched.etag, fetched.last_modified
    ignore = _patterns(spec.ignore)
    if spec.kind == "feed" or (spec.kind == "file" and PurePath(spec.url).suffix.lower() in (".xml", ".rss", ".atom")):
        try:
            feed = parse_feed(fetched.body, ignore)
        except FeedError as exc:
            return Observation("error", error=str(exc), etag=etag, last_modified=last_modified)
        return Observation("ok", text=feed_snapshot(feed), warning=feed.warning, etag=etag, last_modified=last_modified)
    decoded = decode_body(fetched.body, fetched.content_type)
    try:
        lines = parse_html(decoded.text, spec.selector) if _is_html(spec, fetched) else parse_text(decoded.text)
    except SelectorError as exc:
        return Observation("error", error=f"{exc}; fix the source's selector", etag=etag, last_modified=last_modified)
    text = "\n".join(normalise_lines(lines, ignore, spec.unordered))
    return Observation(
        "ok",
        text=text,
        document=decoded.text,
        warning=decoded.warning,
        etag=etag,
        last_modified=last_modified,
    )


def fetch_source(
    spec: SourceSpec,
    client: Client,
    limiter: HostLimiter,
    settings: FetchSettings,
    etag: str | None = None,
    last_modified: str | None = None,
) -> Fetched | Observation:
    """The I/O half of a check: the fetched body, or an error Observation. Never raises."""
    try:
        if spec.kind == "file":
            return read_file(spec.url, settings.max_bytes)
        with limiter.slot(spec.url):
            return fetch_url(
                client,
                spec.url,
                max_bytes=settings.max_bytes,
                etag=etag,
                last_modified=last_modified,
                headers=dict(spec.headers),
            )
    except FetchError as exc:
        return Observation("error", error=str(exc))
    except Exception as exc:  # whatever the network layer throws must not stop the other sources
        return Observation("error", error=f"unexpected {type(exc).__name__}: {exc}")


def safe_observe(spec: SourceSpec, fetched: Fetched | Observation, previous_body: str | None = None) -> Observation:
    """observe() that turns a parser bug into a recorded error instead of a crash."""
    if isinstance(fetched, Observation):
        return fetched
    try:
        return observe(spec, fetched, previous_body)
    except Exception as exc:
        return Observation("error", error=f"unexpected {type(exc).__name__} while parsing: {exc}")


def _page_changes(
    db: Database,
    spec: SourceSpec,
    old_text: str,
    obs: Observation,
    old_hash: str,
    new_hash: str,
    now: datetime,
) -> list[tuple[int, str]]:
    diff = diff_lines(old_text.splitlines(), obs.text.splitlines(), f"{spec.id} (before)", f"{spec.id} (now)")
    change_id = store.add_change(
        db,
        spec.id,
        now,
        kind="page",
        summary=diff.summary,
        diff=diff.diff,
        old_hash=old_hash,
        new_hash=new_hash,
        added=len(diff.added),
        removed=len(diff.removed),
    )
    return [(change_id, diff.summary)]


_ENTRY_VERBS = {"added": "New entry", "changed": "Entry changed", "removed": "Entry removed"}


def _feed_changes(
    db: Database,
    spec: SourceSpec,
    old_text: str,
    obs: Observation,
    old_hash: str,
    new_hash: str,
    now: datetime,
) -> list[tuple[int, str]]:
    out = []
    for change in diff_entries(entries_from_snapshot(old_text), entries_from_snapshot(obs.text)):
        before = change.old.as_text().splitlines() if change.old else []
        after = change.new.as_text().splitlines() if change.new else []
        diff = diff_lines(before, after, "entry (before)", "entry (now)")
        summary = f"{_ENTRY_VERBS[change.kind]}: '{change.entry.title or change.entry.key}'"
        change_id = store.add_change(
            db,
            spec.id,
            now,
            kind=f"entry-{change.kind}",
            entry_key=change.entry.key,
            summary=summary,
            diff=diff.diff,
            old_hash=old_hash,
            new_hash=new_hash,
            added=len(diff.added),
            removed=len(diff.removed),
        )
        out.append((change_id, summary))
    return out


def _is_feed_text(text: str) -> bool:
    return is_feed_snapshot(text)


# Quiet observations: nothing to compare, only the check time moves. Observation status → source status.
_QUIET = {"not_modified": "not_modified", "same_bytes": "unchanged"}


def record_observation(
    db: Database,
    spec: SourceSpec,
    obs: Observation,
    now: datetime,
    *,
    failure_threshold: int = 3,
    extractors: Sequence[Extractor] = (),
) -> Outcome:
    """Compare an observation with the stored past and write the result, with its alerts, atomically."""
    with transaction(db):
        row = state.get_source(db, spec.id)
        if row is None:
            raise KeyError(f"source {spec.id!r} is not in the database; sync the configuration first")
        if obs.status == "error":
            return _record_error(db, spec, row, obs, now, failure_threshold)
        recovered = row["failures"] >= failure_threshold
        if recovered:
            outbox.enqueue_alert(
                db,
                f"recovered:{spec.id}:{row['failing_since']}",
                "source-recovered",
                {"source_id": spec.id, "failures": row["failures"], "since": row["failing_since"]},
                now,
                source_id=spec.id,
                channel=spec.channel,
            )
        if obs.status in _QUIET:
            state.mark_checked(db, [spec.id], now, _QUIET[obs.status])
            return Outcome(spec.id, _QUIET[obs.status])
        old_hash = row["last_hash"]
        old_text = store.get_snapshot(db, old_hash)
        new_hash = content_hash(obs.text)
        # Re-normalise the past with today's rules, so a newly added ignore pattern is not a "change".
        if (
            old_text is not None
            and old_hash != new_hash
            and not _is_feed_text(old_text)
            and normalise_text(old_text, _patterns(spec.ignore), spec.unordered) == obs.text
        ):
            # Keep the content under its new hash too: last_hash will point at it and the next poll diffs against it.
            store.save_snapshot(db, new_hash, obs.text, now)
            old_hash = new_hash
        changes: list[tuple[int, str]] = []
        if old_text is None:
            status = "new"
        elif old_hash == new_hash:
            status = "unchanged"
        else:
            status = "changed"
            store.save_snapshot(db, new_hash, obs.text, now)
            builder = _feed_changes if _is_feed_text(obs.text) and _is_feed_text(old_text) else _page_changes
            changes = builder(db, spec, old_text, obs, row["last_hash"], new_hash, now)
            for change_id, summary in changes:
                outbox.enqueue_alert(
                    db,
                    f"change:{change_id}",
                    "change",
                    {"change_id": change_id, "source_id": spec.id, "summary": summary},
                    now,
                    source_id=spec.id,
                    change_id=change_id,
                    channel=spec.channel,
                )
            if not changes:  # e.g. a feed whose title changed: a new snapshot, nothing to report
                status = "unchanged"
        if status == "new":
            store.save_snapshot(db, new_hash, obs.text, now)
        state.record_success(
            db,
            spec.id,
            now,
            status=status,
            content_hash=new_hash,
            etag=obs.etag,
            last_modified=obs.last_modified,
            warning=obs.warning,
            changed=bool(changes),
            body_hash=obs.body_hash,
        )
        change_ids = [c for c, _ in changes]
        if status in ("new", "changed"):
            for extract in extractors:
                extract(db, spec, obs, old_text, change_ids, now)
        return Outcome(spec.id, status, change_ids, [s for _, s in changes], warning=obs.warning)


def _record_error(
    db: Database, spec: SourceSpec, row: dict[str, object], obs: Observation, now: datetime, threshold: int
) -> Outcome:
    error = obs.error or "unknown error"
    failures = state.record_failure(db, spec.id, now, error)
    if failures == threshold:
        since = state.get_source(db, spec.id) or {}
        outbox.enqueue_alert(
            db,
            f"failing:{spec.id}:{since.get('failing_since')}",
            "source-failing",
            {"source_id": spec.id, "failures": failures, "error": error},
            now,
            source_id=spec.id,
            channel=spec.channel,
        )
    return Outcome(spec.id, "error", error=error, failures=failures)


def _useful_workers(specs: Sequence[SourceSpec], settings: FetchSettings) -> int:
    """No more threads than can be busy: per_host slots per host (files count as one host each)."""
    hosts: dict[str, int] = {}
    for spec in specs:
        host = urlsplit(spec.url).netloc.lower() if spec.is_remote else spec.url
        hosts[host] = hosts.get(host, 0) + 1
    useful = sum(min(count, settings.per_host) for count in hosts.values())
    return max(1, min(settings.workers, useful))


def poll_sources(
    db: Database,
    specs: Sequence[SourceSpec],
    client: Client,
    limiter: HostLimiter,
    settings: FetchSettings,
    now: datetime,
    *,
    failure_threshold: int = 3,
    extractors: Sequence[Extractor] = (),
    origin: str = "poll",
) -> list[Outcome]:
    """Check many sources in parallel (politely per host) and record each; one failure harms no other."""
    rows = {r["id"]: r for r in state.list_sources(db)}
    outcomes: list[Outcome] = []
    quiet: dict[str, list[str]] = {status: [] for status in _QUIET.values()}

    def work(spec: SourceSpec) -> tuple[SourceSpec, Fetched | Observation]:
        row = rows.get(spec.id) or {}
        return spec, fetch_source(spec, client, limiter, settings, row.get("etag"), row.get("last_modified"))

    # Threads only fetch (I/O); parsing and writing stay on this thread, so CPU-bound parsing never
    # fights the database writes for the interpreter lock.
    with ThreadPoolExecutor(max_workers=_useful_workers(specs, settings), thread_name_prefix="poll") as pool:
        # Results are recorded in the order of the sources (not as fetches finish), so change numbers
        # come out the same on every run over the same world.
        for spec, fetched in pool.map(work, specs):
            row = rows.get(spec.id) or {}
            same_validators = isinstance(fetched, Fetched) and (fetched.etag, fetched.last_modified) == (
                row.get("etag"),
                row.get("last_modified"),
            )
            previous_body = row.get("body_hash") if same_validators and row.get("last_hash") else None
            obs = safe_observe(spec, fetched, previous_body)
            if obs.status in _QUIET and not row.get("failures"):
                quiet[_QUIET[obs.status]].append(spec.id)  # the warm path: batched updates at the end
                outcomes.append(Outcome(spec.id, _QUIET[obs.status]))
                continue
            outcomes.append(
                record_observation(db, spec, obs, now, failure_threshold=failure_threshold, extractors=extractors)
            )
    with transaction(db):
        for status, ids in quiet.items():
            if ids:
                state.mark_checked(db, ids, now, status)
        counts = {
            "checked": len(outcomes),
            "changed": sum(o.status == "changed" for o in outcomes),
            "failed": sum(o.status == "error" for o in outcomes),
            "not_modified": len(quiet["not_modified"]),
        }
        state.log_poll(db, now, now, origin, counts)
    return outcomes
