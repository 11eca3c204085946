"""Recording metric watches: each value read kept in the metric history (marked with its source), one alert when
it changes zone or crosses a threshold, a warning (never a zero) when it cannot be read."""

from __future__ import annotations

from datetime import datetime, timedelta

from storage.database import Database
from storage.db import parse_stamp
from storage.outbox import alerts as outbox
from storage.programme import metrics as store
from watchers.facts.metrics import ZONE_MARKS, MetricUnreadable, describe_move, read_metric, zone_of
from watchers.sources import SourceSpec

# An unchanged value is kept again once a day, so the history shows the number is still being read.
HEARTBEAT = timedelta(days=1)


def record_metrics(db: Database, spec: SourceSpec, text: str, now: datetime) -> list[str]:
    """Read every metric of the source from `text`; returns the warnings for those that could not be read."""
    warnings = []
    for watch in spec.metrics:
        try:
            value = read_metric(watch, text)
        except MetricUnreadable as exc:
            warnings.append(str(exc))
            continue
        last = store.latest_metric(db, watch.name)
        if last is not None and float(last["value"]) == value and now - parse_stamp(last["set_at"]) < HEARTBEAT:
            continue
        row_id = store.add_reading(db, watch.name, value, now, spec.id)
        if last is None:
            continue
        text_move = describe_move(watch, float(last["value"]), value)
        if text_move is None:
            continue
        zone = zone_of(watch, value)
        outbox.enqueue_alert(
            db,
            f"metric:{watch.name}:{row_id}",
            "metric-zone" if zone != zone_of(watch, float(last["value"])) else "metric-threshold",
            {
                "text": text_move,
                "icon": ZONE_MARKS.get(zone or "", "📈" if value > float(last["value"]) else "📉"),
                "metric": watch.name,
                "old": float(last["value"]),
                "new": value,
                "zone": zone,
                "source_id": spec.id,
                "url": spec.url if spec.is_remote else "",
            },
            now,
            source_id=spec.id,
            channel=spec.channel,
        )
    return warnings
