"""whisperer.toml + environment → one frozen Config: the sections ([bot], [partner], [fetch], …) and loading.

The validator itself (typed getters, errors that name the key and the fix) is bot/config/validation.py.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import toml_rs

from bot.config.meaning import SummarySettings, parse_rules, parse_summary
from bot.config.ops import OpsSettings, parse_ops
from bot.config.sources import alert_limit_key, parse_source
from bot.config.upkeep import BackupSettings, RetentionSettings, parse_backup, parse_retention
from bot.config.validation import ConfigError, MissingConfig, Table, type_word
from handlers.settings import KnowledgeSettings
from watchers.facts.levels import ImportanceRule
from watchers.fetching.http import FetchSettings
from watchers.fetching.network import EntryError, NetworkPolicy
from watchers.fetching.settings import BrowserSettings
from watchers.sources import DEFAULT_ALERT_LIMIT, SourceSpec

DEFAULT_CONFIG = "whisperer.toml"
DEFAULT_DB = "whisperer.db"


@dataclass(frozen=True)
class BotSettings:
    database: str = DEFAULT_DB
    timezone: str = "UTC"
    alerts_channel: str | None = None
    admins: tuple[str, ...] = ()
    failure_alert_after: int = 3
    alert_limit: int = DEFAULT_ALERT_LIMIT
    thread_hours: float = 24.0  # follow-up changes to a source within this many hours go in its thread; 0 = never

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Partner:
    name: str = "Your company"
    tier: str | None = None
    status_expires: date | None = None


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class DigestSettings:
    """[digest]: the weekly digest message (on by default, Monday 09:00 team time, in the alerts channel)."""

    enabled: bool = True
    day: int = 0  # Monday, as date.weekday() counts
    at: time = time(9, 0)
    channel: str | None = None  # None: [bot] alerts_channel

    @property
    def day_name(self) -> str:
        return WEEKDAYS[self.day]


@dataclass(frozen=True)
class Config:
    path: Path | None
    bot: BotSettings = field(default_factory=BotSettings)
    partner: Partner = field(default_factory=Partner)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    browser: BrowserSettings = field(default_factory=BrowserSettings)
    sources: tuple[SourceSpec, ...] = ()
    sections: Mapping[str, Any] = field(default_factory=dict)  # later sections ([renewal], [[rebates]], …)
    knowledge: KnowledgeSettings = field(default_factory=KnowledgeSettings)  # those sections, validated
    digest: DigestSettings = field(default_factory=DigestSettings)
    importance: tuple[ImportanceRule, ...] = ()  # [[importance]] rules, in order
    summary: SummarySettings | None = None  # [summary]: off unless configured
    backup: BackupSettings = field(default_factory=BackupSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    ops: OpsSettings = field(default_factory=OpsSettings)

    @property
    def database(self) -> Path:
        return Path(self.bot.database)

    def source(self, source_id: str) -> SourceSpec | None:
        return next((s for s in self.sources if s.id == source_id), None)


_KNOWN_SECTIONS = ("bot", "partner", "fetch", "browser", "sources", "digest", "importance", "summary", "ops")
# Sections whose own parsers live with the features that use them; listed so typos are caught here.
EXTRA_SECTIONS: dict[str, type] = {
    "renewal": dict,
    "rebates": list,
    "certifications": dict,
    "reminders": dict,
    "dealreg": dict,
    "deals": dict,
    "glossary": dict,
    "metrics": dict,
    "calendar": dict,
    "mdf": dict,
    "settlements": dict,
    "funds": list,
    "competencies": list,
    "backup": dict,
    "retention": dict,
}


def _bot(file: str, data: Any, env: Mapping[str, str], base: Path) -> BotSettings:
    t = Table(file, "bot", data)
    configured = t.get("database", str, DEFAULT_DB)  # read (and checked) even when WHISPERER_DB overrides it
    database = env.get("WHISPERER_DB") or configured
    if not env.get("WHISPERER_DB") and not Path(database).is_absolute():
        database = str(base / database)
    timezone = t.get("timezone", str, "UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            t.key("timezone"), f"unknown timezone {timezone!r}", 'use an IANA name such as "Asia/Jakarta"'
        ) from None
    channel = t.get("alerts_channel", str, "") or None
    admins = t.strings("admins")
    for admin in admins:
        if not re.fullmatch(r"[UW][A-Z0-9]{2,}", admin):
            raise ConfigError(
                t.key("admins"),
                f"{admin!r} is not a Slack user ID",
                "use IDs like U0ADMIN (profile → ⋮ → Copy member ID), not names",
            )
    threshold = t.get("failure_alert_after", int, 3)
    if threshold < 1:
        raise ConfigError(
            t.key("failure_alert_after"), "must be at least 1", "set failure_alert_after = 3 (the default)"
        )
    thread_hours = t.get("thread_hours", float, 24.0)
    if not 0 <= thread_hours <= 24 * 14:
        raise ConfigError(
            t.key("thread_hours"),
            f"{thread_hours:g} is out of range",
            "use 0 (never thread) to 336 (two weeks); the default is 24",
        )
    limit = alert_limit_key(t) or DEFAULT_ALERT_LIMIT
    t.done()
    return BotSettings(database, timezone, channel, admins, threshold, limit, thread_hours)


def _digest(file: str, data: Any) -> DigestSettings:
    t = Table(file, "digest", data)
    enabled = t.get("enabled", bool, True)
    day_name = t.get("day", str, "monday").strip().lower()
    if day_name not in WEEKDAYS:
        close = difflib.get_close_matches(day_name, WEEKDAYS, n=1)
        hint = f"did you mean {close[0]!r}?" if close else 'use a day of the week in English, e.g. "monday"'
        raise ConfigError(t.key("day"), f"{day_name!r} is not a day of the week", hint)
    raw = t.get("time", object, "09:00")
    at = raw if isinstance(raw, time) else _clock_time(str(raw))
    if at is None:
        raise ConfigError(t.key("time"), f"{raw!r} is not a time of day", 'write it as "09:00" (24-hour, team time)')
    channel = t.get("channel", str, "") or None
    t.done()
    return DigestSettings(enabled, WEEKDAYS.index(day_name), at.replace(second=0, microsecond=0), channel)


def _clock_time(text: str) -> time | None:
    match = re.fullmatch(r"\s*([01]?\d|2[0-3]):([0-5]\d)\s*", text)
    return time(int(match.group(1)), int(match.group(2))) if match else None


def _partner(file: str, data: Any) -> Partner:
    t = Table(file, "partner", data)
    partner = Partner(
        name=t.get("name", str, "Your company"),
        tier=t.get("tier", str, "") or None,
        status_expires=t.get("status_expires", date, None),
    )
    t.done()
    return partner


def _fetch(file: str, data: Any) -> FetchSettings:
    t = Table(file, "fetch", data)
    defaults = FetchSettings()
    settings = FetchSettings(
        connect_timeout=t.get("connect_timeout", float, defaults.connect_timeout),
        read_timeout=t.get("read_timeout", float, defaults.read_timeout),
        max_bytes=t.get("max_bytes", int, defaults.max_bytes),
        max_redirects=t.get("max_redirects", int, defaults.max_redirects),
        per_host=t.get("per_host", int, defaults.per_host),
        workers=t.get("workers", int, defaults.workers),
        total_timeout=t.get("total_timeout", float, defaults.total_timeout),
        network=_network(t),
    )
    for name in ("connect_timeout", "read_timeout", "total_timeout", "max_bytes", "per_host", "workers"):
        if getattr(settings, name) <= 0:
            raise ConfigError(t.key(name), "must be greater than zero", f"set {name} to a positive number")
    if not 0 <= settings.max_redirects <= 5:
        raise ConfigError(t.key("max_redirects"), "must be between 0 and 5", "set max_redirects = 5 (the default)")
    t.done()
    return settings


def _browser(file: str, data: Any, base: Path) -> BrowserSettings:
    t = Table(file, "browser", data)
    executable = t.get("executable", str, "") or None
    if executable and ("/" in executable or "\\" in executable):  # a path, not a name to look up on PATH
        path = Path(executable).expanduser()
        executable = str(path if path.is_absolute() else base / path)
    pages = t.get("pages", int, BrowserSettings.pages)
    if not 1 <= pages <= 16:
        raise ConfigError(t.key("pages"), "must be between 1 and 16", "set pages = 2 (the default)")
    t.done()
    return BrowserSettings(executable, pages)


def _network(t: Table) -> NetworkPolicy:
    example = 'e.g. allow_private = ["wiki.corp.example", "10.20.0.0/16"]'
    entries = t.get("allow_private", list, [], f"write it as a list of quoted strings, {example}")
    for entry in entries:
        if not isinstance(entry, str):
            raise ConfigError(t.key("allow_private"), f"expected a list of strings, found {entry!r}", example)
    try:
        return NetworkPolicy.from_entries(entries)
    except EntryError as exc:
        raise ConfigError(t.key("allow_private"), exc.problem, exc.fix) from None


def parse_config(
    data: Mapping[str, Any], env: Mapping[str, str], file: str = DEFAULT_CONFIG, base: Path | None = None
) -> Config:
    base = base or Path.cwd()
    for name in data:
        if name not in _KNOWN_SECTIONS and name not in EXTRA_SECTIONS:
            known = [*_KNOWN_SECTIONS, *EXTRA_SECTIONS]
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean [{close[0]}]?" if close else f"known sections: {', '.join(known)}"
            raise ConfigError(f"{file}: {name}", "unknown section", hint)
    raw_sources = data.get("sources", [])
    if not isinstance(raw_sources, list):
        raise ConfigError(f"{file}: sources", "expected [[sources]] tables", "write each source as [[sources]]")
    sources = [parse_source(file, f"sources[{i}]", s, env, base) for i, s in enumerate(raw_sources)]
    seen: dict[str, int] = {}
    for i, spec in enumerate(sources):
        if spec.id in seen:
            raise ConfigError(
                f"{file}: sources[{i}].id",
                f"duplicate source id {spec.id!r} (also sources[{seen[spec.id]}])",
                "give every source its own id",
            )
        seen[spec.id] = i
    for i, spec in enumerate(sources):
        if spec.twin and spec.twin not in seen:
            raise ConfigError(
                f"{file}: sources[{i}].twin", f"no source has id {spec.twin!r}", "name another source's id"
            )
    sections = {}
    for name, kind in EXTRA_SECTIONS.items():
        if name in data:
            if not isinstance(data[name], kind):
                shape = f"[{name}] section" if kind is dict else f"list of [[{name}]] tables"
                raise ConfigError(f"{file}: {name}", f"expected {type_word(kind)}", f"write it as a {shape}")
            sections[name] = data[name]
    from bot.config.knowledge import parse_knowledge  # here: knowledge_config builds on the validator too

    bot = _bot(file, data.get("bot", {}), env, base)
    partner = _partner(file, data.get("partner", {}))
    return Config(
        path=Path(file),
        bot=bot,
        partner=partner,
        fetch=_fetch(file, data.get("fetch", {})),
        browser=_browser(file, data.get("browser", {}), base),
        digest=_digest(file, data.get("digest", {})),
        ops=parse_ops(file, data.get("ops", {})),
        sources=tuple(sources),
        sections=sections,
        knowledge=parse_knowledge(file, sections, partner.status_expires, list(seen)),
        importance=parse_rules(file, data.get("importance", [])),
        summary=parse_summary(file, data["summary"], env) if "summary" in data else None,
        backup=parse_backup(file, sections, base),
        retention=parse_retention(file, sections),
    )


def config_path(explicit: str | None, env: Mapping[str, str]) -> Path:
    return Path(explicit or env.get("WHISPERER_CONFIG") or DEFAULT_CONFIG)


def load_config(path: Path, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate the config file; raise ConfigError (MissingConfig if there is no file)."""
    env = os.environ if env is None else env
    if not path.exists():
        raise MissingConfig(
            str(path),
            "no configuration file here",
            "create one with `cp whisperer.example.toml whisperer.toml` and edit it, "
            "or point WHISPERER_CONFIG / --config at yours",
        )
    if path.is_dir():
        raise ConfigError(
            str(path),
            "is a directory, not a config file",
            f"point --config at the file, e.g. {os.path.join(path, DEFAULT_CONFIG)}",
        )
    try:
        data = read_toml(path.read_bytes().decode(), str(path))
    except PermissionError:
        raise ConfigError(str(path), "cannot be read (permission denied)", "make it readable by this user") from None
    except UnicodeDecodeError:
        raise ConfigError(str(path), "not UTF-8 text", "save the file as UTF-8") from None
    return parse_config(data, env, str(path), path.parent)


