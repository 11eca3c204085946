"""Validation of [deals], the opportunity ledger's clocks. Every problem names the file, the key and the fix."""

from __future__ import annotations

from typing import Any

from bot.config.validation import ConfigError, Table
from handlers.settings import DealSettings

# key → (lowest, highest, unit): what a plausible value is, for the message that names a wrong one.
_RANGES = {
    "validation_days": (1, 60, "working days"),
    "validation_warn_days": (0, 30, "working days"),
    "accept_days": (1, 30, "working days"),
    "prereg_days": (1, 365, "days"),
    "prereg_remind_days": (0, 60, "days"),
    "prereg_limit": (1, 10_000, "pre-registrations"),
    "prereg_warn": (1, 10_000, "pre-registrations"),
}


def parse_deals(file: str, data: Any) -> DealSettings:
    """[deals] validation_days = 10, accept_days = 3, prereg_days = 15, …; absent keys keep the defaults."""
    t = Table(file, "deals", data)
    defaults = DealSettings()
    values: dict[str, int] = {}
    for key, (low, high, unit) in _RANGES.items():
        value = t.get(key, int, getattr(defaults, key))
        if not low <= value <= high:
            raise ConfigError(t.key(key), f"{value} is out of range", f"use {low} to {high} ({unit})")
        values[key] = value
    if values["prereg_warn"] > values["prereg_limit"]:
        raise ConfigError(
            t.key("prereg_warn"),
            f"{values['prereg_warn']} is above prereg_limit ({values['prereg_limit']})",
            "warn before the limit: use a smaller number than prereg_limit",
        )
    source = t.get("source", str, defaults.source)
    t.done()
    return DealSettings(**values, source=source)
