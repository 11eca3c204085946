"""Dates typed by people in commands: 2026-11-01, 7d, 12h, today, yesterday."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo

_RELATIVE = re.compile(r"^(\d+)\s*([hdw])$")


def parse_since(text: str, now: datetime, tz: tzinfo) -> datetime | None:
    """A moment in the past, or None if the text is not a date we read."""
    text = text.strip().lower()
    local = now.astimezone(tz)
    if text == "today":
        return datetime.combine(local.date(), time(), tz)
    if text == "yesterday":
        return datetime.combine(local.date() - timedelta(days=1), time(), tz)
    match = _RELATIVE.match(text)
    if match:
        n, unit = int(match.group(1)), match.group(2)
        return now - {"h": timedelta(hours=n), "d": timedelta(days=n), "w": timedelta(weeks=n)}[unit]
    day = parse_date(text)
    return datetime.combine(day, time(), tz) if day else None


def parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None
