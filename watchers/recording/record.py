"""Recording: an observation compared with the stored past, written with its changes and alerts atomically."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from storage.database import Database
from storage.db import savepoint, transaction
from storage.outbox import alerts as outbox
from storage.watching import changes as store
from storage.watching import facts as kept
from storage.watching import sources as state
from watchers.facts.changes import fact_changes
from watchers.reading.feeds import diff_entries, entries_from_snapshot, is_feed_snapshot
from watchers.reading.inert import inert
from watchers.reading.jsondoc import summarise_leaves
from watchers.reading.normalise import content_hash, normalise_text
from watchers.reading.observe import Observation, patterns
from watchers.recording.diffing import diff_lines
from watchers.recording.metrics import record_metrics
from watchers.recording.sessions import record_logged_out, record_session_back
from watchers.sources import DEFAULT_ALERT_LIMIT, SourceSpec


@dataclass
class Outcome:
    """What a poll did to one source."""

    source_id: str
    # "new" | "changed" | "unchanged" | "not_modified" | "error" | "skipped" | "logged_out"
    # | "held" (came back empty: waiting for a second look) | "stale" (an older check than the one recorded)
    status: str
    change_ids: list[int] = field(default_factory=list)
    summaries: list[str] = field(default_factory=list)
    error: str | None = None
    warning: str | None = None
    failures: int = 0


class Extractor(Protocol):
    """Turns a new snapshot into facts, inside the poll's transaction (tier ladders, versions, dates).

    One may also have `applies(spec, change_ids) -> bool`, False when it can write nothing for this source and
    these changes (another topic; no change): it is then not called, and costs a cold pass no savepoint."""

    def __call__(
        self,
        db: Database,
        spec: SourceSpec,
        obs: Observation,
        old_text: str | None,
        change_ids: Sequence[int],
        now: datetime,
    ) -> None: ...


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
    # A JSON snapshot is one leaf per line: say which fields changed, from what to what.
    summary = summarise_leaves(diff.added, diff.removed) if spec.kind == "json" else diff.summary
    change_id = store.add_change(
        db,
        spec.id,
        now,
        kind="page",
        summary=summary,
        diff=diff.diff,
        old_hash=old_hash,
        new_hash=new_hash,
        added=len(diff.added),
        removed=len(diff.removed),
    )
    _keep_facts(db, change_id, diff.removed, diff.added)
    return [(change_id, summary)]


def _keep_facts(db: Database, change_id: int, removed: Sequence[str], added: Sequence[str]) -> None:
    """The values that changed, kept with the change: the headline of its alert, `diff`, the digest and Home."""
    facts = fact_changes(removed, added)
    if facts:
        kept.set_facts(db, change_id, [f.as_dict() for f in facts])


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
        _keep_facts(db, change_id, diff.removed, diff.added)
        out.append((change_id, summary))
    return out


def _is_feed_text(text: str) -> bool:
    return is_feed_snapshot(text)


def _has_content(text: str) -> bool:
    """A page with any line, a feed with any entry."""
    if _is_feed_text(text):
        return bool(entries_from_snapshot(text))
    return bool(text.strip())


def _describe(text: str) -> str:
    if _is_feed_text(text):
        count = len(entries_from_snapshot(text))
        return f"{count} entr{'ies' if count != 1 else 'y'}"
    count = len(text.splitlines())
    return f"{count} line{'s' if count != 1 else ''}"


SUMMARY_ITEMS = 5  # how many of the changes past the limit a summary alert lists by name


def queue_change_alerts(
    db: Database, spec: SourceSpec, changes: Sequence[tuple[int, str]], now: datetime, topic: str | None = None
) -> int:
    """One alert per change up to the source's alert_limit, then one summary for the rest; returns alerts queued.

    Every change is recorded whatever the limit: the summary points to `/whisperer changes SOURCE`."""
    limit = spec.alert_limit or DEFAULT_ALERT_LIMIT
    for change_id, summary in changes[:limit]:
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
    rest = changes[limit:]
    if not rest:
        return len(changes)
    queue_summary_alert(
        db,
        spec,
        f"changes:{rest[0][0]}",
        what="change",
        shown=limit,
        items=[f"#{change_id} {summary}" for change_id, summary in rest[:SUMMARY_ITEMS]],
        more=len(rest),
        command=f"/whisperer changes {spec.id}",
        now=now,
        topic=topic or spec.topic,
    )
    return limit + 1


def queue_summary_alert(
    db: Database,
    spec: SourceSpec,
    key: str,
    *,
    what: str,
    shown: int,
    items: Sequence[str],
    more: int,
    command: str,
    now: datetime,
    topic: str,
) -> None:
    """The one alert that stands for every `what` past a source's alert_limit in one poll (flood control)."""
    outbox.enqueue_alert(
        db,
        f"alert-summary:{spec.id}:{key}",
        "alert-summary",
        {
            "source_id": spec.id,
            "what": what,
            "shown": shown,
            "more": more,
            "items": [inert(item) for item in items],
            "command": command,
            "topic": topic,
        },
        now,
        source_id=spec.id,
        channel=spec.channel,
    )


# Quiet observations: nothing to compare, only the check time moves. Observation status → source status.
QUIET = {"not_modified": "not_modified", "same_bytes": "unchanged"}


