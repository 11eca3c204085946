"""Levels, settled at the end of a poll's transaction: after the tier, policy, metric and deadline readers have
written their alerts, so their findings can make a change urgent. Low changes' alerts are kept, never posted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.database import Database
from storage.programme import knowledge
from storage.watching import changes as store
from storage.watching import facts
from storage.watching import levels as stored
from watchers.facts.impact import urgent_reasons as impact_reasons
from watchers.facts.levels import ImportanceRule, Verdict, decide_level, diff_sides
from watchers.reading.observe import Observation
from watchers.sources import SourceSpec


def _number(value: object) -> str:
    return f"{float(str(value)):g}" if isinstance(value, int | float) else str(value)


def urgent_reasons(db: Database, spec: SourceSpec, partner_tier: str | None, now: datetime) -> list[str]:
    """What this poll of the source did that makes its changes urgent, in words: read from the alerts the
    readers wrote (tier renamed, metric zone) and the deadlines that moved. Other reasons (a followed threshold,
    a KPI that flips) join here."""
    reasons: list[str] = []
    mine = knowledge.effective_tier(db, partner_tier)
    for alert in stored.poll_alerts(db, spec.id, now):
        kind, payload = alert["kind"], alert["payload"]
        if kind == "tier-renamed" and mine and str(payload.get("new") or "").casefold() == mine.casefold():
            reasons.append(f"renames your tier ({payload.get('old')} → {payload.get('new')})")
        elif kind == "tier-removed" and mine and str(payload.get("old") or "").casefold() == mine.casefold():
            reasons.append(f"removes your tier ({payload.get('old')})")
        elif kind == "metric-zone":
            reasons.append(
                f"moves {payload.get('metric')} into the {payload.get('zone') or 'other'} zone "
                f"({_number(payload.get('old'))} → {_number(payload.get('new'))})"
            )
    for old, new in stored.moved_deadlines(db, spec.id, now):
        reasons.append(f"moves a deadline it states ({old} → {new})")
    return reasons


def settle_level(
    db: Database,
    spec: SourceSpec,
    change_id: int,
    rules: Sequence[ImportanceRule],
    reasons: Sequence[str],
    now: datetime,
) -> Verdict | None:
    """Decide one change's level, write it with its reason, and keep a low change's alerts out of the channel."""
    change = store.get_change(db, change_id)
    if change is None:
        return None
    removed, added = diff_sides(str(change["diff"] or ""))
    taught = [
        ImportanceRule(str(r["pattern"]), str(r["level"]), source=spec.id, label=f"ignore rule #{r['id']}")
        for r in stored.list_rules(db, spec.id)
    ]
    verdict = decide_level(
        source_id=spec.id,
        topic=spec.topic,
        added=added,
        removed=removed,
        importance=spec.importance,
        rules=[*rules, *taught],
        urgent_reasons=reasons,
    )
    stored.set_change_level(db, change_id, verdict.level, verdict.why)
    if verdict.level == "low":
        stored.keep_for_digest(db, change_id, now, verdict.why)
    return verdict


# An impact's reason → how the readers' own reason for the same thing begins.
_SAID_BY_READERS = {
    "renames the tier you hold": "renames your tier",
    "moves a metric zone": "moves ",
    "moves one of your deadlines": "moves a deadline",
}


def _said(reason: str, reasons: Sequence[str]) -> bool:
    prefix = _SAID_BY_READERS.get(reason)
    return prefix is not None and any(r.startswith(prefix) and (prefix != "moves " or "zone" in r) for r in reasons)


@dataclass(frozen=True)
class ChangeLevels:
    """The last extractor of a poll: every change gets urgent, normal or low, and why."""

    rules: tuple[ImportanceRule, ...] = ()
    partner_tier: str | None = None
    label = "the level decision"

    def applies(self, spec: SourceSpec, change_ids: Sequence[int]) -> bool:
        return bool(change_ids)

    def __call__(
        self,
        db: Database,
        spec: SourceSpec,
        obs: Observation,
        old_text: str | None,
        change_ids: Sequence[int],
        now: datetime,
    ) -> None:
        if not change_ids:
            return
        reasons = urgent_reasons(db, spec, self.partner_tier, now)
        for change_id in change_ids:
            # What the meaning reader found this change does to us (a followed threshold, a KPI that flips); the
            # ones this poll's readers already gave with their values (tier, zone, deadline) are not said twice.
            found = impact_reasons(facts.meaning_of(db, change_id)["impacts"])
            ours = [r for r in found if r not in reasons and not _said(r, reasons)]
            settle_level(db, spec, change_id, self.rules, [*reasons, *ours], now)
