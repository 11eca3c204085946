"""The optional machine summary ([summary]): asked for after an alert is queued, on its own job, so a slow or
dead endpoint never delays an alert. A summary that arrives after the post is added with chat.update."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Protocol

from storage.database import Database
from storage.db import transaction
from storage.outbox import alerts as outbox
from storage.watching import summaries as cache
from watchers.facts.summary import SYSTEM, diff_key, inert_summary, prompt
from watchers.fetching.chat import ask_chat, chat_client
from watchers.fetching.errors import FetchError
from watchers.fetching.network import NetworkPolicy
from watchers.fetching.settings import ChatSettings

log = logging.getLogger("whisperer.summary")

RECENT = timedelta(hours=1)  # older alerts are not summarised after the fact


class Updater(Protocol):
    def update(self, db: Database, alert: dict[str, Any]) -> bool: ...


class Summariser:
    """Asks the endpoint about each new diff once; the answer (or the failure) is cached per diff."""

    def __init__(self, settings: ChatSettings, policy: NetworkPolicy) -> None:
        self.settings = settings
        self.client = chat_client(policy)

    def run(self, db: Database, now: datetime, sink: Updater | None = None) -> int:
        """Summarise what is new; update posts already made. Returns how many summaries were written."""
        written = 0
        done: set[str] = set()
        for alert in cache.alerts_to_summarise(db, now - RECENT):
            diff = str(alert.get("change_diff") or "")
            key = diff_key(diff)
            if not diff or key in done or cache.cached_summary(db, key) is not None:
                continue
            done.add(key)
            text, error = self.ask(str(alert.get("source_id")), str(alert.get("change_summary") or ""), diff)
            with transaction(db):
                cache.store_summary(db, key, self.settings.model, text, error, now)
            if text is None:
                log.warning(
                    "no machine summary for change #%s: %s (the alert stands without it)", alert["change_id"], error
                )
                continue
            written += 1
            if sink is not None:
                self.refresh(db, int(alert["change_id"]), sink)
        return written

    def ask(self, source: str, summary: str, diff: str) -> tuple[str | None, str | None]:
        try:
            answer = ask_chat(self.client, self.settings, SYSTEM, prompt(source, summary, diff))
        except FetchError as exc:
            return None, str(exc)
        text = inert_summary(answer)
        return (text, None) if text else (None, "the answer was empty once made inert")

    def refresh(self, db: Database, change_id: int, sink: Updater) -> None:
        """chat.update every post already made about the change, so the late summary shows."""
        for alert in outbox.posted_alerts(db, change_id=change_id):
            try:
                sink.update(db, alert)
            except Exception:  # the alert stands as posted; only the summary is missing from it
                log.exception("could not add the machine summary to alert #%s", alert["id"])

    def close(self) -> None:
        self.client.clear()
