"""The meaning extractor: after a change is recorded, what it means for us (impacts) and a term gloss of its
non-Latin lines; and the followed thresholds read from every new snapshot, their history kept.

Pure parts live beside it (changes.py, follow.py, impact.py, gloss.py); this class compares with the past and
writes, inside the poll's transaction like the other extractors (watchers/facts/extractors.py)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from storage.database import Database
from storage.db import stamp
from storage.programme import deadlines, knowledge
from storage.programme import metrics as readings
from storage.watching import changes as store
from storage.watching import facts as kept
from watchers.facts.follow import read_followed
from watchers.facts.gloss import gloss_lines, term_list
from watchers.facts.impact import Follower, Impact, date_impact, threshold_impact, tier_impact, zone_impact
from watchers.facts.metrics import describe_move, zone_of
from watchers.patterns import lazy_pattern
from watchers.reading.observe import Observation
from watchers.sources import SourceSpec


@dataclass(frozen=True)
class MeaningFacts:
    followers: tuple[Follower, ...] = ()
    tracked_dates: tuple[tuple[str, date], ...] = ()  # (what, day): rebate claim windows, the renewal date
    partner_tier: str | None = None
    # The configured and bundled terms, read when a change is first glossed: a poll that records none never does.
    glossary: Callable[[], Iterable[tuple[str, str]]] = tuple
    label = "the meaning reader"

    def applies(self, spec: SourceSpec, change_ids: Sequence[int]) -> bool:
        """Changes to read, or a threshold this source states."""
        return bool(change_ids) or any(f.follow.source == spec.id for f in self.followers)

    def __call__(
        self,
        db: Database,
        spec: SourceSpec,
        obs: Observation,
        old_text: str | None,
        change_ids: Sequence[int],
        now: datetime,
    ) -> None:
        first = change_ids[0] if change_ids else None
        impacts: dict[int, list[Impact]] = {change_id: [] for change_id in change_ids}
        moved = self._thresholds(db, spec, obs, old_text, first, now)
        if first is None:  # a first snapshot, or nothing recorded: only the thresholds were to be read
            return
        impacts[first] += moved + self._tier(db, first) + self._zones(db, spec, now)
        tracked = self._tracked(db)
        terms = term_list([*self.glossary(), *((r["term"], r["meaning"]) for r in _glossary_rows(db))])
        for change_id in change_ids:
            change = store.get_change(db, change_id)
            if change is None:
                continue
            for fact in kept.meaning_of(db, change_id)["facts"]:
                if fact.get("kind") == "date" and fact.get("old_day") and fact.get("new_day"):
                    old, new = date.fromisoformat(fact["old_day"]), date.fromisoformat(fact["new_day"])
                    for title in tracked.get(old, []):
                        title = title or _title_from(str(fact.get("label", "")))
                        impacts[change_id].append(date_impact(title, old, new))
            if impacts[change_id]:
                kept.set_impacts(db, change_id, [i.as_dict() for i in impacts[change_id]])
            body = str(change["diff"]).splitlines()[2:]
            lines = [line[1:] for line in body if line[:1] == "+"] + [line[1:] for line in body if line[:1] == "-"]
            glosses = gloss_lines(lines, terms)
            if glosses:
                kept.set_glosses(db, change_id, glosses)

    def _thresholds(
        self,
        db: Database,
        spec: SourceSpec,
        obs: Observation,
        old_text: str | None,
        change_id: int | None,
        now: datetime,
    ) -> list[Impact]:
        mine = [f for f in self.followers if f.follow.source == spec.id]
        out: list[Impact] = []
        for pattern in dict.fromkeys(f.follow.pattern for f in mine):
            follow = next(f.follow for f in mine if f.follow.pattern == pattern)
            found = read_followed(follow, obs.text)
            if found is None:
                continue
            value, raw = found
            last = kept.latest_threshold(db, spec.id, pattern)
            earlier = read_followed(follow, old_text) if last is None and old_text else None
            if earlier is not None:  # followed since the last snapshot was taken: that snapshot said this
                kept.record_threshold(db, spec.id, pattern, earlier[0], earlier[1], now, None)
                last = kept.latest_threshold(db, spec.id, pattern)
            if last is not None and float(last["value"]) == value:
                continue
            kept.record_threshold(db, spec.id, pattern, value, raw, now, change_id)
            if last is None:  # the first reading: nothing moved, the configured number is only replaced
                continue
            current = readings.current_metrics(db, now)
            for f in (f for f in mine if f.follow.pattern == pattern):
                row = current.get(f.metric) if f.metric else None
                out.append(threshold_impact(f, float(last["value"]), value, float(row["value"]) if row else None))
        return out

    def _tier(self, db: Database, change_id: int) -> list[Impact]:
        names = {n.casefold() for n in (self.partner_tier, knowledge.effective_tier(db, self.partner_tier)) if n}
        return [
            tier_impact(e["old_name"], e["new_name"])
            for e in knowledge.tier_events(db)
            if e["change_id"] == change_id and e["kind"] == "renamed" and (e["old_name"] or "").casefold() in names
        ]

    def _zones(self, db: Database, spec: SourceSpec, now: datetime) -> list[Impact]:
        out = []
        for watch in spec.metrics:
            history = readings.metric_history(db, watch.name, 2)
            if len(history) < 2 or history[0]["set_at"] != stamp(now) or history[0].get("source_id") != spec.id:
                continue
            old, new = float(history[1]["value"]), float(history[0]["value"])
            text = describe_move(watch, old, new)
            if text:
                out.append(zone_impact(text, zone_of(watch, old) != zone_of(watch, new)))
        return out

    def _tracked(self, db: Database) -> dict[date, list[str]]:
        tracked: dict[date, list[str]] = {}
        for title, day in self.tracked_dates:
            tracked.setdefault(day, []).append(title)
        for row in deadlines.live_deadlines(db):
            day = date.fromisoformat(str(row["due"])[:10])
            if day not in tracked:  # a deadline named by the config says it better; "" = say it with the label
                tracked[day] = [""]
        return tracked


_TRAILING = lazy_pattern(
    r"\s*(?:\bby|\bon|\bbefore|\buntil|\bno later than|\bat the latest|\bfrom|\bat[ée]|\bsebelum|"
    r"\bpaling lambat|\bpada|\bem|[:：为前])\s*$",
    re.IGNORECASE,
)


def _title_from(label: str) -> str:
    """ "Claims for Q4 2026 must be filed by" → "Claims for Q4 2026 must be filed" (a verb phrase for the date)."""
    head = label.split("…")[0].strip()
    for _ in range(2):
        head = _TRAILING().sub("", head).strip()
    return head if 3 <= len(head) <= 70 else "A deadline you track falls"


def _glossary_rows(db: Database) -> list[dict[str, str]]:
    from storage.programme.glossary import list_terms

    return [{"term": str(r["term"]), "meaning": str(r["meaning"])} for r in list_terms(db)]
