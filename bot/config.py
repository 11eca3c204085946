"""whisperer.toml + environment → one frozen Config, validated with messages that name the key and the fix."""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from handlers.settings import KnowledgeSettings
from watchers.fetch import FetchSettings
from watchers.html import SelectorError, check_selector
from watchers.sources import KINDS, TOPICS, SourceSpec, parse_every

DEFAULT_CONFIG = "whisperer.toml"
DEFAULT_DB = "whisperer.db"
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
T = TypeVar("T")


class ConfigError(Exception):
    """A configuration problem: where it is, what is wrong, how to fix it."""

    def __init__(self, where: str, problem: str, fix: str = "") -> None:
        self.where, self.problem, self.fix = where, problem, fix
        super().__init__(f"{where}: {problem}" + (f"; {fix}" if fix else ""))


class MissingConfig(ConfigError):
    pass


@dataclass(frozen=True)
class BotSettings:
    database: str = DEFAULT_DB
    timezone: str = "UTC"
    alerts_channel: str | None = None
    admins: tuple[str, ...] = ()
    failure_alert_after: int = 3

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Partner:
    name: str = "Your company"
    tier: str | None = None
    status_expires: date | None = None


@dataclass(frozen=True)
class Config:
    path: Path | None
    bot: BotSettings = field(default_factory=BotSettings)
    partner: Partner = field(default_factory=Partner)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    sources: tuple[SourceSpec, ...] = ()
    sections: Mapping[str, Any] = field(default_factory=dict)  # later sections ([renewal], [[rebates]], …)
    knowledge: KnowledgeSettings = field(default_factory=KnowledgeSettings)  # those sections, validated

    @property
    def database(self) -> Path:
        return Path(self.bot.database)

    def source(self, source_id: str) -> SourceSpec | None:
        return next((s for s in self.sources if s.id == source_id), None)


class _Table:
    """A TOML table being read: typed getters that name the key, and a check for leftovers."""

    def __init__(self, file: str, where: str, data: Any) -> None:
        self.file, self.where = file, where
        if not isinstance(data, dict):
            fix = (
                "write each source as [[sources]]"
                if where.startswith("sources")
                else f"write it as a [{where}] section"
            )
            raise ConfigError(f"{file}: {where}", f"expected a table, found {type(data).__name__}", fix)
        self.data: dict[str, Any] = data
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.file}: {self.where}.{name}" if self.where else f"{self.file}: {name}"

    def get(self, name: str, kind: type[T], default: T, fix: str = "") -> T:
        self.used.add(name)
        if name not in self.data:
            return default
        value = self.data[name]
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            raise ConfigError(
                self.key(name),
                f"expected {_type_word(kind)}, found {_type_word(type(value))} {value!r}",
                fix or f"write {name} as {_type_word(kind)}",
            )
        return value  # type: ignore[no-any-return]

    def need(self, name: str, kind: type[T], fix: str) -> T:
        if name not in self.data:
            raise ConfigError(self.key(name), "is required", fix)
        value: T = self.data[name]
        return self.get(name, kind, value, fix)

    def strings(self, name: str) -> tuple[str, ...]:
        example = f"e.g. {name} = ['Last refreshed .*']"
        values = self.get(name, list, [], f"write {name} as a list of quoted strings, {example}")
        for value in values:
            if not isinstance(value, str):
                raise ConfigError(
                    self.key(name), f"expected a list of strings, found {value!r}", f"quote each item, {example}"
                )
        return tuple(values)

    def done(self) -> None:
        for name in self.data:
            if name not in self.used:
                close = difflib.get_close_matches(name, sorted(self.used), n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(sorted(self.used))}"
                raise ConfigError(self.key(name), "unknown key", hint)


def _type_word(kind: type[Any]) -> str:
    return {
        str: "a string",
        int: "a whole number",
        float: "a number",
        bool: "true or false",
        list: "a list",
        dict: "a table",
        date: "a date (2027-03-31, unquoted)",
    }.get(kind, kind.__name__)