def read_toml(text: str, where: str) -> dict[str, Any]:
    """The document, as tomllib reads it; a file that is not valid TOML is a ConfigError with tomllib's message.

    toml-rs (Rust) reads a 2,000-source file in ~4 ms where tomllib takes ~40; in its TOML 1.0.0 mode it gives
    what tomllib gives (same values and types, datetime.timezone offsets included) on every case of the TOML
    test suite but one: a leading byte-order mark, which tomllib refuses, so such a file goes to tomllib.
    Anything toml-rs refuses is read again by tomllib, whose message (or, should they disagree, whose
    document) is the one we use.
    """
    if not text.startswith("\ufeff"):
        try:
            return toml_rs.loads(text, toml_version="1.0.0")
        except Exception:  # its own error type, or ValueError for an impossible time: tomllib says which line
            pass
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(where, f"not valid TOML ({exc})", "fix the syntax at the line shown") from None


def default_config(env: Mapping[str, str] | None = None) -> Config:
    """For commands that only read the database (changes, diff) when no config file exists."""
    env = os.environ if env is None else env
    return Config(path=None, bot=BotSettings(database=env.get("WHISPERER_DB") or DEFAULT_DB))


__all__ = ["Config", "ConfigError", "MissingConfig", "config_path", "default_config", "load_config", "parse_config"]
