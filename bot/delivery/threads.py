"""Threads: a change to a source that alerted in the last `[bot] thread_hours` goes in that alert's thread.

The decision is made at delivery time, from storage: the first top-level alert about the same source,
sent to the same channel within the window, is the parent. A parent not yet delivered (pending, held,
failed) is no parent: the alert then posts top-level, so nothing waits on a message that may never exist.
Tier renames and policy versions always post top-level; after each threaded post the parent is updated
in place to say "N more in thread".
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, tzinfo
from typing import Any

from bot.delivery.errors import PostedUnrecorded, Undeliverable, classify
from bot.delivery.sinks import UpdatingSink, is_dm
from handlers.alerting.compose import compose_alert
from handlers.alerting.events import shared_event
from handlers.reply import Reply
from storage.database import Database
from storage.db import parse_stamp
from storage.outbox import threads

log = logging.getLogger("whisperer.delivery")

THREADED_KINDS = ("change",)  # tier renames and policy versions post top-level, unless they join an event
EVENT_KINDS = ("change", "policy-version")  # and tier-*, metric-*: alerts that may join an event's post
# "One poll": alerts of one event are written within this time of each other (per-source jobs drift apart a little).
EVENT_WINDOW = timedelta(minutes=10)


class ThreadedSink:
    """A sink that puts follow-up change alerts in their source's thread, then updates the parent's count."""

    def __init__(self, inner: UpdatingSink, thread_hours: float, tz: tzinfo) -> None:
        self.inner = inner
        self.window = timedelta(hours=thread_hours)
        self.tz = tz
        self.terminal = inner.terminal  # terminal threads are ours alone (never sent to Slack)

    def parent_for(self, db: Database, alert: dict[str, Any]) -> dict[str, Any] | None:
        if is_dm(alert):
            return None
        event = self.event_parent(db, alert)
        if event is not None:
            return event
        if self.window <= timedelta(0) or alert.get("kind") not in THREADED_KINDS:
            return None
        if not alert.get("source_id"):
            return None
        since = parse_stamp(str(alert["created_at"])) - self.window
        return threads.thread_parent(db, alert, since, terminal=self.terminal)

    def event_parent(self, db: Database, alert: dict[str, Any]) -> dict[str, Any] | None:
        """The post of the same event (same value transition, same poll) this alert joins, naming it on both."""
        if alert.get("kind") not in EVENT_KINDS and not str(alert.get("kind", "")).startswith(("tier-", "metric-")):
            return None
        since = parse_stamp(str(alert["created_at"])) - EVENT_WINDOW
        found = shared_event(db, alert, threads.event_heads(db, alert, since, terminal=self.terminal))
        if found is None:
            return None
        head, event = found
        threads.mark_event(db, [int(head["id"]), int(alert["id"])], event)  # the head keeps its first name
        return {**head, "event": head.get("event") or event}

    def send(self, db: Database, alert: dict[str, Any], message: Reply, target: str | None) -> str | None:
        parent = self.parent_for(db, alert)
        if parent is None:
            return self.inner.send(db, alert, message, target)
        threaded = {**alert, "thread_ts": parent["ts"], "thread_channel": parent["posted_channel"]}
        try:
            ts = self.inner.send(db, threaded, message, target)
        except PostedUnrecorded:
            raise  # it was posted: never again, top-level or not
        except Exception as exc:
            if not isinstance(classify(exc, target or ""), Undeliverable):
                raise  # retried later like any other post (the thread is chosen again then)
            # The thread itself is refused (its parent deleted, say): top-level rather than lost.
            log.warning(
                "alert #%s could not go in the thread of alert #%s (%s); posting it top-level",
                alert["id"],
                parent["id"],
                exc,
            )
            return self.inner.send(db, alert, message, target)
        try:
            self.update(db, parent)
        except Exception:  # the reply is posted whatever happens to the count on its parent
            log.exception(
                "alert #%s is in the thread of alert #%s, whose count could not be updated", alert["id"], parent["id"]
            )
        return ts

    def find_posted(
        self, db: Database, alert: dict[str, Any], target: str | None, since: datetime
    ) -> tuple[str, str] | None:
        """Where `send` would have put the row: in its source's thread (chosen the same way), else top-level."""
        parent = self.parent_for(db, alert)
        if parent is not None:
            threaded = {**alert, "thread_ts": parent["ts"], "thread_channel": parent["posted_channel"]}
            found = self.inner.find_posted(db, threaded, target, since)
            if found is not None:
                return found
        return self.inner.find_posted(db, alert, target, since)

    def update(self, db: Database, alert: dict[str, Any]) -> bool:
        """Re-render a sent alert (its thread count, and whatever else changed) and replace it in place."""
        message = compose_alert(db, alert, self.tz)
        return message is not None and self.inner.update(db, alert, message)