def _expand(value: str, where: str, env: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise ConfigError(
                where,
                f"${{{name}}} is not set in the environment",
                f"set {name} in the environment or in .env (see .env.example)",
            )
        return env[name]

    return _VAR.sub(replace, value)


_KNOWN_SECTIONS = ("bot", "partner", "fetch", "sources")
# Sections whose own parsers live with the features that use them; listed so typos are caught here.
EXTRA_SECTIONS: dict[str, type] = {
    "renewal": dict,
    "rebates": list,
    "certifications": dict,
    "reminders": dict,
    "dealreg": dict,
    "glossary": dict,
    "metrics": dict,
}


def _bot(file: str, data: Any, env: Mapping[str, str], base: Path) -> BotSettings:
    t = _Table(file, "bot", data)
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
    t.done()
    return BotSettings(database, timezone, channel, admins, threshold)


def _partner(file: str, data: Any) -> Partner:
    t = _Table(file, "partner", data)
    partner = Partner(
        name=t.get("name", str, "Your company"),
        tier=t.get("tier", str, "") or None,
        status_expires=t.get("status_expires", date, None),
    )
    t.done()
    return partner


def _fetch(file: str, data: Any) -> FetchSettings:
    t = _Table(file, "fetch", data)
    defaults = FetchSettings()
    settings = FetchSettings(
        connect_timeout=t.get("connect_timeout", float, defaults.connect_timeout),
        read_timeout=t.get("read_timeout", float, defaults.read_timeout),
        max_bytes=t.get("max_bytes", int, defaults.max_bytes),
        max_redirects=t.get("max_redirects", int, defaults.max_redirects),
        per_host=t.get("per_host", int, defaults.per_host),
        workers=t.get("workers", int, defaults.workers),
    )
    for name in ("connect_timeout", "read_timeout", "max_bytes", "per_host", "workers"):
        if getattr(settings, name) <= 0:
            raise ConfigError(t.key(name), "must be greater than zero", f"set {name} to a positive number")
    if not 0 <= settings.max_redirects <= 5:
        raise ConfigError(t.key("max_redirects"), "must be between 0 and 5", "set max_redirects = 5 (the default)")
    t.done()
    return settings


def parse_source(file: str, where: str, data: Any, env: Mapping[str, str], base: Path) -> SourceSpec:
    """Validate one [[sources]] entry (also used for sources added from Slack)."""
    t = _Table(file, where, data)
    source_id = t.need("id", str, 'give it a short id such as "partner-center-changes"')
    if not _ID.match(source_id):
        raise ConfigError(
            t.key("id"), f"{source_id!r} is not a valid id", "use lowercase letters, digits, '-', '_' or '.'"
        )
    kind = t.need("kind", str, f"set kind to one of: {', '.join(KINDS)}")
    if kind not in KINDS:
        close = difflib.get_close_matches(kind, KINDS, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(t.key("kind"), f"unknown kind {kind!r}", f"{hint}use one of: {', '.join(KINDS)}")
    url = _expand(t.need("url", str, "the page's address (or, for kind = 'file', its path)"), t.key("url"), env)
    if kind == "file":
        path = Path(url).expanduser()
        url = str(path if path.is_absolute() else base / path)
    else:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(
                t.key("url"), f"{url!r} is not an http(s) URL", "write the full address, https://… included"
            )
    topic = t.get("topic", str, "announcement")
    if topic not in TOPICS:
        close = difflib.get_close_matches(topic, TOPICS, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(t.key("topic"), f"unknown topic {topic!r}", f"{hint}use one of: {', '.join(TOPICS)}")
    selectors = {}
    for name in ("selector", "tiers_selector"):
        selector = t.get(name, str, "") or None
        if selector:
            try:
                check_selector(selector)
            except SelectorError as exc:
                raise ConfigError(
                    t.key(name),
                    f"invalid CSS selector {selector!r} ({exc})",
                    'write a CSS selector such as "table"',
                ) from None
        selectors[name] = selector
    ignore = t.strings("ignore")
    for pattern in ignore:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(
                t.key("ignore"),
                f"invalid regular expression {pattern!r} ({exc})",
                "escape special characters such as ( [ . * with a backslash",
            ) from None
    every_text = t.get("every", str, "30m", 'write it in quotes with a unit, e.g. every = "30m"')
    try:
        every = parse_every(every_text)
    except ValueError:
        raise ConfigError(
            t.key("every"), f"{every_text!r} is not an interval", 'use a number and a unit: "30m", "6h", "1d"'
        ) from None
    channel = t.get("channel", str, "") or None
    headers_table = t.get("headers", dict, {})
    headers = []
    for name, value in headers_table.items():
        if not isinstance(value, str):
            raise ConfigError(
                f"{t.key('headers')}.{name}", f"expected a string, found {value!r}", f'quote the value: {name} = "…"'
            )
        headers.append((name, _expand(value, f"{t.key('headers')}.{name}", env)))
    spec = SourceSpec(
        id=source_id,
        kind=kind,
        url=url,
        topic=topic,
        name=t.get("name", str, ""),
        selector=selectors["selector"],
        tiers_selector=selectors["tiers_selector"],
        ignore=ignore,
        unordered=t.get("unordered", bool, False),
        every=every,
        channel=channel,
        headers=tuple(headers),
        extract_deadlines=t.get("extract_deadlines", bool, False),
        twin=t.get("twin", str, "") or None,
        lag_days=t.get("lag_days", int, 7),
        paused=t.get("paused", bool, False),
    )
    t.done()
    return spec


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
                raise ConfigError(f"{file}: {name}", f"expected {_type_word(kind)}", f"write it as a {shape}")
            sections[name] = data[name]
    from bot.knowledge_config import parse_knowledge  # here: it builds on this module's _Table

    bot = _bot(file, data.get("bot", {}), env, base)
    partner = _partner(file, data.get("partner", {}))
    return Config(
        path=Path(file),
        bot=bot,
        partner=partner,
        fetch=_fetch(file, data.get("fetch", {})),
        sources=tuple(sources),
        sections=sections,
        knowledge=parse_knowledge(file, sections, partner.status_expires, list(seen)),
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
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML ({exc})", "fix the syntax at the line shown") from None
    except UnicodeDecodeError:
        raise ConfigError(str(path), "not UTF-8 text", "save the file as UTF-8") from None
    return parse_config(data, env, str(path), path.parent)


def default_config(env: Mapping[str, str] | None = None) -> Config:
    """For commands that only read the database (changes, diff) when no config file exists."""
    env = os.environ if env is None else env
    return Config(path=None, bot=BotSettings(database=env.get("WHISPERER_DB") or DEFAULT_DB))