def record_observation(
    db: Database,
    spec: SourceSpec,
    obs: Observation,
    now: datetime,
    *,
    failure_threshold: int = 3,
    extractors: Sequence[Extractor] = (),
    started: datetime | None = None,
    admins: Sequence[str] = (),
    row: state.Row | None = None,
) -> Outcome:
    """Compare an observation with the stored past and write the result, with its alerts, atomically.

    `started` is when the check began: a result older than the one already recorded is discarded, not diffed.
    `row` is the source's row when the caller read it inside the same transaction (a poll reads a batch at once)."""
    with transaction(db):
        row = row if row is not None else state.get_source(db, spec.id)
        if row is None:
            raise KeyError(f"source {spec.id!r} is not in the database; sync the configuration first")
        if started is not None and state.observed_after(row, started):
            # Two polls overlapped (a cron `whisperer poll` beside the bot) and the older one finished last:
            # diffing it against the newer state would invent a "changed back" change, and then another.
            return Outcome(spec.id, "stale")
        if obs.status == "error":
            return _record_error(db, spec, obs, now, failure_threshold, started)
        if obs.status == "logged_out":  # a state, not a change: nothing is compared until it comes back
            record_logged_out(db, spec, inert(obs.error or "the session has expired"), now, admins)
            return Outcome(spec.id, "logged_out", error=obs.error and inert(obs.error))
        if row.get("session_expired_at"):
            record_session_back(db, spec, now, admins)
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
        if obs.status in QUIET:
            state.mark_checked(db, [spec.id], now, QUIET[obs.status])
            return Outcome(spec.id, QUIET[obs.status])
        old_hash = row["last_hash"]
        old_text = store.get_snapshot(db, old_hash)
        new_hash = content_hash(obs.text)
        if (
            spec.confirm_empty
            and old_text is not None
            and row.get("held_hash") != new_hash
            and _has_content(old_text)
            and not _has_content(obs.text)
        ):
            # A portal mid-deploy, a login wall that answers 200: an empty page is believed on the second look.
            held = (
                f"came back empty (it had {_describe(old_text)}); held as suspicious, and stored as a change "
                "only if the next check sees the same (confirm_empty = false stores it at once)"
            )
            state.hold_result(db, spec.id, now, new_hash, held, observed_at=started)
            return Outcome(spec.id, "held", warning=held)
        # Re-normalise the past with today's rules, so a newly added ignore pattern is not a "change".
        if (
            old_text is not None
            and old_hash != new_hash
            and not _is_feed_text(old_text)
            and normalise_text(old_text, patterns(spec.ignore), spec.unordered) == obs.text
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
            queue_change_alerts(db, spec, changes, now)
            if not changes:  # e.g. a feed whose title changed: a new snapshot, nothing to report
                status = "unchanged"
        if status == "new":
            store.save_snapshot(db, new_hash, obs.text, now)
        # Metrics are read from the text before noise removal: a dashboard number may sit on an ignored line.
        warnings = record_metrics(db, spec, obs.readable or obs.text, now) if spec.metrics else []
        warning = inert("; ".join(w for w in (obs.warning, *warnings) if w)) or None
        state.record_success(
            db,
            spec.id,
            now,
            status=status,
            content_hash=new_hash,
            etag=obs.etag,
            last_modified=obs.last_modified,
            warning=warning,
            changed=bool(changes),
            body_hash=obs.body_hash,
            observed_at=started,
        )
        change_ids = [c for c, _ in changes]
        if status in ("new", "changed"):
            problems = _run_extractors(db, extractors, spec, obs, old_text, change_ids, now)
            if problems:
                warning = "; ".join([*([warning] if warning else []), *problems])
                state.set_warning(db, spec.id, warning)
        return Outcome(spec.id, status, change_ids, [s for _, s in changes], warning=warning)


def _applies(extract: Extractor, spec: SourceSpec, change_ids: Sequence[int]) -> bool:
    applies = getattr(extract, "applies", None)
    return applies is None or bool(applies(spec, change_ids))


def _run_extractors(
    db: Database,
    extractors: Sequence[Extractor],
    spec: SourceSpec,
    obs: Observation,
    old_text: str | None,
    change_ids: Sequence[int],
    now: datetime,
) -> list[str]:
    """Run the extractors that apply, in order; returns what those that raised could not read.

    They share one savepoint (two statements, not two each). If one raises, all of their writes are undone and
    they run again one savepoint each, which undoes the failing one's writes alone and keeps the others'."""
    chosen = [extract for extract in extractors if _applies(extract, spec, change_ids)]
    if len(chosen) > 1:
        try:
            with savepoint(db, "extractors"):
                for extract in chosen:
                    extract(db, spec, obs, old_text, change_ids, now)
            return []
        except Exception:  # undone by the savepoint; the run below names the extractor that raised
            pass
    results = [_run_extractor(db, extract, spec, obs, old_text, change_ids, now) for extract in chosen]
    return [problem for problem in results if problem]


def _run_extractor(
    db: Database,
    extract: Extractor,
    spec: SourceSpec,
    obs: Observation,
    old_text: str | None,
    change_ids: Sequence[int],
    now: datetime,
) -> str | None:
    """Run one extractor in its own savepoint: if it raises, its writes are undone and the change stays."""
    try:
        with savepoint(db, "extractor"):
            extract(db, spec, obs, old_text, change_ids, now)
    except Exception as exc:
        name = getattr(extract, "label", type(extract).__name__)
        return inert(f"{name} could not read this snapshot ({type(exc).__name__}: {exc}); the change itself is kept")
    return None


def _record_error(
    db: Database, spec: SourceSpec, obs: Observation, now: datetime, threshold: int, started: datetime | None
) -> Outcome:
    error = inert(obs.error or "unknown error")
    failures = state.record_failure(db, spec.id, now, error, observed_at=started)
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
