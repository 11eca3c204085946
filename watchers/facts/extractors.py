"""Extractors: facts read from a new snapshot inside the poll's transaction, with the alerts they cause.

Each is an `Extractor` (watchers/recording/record.py); bot/process/runtime.py registers them. The reading is pure
(watchers/facts/tiers.py, versions.py, dates.py); these classes only compare with the past and write.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.database import Database
from storage.outbox import alerts as outbox
from storage.programme import deadlines, knowledge
from storage.watching import changes as store
from watchers.facts.dates import dated_sentences
from watchers.facts.tiers import TierEvent, classify_ladder, extract_ladder
from watchers.facts.versions import Version, find_updated, find_version, same_version
from watchers.reading.feeds import entries_from_snapshot, is_feed_snapshot
from watchers.reading.html import SelectorError
from watchers.reading.inert import inert
from watchers.reading.observe import Observation
from watchers.recording.record import SUMMARY_ITEMS, Extractor, queue_summary_alert
from watchers.sources import DEFAULT_ALERT_LIMIT, SourceSpec


def _is_feed(obs: Observation) -> bool:
    # The one strict test (watchers/reading/feeds.py): a page or a JSON export that merely starts with "{" is text.
    return is_feed_snapshot(obs.text)


def _is_feed_text(text: str | None) -> bool:
    return bool(text) and is_feed_snapshot(text or "")


@dataclass(frozen=True)
class TierFacts:
    """topic = "tiers": keep the ladder; on a change, say what was renamed, added, removed or reordered."""

    partner_name: str
    partner_tier: str | None  # as configured; the effective one may have been renamed since
    label = "the tier-ladder reader"

    def applies(self, spec: SourceSpec, change_ids: Sequence[int]) -> bool:
        return spec.topic == "tiers"

    def __call__(
        self,
        db: Database,
        spec: SourceSpec,
        obs: Observation,
        old_text: str | None,
        change_ids: Sequence[int],
        now: datetime,
    ) -> None:
        if spec.topic != "tiers" or _is_feed(obs):
            return
        try:
            ladder = extract_ladder(obs.text, obs.document, spec.tiers_selector)
        except SelectorError:  # the tiers_selector no longer matches: read the whole snapshot instead
            ladder = extract_ladder(obs.text)
        ladder = [inert(name) for name in ladder]  # read from the page itself when a tiers_selector is set
        previous = knowledge.latest_ladder(db, spec.id)
        if previous is None and old_text and not spec.tiers_selector and not _is_feed_text(old_text):
            previous = extract_ladder(old_text) or None  # snapshots from before the bot read ladders
        if not ladder or ladder == previous:
            return
        change_id = change_ids[0] if change_ids else None
        knowledge.record_ladder(db, spec.id, ladder, now, change_id)
        if previous is None:
            return
        events = classify_ladder(previous, ladder)
        limit = spec.alert_limit or DEFAULT_ALERT_LIMIT
        if events and change_id is not None:  # one message for the channel: the rename says more than the diff
            outbox.supersede_alert(db, f"change:{change_id}", now, by="tier events")
        skipped: list[TierEvent] = []
        for index, event in enumerate(events):
            mine = knowledge.effective_tier(db, self.partner_tier)
            is_mine = mine is not None and mine.casefold() == (event.old or "").casefold()
            event_id = knowledge.record_tier_event(
                db, spec.id, event.kind, event.old, event.new, event.position, now, change_id
            )
            if is_mine and event.kind == "renamed" and self.partner_tier and event.new:
                knowledge.follow_tier(db, self.partner_tier, event.new, now)
            if index >= limit and not is_mine:  # flood control: recorded, and counted in one summary below
                skipped.append(event)
                continue
            outbox.enqueue_alert(
                db,
                f"tier-event:{event_id}",
                f"tier-{event.kind}",
                self._payload(spec, event, is_mine, len(ladder)),
                now,
                source_id=spec.id,
                change_id=change_id,
                channel=spec.channel,
            )
        if skipped:
            queue_summary_alert(
                db,
                spec,
                f"tiers:{change_id or now.isoformat()}",
                what="tier change",
                shown=len(events) - len(skipped),
                items=[event.describe() for event in skipped[:SUMMARY_ITEMS]],
                more=len(skipped),
                command="/whisperer tiers",
                now=now,
                topic=spec.topic,
            )

    def _payload(self, spec: SourceSpec, event: TierEvent, is_mine: bool, size: int) -> dict[str, object]:
        if event.kind == "renamed":
            text = f"Heads-up: *{event.old}* is now called *{event.new}*."
            if is_mine:
                text += (
                    f"\n\nThat is your tier: {self.partner_name} is now *{event.new}*. "
                    "I'll use the new name from now on."
                )
            heading = "Tier renamed"
        elif event.kind == "added":
            text = f"New tier on the {spec.title}: *{event.new}* (level {event.position} of {size})."
            heading = "Tier added"
        elif event.kind == "removed":
            text = f"*{event.old}* is no longer on the {spec.title}."
            if is_mine:
                text += "\n\nThat was your tier: check your status in Partner Center."
            heading = "Tier removed"
        else:
            text = f"The tiers on the {spec.title} were reordered: {event.new} (was {event.old})."
            heading = "Tiers reordered"
        return {
            "heading": heading,
            "text": text,
            "note": f"{spec.title} · /whisperer tiers",
            "source_id": spec.id,
            "event": event.kind,
            "old": event.old,
            "new": event.new,
        }


@dataclass(frozen=True)
class PolicyFacts:
    """topic = "policy": keep the version the page states; a new version is an alert with the diff."""

    label = "the policy-version reader"

    def applies(self, spec: SourceSpec, change_ids: Sequence[int]) -> bool:
        return spec.topic == "policy"

    def __call__(
        self,
        db: Database,
        spec: SourceSpec,
        obs: Observation,
        old_text: str | None,
        change_ids: Sequence[int],
        now: datetime,
    ) -> None:
        if spec.topic != "policy" or _is_feed(obs):
            return
        version = find_version(obs.text)
        if version is None:
            return
        last = knowledge.latest_policy_version(db, spec.id)
        earlier = find_version(old_text) if last is None and old_text and not _is_feed_text(old_text) else None
        if earlier is not None:  # a snapshot from before the bot read versions
            assert old_text is not None
            knowledge.record_policy_version(db, spec.id, str(earlier), find_updated(old_text), now, None)
            last = knowledge.latest_policy_version(db, spec.id)
        if last is not None and same_version(Version.parse(last["version"].lstrip("v")), version):
            return
        change_id = change_ids[0] if change_ids else None
        updated = find_updated(obs.text)
        row_id = knowledge.record_policy_version(db, spec.id, str(version), updated, now, change_id)
        if last is None:
            return
        old = Version.parse(last["version"].lstrip("v"))
        change = store.get_change(db, change_id) if change_id else None
        text = f"*{spec.title}* moved from {old} to *{version}*"
        text += f" (the page says: updated {updated})." if updated else "."
        if version.key < old.key:
            text += " That is a lower version than before: a rollback, or a typo on the page."
        if change_id is not None:  # the version alert carries the same diff excerpt
            outbox.supersede_alert(db, f"change:{change_id}", now, by=f"policy-version:{row_id}")
        outbox.enqueue_alert(
            db,
            f"policy-version:{row_id}",
            "policy-version",
            {
                "heading": f"{spec.title} {old} → {version}",
                "text": text,
                "excerpt": change["diff"] if change else "",
                "note": f"/whisperer policy {spec.id}" + (f" · /whisperer diff {change_id}" if change_id else ""),
                "source_id": spec.id,
                "old": str(old),
                "new": str(version),
            },
            now,
            source_id=spec.id,
            change_id=change_id,
            channel=spec.channel,
        )


def _readable_text(obs: Observation) -> str:
    """The snapshot as sentences: a page's lines, or a feed's entry titles and summaries."""
    if not _is_feed(obs):
        return obs.text
    lines = []
    for entry in entries_from_snapshot(obs.text).values():
        lines.append(entry.title)
        lines.extend(entry.summary.splitlines())
    return "\n".join(lines)


@dataclass(frozen=True)
class DeadlineFacts:
    """topic = "deadlines" or extract_deadlines = true: every dated sentence becomes a deadline."""

    label = "the deadline reader"

    def applies(self, spec: SourceSpec, change_ids: Sequence[int]) -> bool:
        return spec.topic == "deadlines" or spec.extract_deadlines

    def __call__(
        self,
        db: Database,
        spec: SourceSpec,
        obs: Observation,
        old_text: str | None,
        change_ids: Sequence[int],
        now: datetime,
    ) -> None:
        if spec.topic != "deadlines" and not spec.extract_deadlines:
            return
        items = []
        for found in dated_sentences(_readable_text(obs)):
            digest = hashlib.sha1(found.sentence.encode("utf-8")).hexdigest()[:12]
            items.append((f"source:{spec.id}:{found.day.isoformat()}:{digest}", found.day, found.sentence))
        deadlines.sync_source_deadlines(db, spec.id, items, now, change_ids[0] if change_ids else None)


def make_extractors(partner_name: str, partner_tier: str | None) -> list[Extractor]:
    return [TierFacts(partner_name, partner_tier), PolicyFacts(), DeadlineFacts()]
