"""Validation of the money sections: [calendar] (working days). Every problem names the file, the key and the fix."""

from __future__ import annotations

from typing import Any

from bot.config.validation import ConfigError, Table
from handlers.workdays import CalendarSettings, supported


def parse_calendar(file: str, data: Any) -> CalendarSettings:
    """[calendar] country = "ID", subdivision = "JK" (optional), huawei = "CN"; codes python-holidays knows."""
    t = Table(file, "calendar", data)
    defaults = CalendarSettings()
    if not t.data:
        return defaults  # no [calendar]: the defaults, without loading the holiday library at start-up
    known = supported()
    country = t.get("country", str, defaults.country).strip().upper()
    huawei = t.get("huawei", str, defaults.huawei).strip().upper()
    for key, code in (("country", country), ("huawei", huawei)):
        if code not in known:
            raise ConfigError(
                t.key(key),
                f"{code!r} is not a country code the holiday calendar knows",
                'use a two-letter ISO 3166 code, e.g. "ID", "SA", "MY", "CN"',
            )
    subdivision = t.get("subdivision", str, "").strip() or None
    if subdivision is not None:
        subs = known[country]
        match = next((s for s in subs if s.casefold() == subdivision.casefold()), None)
        if match is None:
            shown = ", ".join(subs[:30]) + (" …" if len(subs) > 30 else "") if subs else "none"
            raise ConfigError(
                t.key("subdivision"), f"{country} has no subdivision {subdivision!r}", f"use one of: {shown}"
            )
        subdivision = match
    t.done()
    return CalendarSettings(country, subdivision, huawei)
