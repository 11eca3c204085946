"""[backup] and [retention]: the nightly copy of the database, and how long old snapshots and alerts stay."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any

from bot.config.validation import ConfigError, Table

DEFAULT_KEEP = 7
DEFAULT_SNAPSHOT_DAYS = 90
DEFAULT_ALERT_DAYS = 180
MIN_ALERT_DAYS = 30  # alerts head threads for up to 14 days, and their keys stop repeats: keep a month at least


@dataclass(frozen=True)
class BackupSettings:
    """[backup]: off unless `dir` is set; then a copy every day at `at` (team time), the newest `keep` kept."""

    dir: Path | None = None
    keep: int = DEFAULT_KEEP
    at: time = time(3, 0)


@dataclass(frozen=True)
class RetentionSettings:
    """[retention]: snapshot bodies and finished alerts older than this many days go (0 = keep forever)."""

    snapshots_days: int = DEFAULT_SNAPSHOT_DAYS
    alerts_days: int = DEFAULT_ALERT_DAYS
    at: time = time(3, 30)


def _clock(t: Table, default: str) -> time:
    raw = t.get("time", object, default)
    if isinstance(raw, time):
        return raw.replace(second=0, microsecond=0)
    match = re.fullmatch(r"\s*([01]?\d|2[0-3]):([0-5]\d)\s*", str(raw))
    if match is None:
        raise ConfigError(
            t.key("time"), f"{raw!r} is not a time of day", f'write it as "{default}" (24-hour, team time)'
        )
    return time(int(match.group(1)), int(match.group(2)))


def parse_backup(file: str, sections: Mapping[str, Any], base: Path) -> BackupSettings:
    t = Table(file, "backup", sections.get("backup", {}))
    folder = t.get("dir", str, "").strip()
    keep = t.get("keep", int, DEFAULT_KEEP)
    if not 1 <= keep <= 1000:
        raise ConfigError(
            t.key("keep"), f"{keep} is out of range", f"keep 1 to 1000 copies; the default is {DEFAULT_KEEP}"
        )
    at = _clock(t, "03:00")
    t.done()
    path = Path(folder).expanduser() if folder else None
    if path is not None and not path.is_absolute():
        path = base / path
    return BackupSettings(path, keep, at)


def parse_retention(file: str, sections: Mapping[str, Any]) -> RetentionSettings:
    t = Table(file, "retention", sections.get("retention", {}))
    snapshots = t.get("snapshots_days", int, DEFAULT_SNAPSHOT_DAYS)
    if snapshots < 0:
        raise ConfigError(
            t.key("snapshots_days"),
            "must not be negative",
            f"use a number of days (0 keeps every snapshot; default {DEFAULT_SNAPSHOT_DAYS})",
        )
    alerts = t.get("alerts_days", int, DEFAULT_ALERT_DAYS)
    if alerts != 0 and alerts < MIN_ALERT_DAYS:
        raise ConfigError(
            t.key("alerts_days"),
            f"{alerts} days is too short: alerts head threads and stop repeats for weeks",
            f"use {MIN_ALERT_DAYS} or more (0 keeps every alert; default {DEFAULT_ALERT_DAYS})",
        )
    at = _clock(t, "03:30")
    t.done()
    return RetentionSettings(snapshots, alerts, at)
