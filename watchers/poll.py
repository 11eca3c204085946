"""Orchestration of one poll: fetch many sources in parallel (politely per host), observe and record each."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from functools import partial
from itertools import chain

from storage.database import Database
from storage.db import savepoint, transaction
from storage.watching import sources as state
from watchers.fetching.browser import Browser, render_source
from watchers.fetching.cookies import CookieFileError, cookies_for, earliest_expiry, load_cookies
from watchers.fetching.http import (
    Client,
    Fetched,
    FetchError,
    FetchSettings,
    HostLimiter,
    Request,
    fetch_lanes,
    fetch_url,
    host_key,
    read_file,
)
from watchers.fetching.session import AUTH_STATUSES, logs_in
from watchers.reading.observe import Observation, safe_observe
from watchers.recording.record import QUIET, Extractor, Outcome, record_observation
from watchers.recording.sessions import warn_cookie_expiry
from watchers.sources import DEFAULT_ALERT_LIMIT, SourceSpec

__all__ = ["Extractor", "Outcome", "fetch_source", "poll_sources", "record_batch"]

# Results written per transaction on a cold pass: parsing happens before the write lock is taken, so the lock is
# held only for the writes (a few milliseconds a source), and a crash loses at most this many fresh snapshots.
WRITE_BATCH = 256

# At most this many consecutive sources are fetched by one thread in a row (see _runs).
RUN_LENGTH = 16


def fetch_source(
    spec: SourceSpec,
    client: Client,
    limiter: HostLimiter,
    settings: FetchSettings,
    etag: str | None = None,
    last_modified: str | None = None,
    cookie: str | None = None,
    browser: Browser | None = None,
) -> Fetched | Observation:
    """The I/O half of a check: the fetched body, or an error (or logged-out) Observation. Never raises."""
    try:
        if not spec.is_remote:  # a file, or a pdf given as a path
            return read_file(spec.url, settings.max_bytes)
        if spec.kind == "browser":
            if browser is None:
                raise FetchError("kind = 'browser' sources need the bot's browser; this caller has none")
            with limiter.slot(spec.url):
                return render_source(browser, spec, settings.max_bytes)
        with limiter.slot(spec.url):
            return fetch_url(
                client,
                spec.url,
                max_bytes=settings.max_bytes,
                etag=etag,
                last_modified=last_modified,
                headers=source_headers(spec, cookie),
            )
    except Exception as exc:
        return failed_fetch(spec, exc)


def source_headers(spec: SourceSpec, cookie: str | None) -> dict[str, str]:
    """The source's own headers; the cookies file's cookies join any Cookie header the source sets itself."""
    headers = dict(spec.headers)
    if cookie:
        name = next((n for n in headers if n.lower() == "cookie"), "Cookie")
        headers[name] = f"{headers[name]}; {cookie}" if headers.get(name) else cookie
    return headers


def failed_fetch(spec: SourceSpec, exc: Exception) -> Observation:
    """What a failed fetch means: logged out (an auth status from a portal we log in to), or an error."""
    if isinstance(exc, FetchError):
        if exc.status in AUTH_STATUSES and logs_in(spec):
            return Observation("logged_out", error=f"the portal answered HTTP {exc.status} to our credentials")
        return Observation("error", error=str(exc))
    # whatever the network layer throws must not stop the other sources
    return Observation("error", error=f"unexpected {type(exc).__name__}: {exc}")


def in_lanes(spec: SourceSpec) -> bool:
    """Fetched by fetch_lanes (a plain GET), rather than one at a time (files, browser pages)."""
    return spec.is_remote and spec.kind != "browser"


Expiry = tuple[datetime, str]


def session_cookies(spec: SourceSpec, now: datetime) -> tuple[str | None, Expiry | None]:
    """The Cookie header from the source's cookies file, read afresh, and the earliest expiry among those cookies.

    Raises CookieFileError (the message names the file and the fix).
    """
    if not spec.cookies:
        return None, None
    matching = cookies_for(load_cookies(spec.cookies), spec.url)
    live = [c for c in matching if not c.expires or c.expires > now.timestamp()]
    header = "; ".join(f"{c.name}={c.value}" if c.value is not None else c.name for c in live) or None
    return header, earliest_expiry(matching)


def _runs(specs: Sequence[SourceSpec], workers: int, lanes: int = 1) -> Iterator[Sequence[SourceSpec]]:
    """The sources in runs of consecutive ones, each fetched by one thread: this thread then waits for (and is
    woken by) a run, not every one of thousands of answers. Runs stay short enough that every thread has some
    sixteen of them, so a slow host holds up little, but never shorter than the requests a thread keeps out at
    once (`lanes`, see fetch_lanes); a poll of a few sources gets runs of that many."""
    size = max(1, lanes, min(RUN_LENGTH, len(specs) // (workers * 16)))
    for start in range(0, len(specs), size):
        yield specs[start : start + size]


def _useful_workers(specs: Sequence[SourceSpec], settings: FetchSettings) -> int:
    """No more threads than can be busy: one per host of plain GETs (a thread keeps per_host of them out at once,
    see fetch_lanes), per_host per host of browser pages, and files count as one host each."""
    hosts: dict[str, int] = {}
    for spec in specs:
        host = host_key(spec.url) if spec.is_remote else spec.url
        hosts[host] = hosts.get(host, 0) + (0 if in_lanes(spec) else 1)
    useful = sum(max(1, min(count, settings.per_host)) for count in hosts.values())
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
    admins: Sequence[str] = (),
    browser: Browser | None = None,
    alert_limit: int = DEFAULT_ALERT_LIMIT,
) -> list[Outcome]:
    """Check many sources in parallel (politely per host) and record each; one failure harms no other.

    Every fetch of this poll counts as started at `now`: a poll that began earlier never overwrites a later one."""
    rows = state.poll_state(db)
    outcomes: list[Outcome] = []
    pending: list[tuple[int, SourceSpec, Observation]] = []  # parsed, waiting to be written in one transaction

    def write_pending() -> None:
        batch = [(spec, obs) for _, spec, obs in pending]
        written = record_batch(
            db, batch, now, failure_threshold=failure_threshold, extractors=extractors, admins=admins
        )
        for (index, _, _), outcome in zip(pending, written, strict=True):
            outcomes[index] = outcome
        pending.clear()

    quiet: dict[str, list[str]] = {status: [] for status in QUIET.values()}

    expiries: list[tuple[SourceSpec, Expiry]] = []

    def work_run(run: Sequence[SourceSpec]) -> list[tuple[SourceSpec, Fetched | Observation, Expiry | None]]:
        """A run's sources: plain GETs with up to per_host of them out at once from this thread (fetch_lanes),
        files and browser pages one at a time."""
        done: list[tuple[SourceSpec, Fetched | Observation, Expiry | None]] = []
        lanes: list[tuple[int, SourceSpec, Expiry | None]] = []
        requests: list[Request] = []
        for spec in run:
            row = rows.get(spec.id) or {}
            try:
                cookie, expiry = session_cookies(spec, now)
            except CookieFileError as exc:
                done.append((spec, Observation("error", error=str(exc)), None))
                continue
            etag, modified = row.get("etag"), row.get("last_modified")
            if in_lanes(spec):
                lanes.append((len(done), spec, expiry))
                done.append((spec, Observation("error", error="not fetched"), expiry))  # its place, filled below
                requests.append(Request(spec.url, settings.max_bytes, etag, modified, source_headers(spec, cookie)))
            else:
                fetched = fetch_source(spec, client, limiter, settings, etag, modified, cookie, browser)
                done.append((spec, fetched, expiry))
        if requests:
            answers = fetch_lanes(client, limiter, requests, settings.per_host)
            for (position, spec, expiry), got in zip(lanes, answers, strict=True):
                done[position] = (spec, got if isinstance(got, Fetched) else failed_fetch(spec, got), expiry)
        return done

    workers = _useful_workers(specs, settings)
    # Threads only fetch (I/O); parsing and writing stay on this thread, so CPU-bound parsing never
    # fights the database writes for the interpreter lock.
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="poll") as pool:
        # Results are recorded in the order of the sources (not as fetches finish), so change numbers
        # come out the same on every run over the same world.
        for spec, fetched, expiry in chain.from_iterable(pool.map(work_run, _runs(specs, workers, settings.per_host))):
            row = rows.get(spec.id) or {}
            if expiry is not None:
                expiries.append((spec, expiry))
            same_validators = isinstance(fetched, Fetched) and (fetched.etag, fetched.last_modified) == (
                row.get("etag"),
                row.get("last_modified"),
            )
            previous_body = row.get("body_hash") if same_validators and row.get("last_hash") else None
            obs = safe_observe(spec, fetched, previous_body)
            if obs.status in QUIET and not row.get("failures") and not row.get("session_expired_at"):
                quiet[QUIET[obs.status]].append(spec.id)  # the warm path: batched updates at the end
                outcomes.append(Outcome(spec.id, QUIET[obs.status]))
                continue
            outcomes.append(Outcome(spec.id, "pending"))  # its place in source order; written in a batch
            # The [bot] alert_limit, for a source that sets none: only what is recorded needs it (a copy costs 9 µs).
            recorded = spec if spec.alert_limit else replace(spec, alert_limit=alert_limit)
            pending.append((len(outcomes) - 1, recorded, obs))
            if len(pending) >= WRITE_BATCH:
                write_pending()
    if pending:
        write_pending()
    with transaction(db):
        for spec, expiry in expiries:
            warn_cookie_expiry(db, spec, expiry, now, admins)
        for status, ids in quiet.items():
            if ids:
                state.mark_checked(db, ids, now, status)
        counts = {
            "checked": len(outcomes),
            "changed": sum(o.status == "changed" for o in outcomes),
            "failed": sum(o.status in ("error", "logged_out") for o in outcomes),
            "not_modified": len(quiet["not_modified"]),
        }
        state.log_poll(db, now, now, origin, counts)
    return outcomes


def record_batch(
    db: Database,
    batch: Sequence[tuple[SourceSpec, Observation]],
    now: datetime,
    *,
    failure_threshold: int = 3,
    extractors: Sequence[Extractor] = (),
    admins: Sequence[str] = (),
) -> list[Outcome]:
    """Record a batch of observations in one transaction; the outcomes in the same order.

    Their rows are read once, inside it, so a poll that overlapped this one is still seen. The batch is written
    in one savepoint; if recording any source raises, that is undone and the batch written again each source in
    its own savepoint (one bad record harms no other)."""
    record = partial(
        record_observation, failure_threshold=failure_threshold, extractors=extractors, started=now, admins=admins
    )
    with transaction(db):
        fresh = state.rows_by_id(db, [spec.id for spec, _ in batch])
        try:
            with savepoint(db, "batch"):
                rows = dict(fresh)
                # A second result for the same id reads its row again (pop).
                return [record(db, spec, obs, now, row=rows.pop(spec.id, None)) for spec, obs in batch]
        except Exception:  # undone by the savepoint; _record below turns the bug into that source's failure
            return [_record(record, db, spec, obs, now, fresh.pop(spec.id, None)) for spec, obs in batch]


def _record(
    record: partial[Outcome],
    db: Database,
    spec: SourceSpec,
    obs: Observation,
    now: datetime,
    row: state.Row | None,
) -> Outcome:
    """record_observation, with a bug in recording turned into that source's recorded failure: the next one polls.

    Its writes sit in a savepoint, so a failure undoes them alone and the batch's other sources are kept."""
    try:
        with savepoint(db, "record"):
            return record(db, spec, obs, now, row=row)
    except Exception as exc:
        failed = Observation("error", error=f"unexpected {type(exc).__name__} while recording: {exc}")
        threshold = record.keywords["failure_threshold"]
        return record_observation(db, spec, failed, now, failure_threshold=threshold, started=now)
