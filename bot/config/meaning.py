"""The keys that say how much a change matters, and the optional machine summary: `importance` on a source,
`[[importance]]` rules and `[summary]`."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from bot.config.validation import ConfigError, Table, expand
from watchers.facts.levels import IMPORTANCES, LEVELS, ImportanceRule
from watchers.fetching.settings import ChatSettings
from watchers.sources import TOPICS

SummarySettings = ChatSettings  # [summary] is the chat endpoint's settings


def importance_key(t: Table) -> str | None:
    """A source's `importance`: the level of its changes when nothing else says otherwise."""
    value = t.get("importance", str, "")
    if "importance" not in t.data:
        return None
    if value not in IMPORTANCES:
        close = difflib.get_close_matches(value, IMPORTANCES, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(
            t.key("importance"), f"unknown importance {value!r}", f"{hint}use one of: urgent, normal, low"
        )
    return value


def parse_rules(file: str, data: Any) -> tuple[ImportanceRule, ...]:
    """`[[importance]]` tables: `when` (a regular expression), `level`, and optionally `topic` or `source`."""
    if not isinstance(data, list):
        raise ConfigError(
            f"{file}: importance", "expected a list of [[importance]] tables", "write each rule as [[importance]]"
        )
    rules = []
    for index, raw in enumerate(data):
        t = Table(file, f"importance[{index}]", raw)
        when = t.need("when", str, "write the text to look for as a regular expression, e.g. when = 'typo|spelling'")
        try:
            re.compile(when)
        except re.error as exc:
            raise ConfigError(
                t.key("when"), f"invalid regular expression {when!r} ({exc})", "escape ( [ . * with a backslash"
            ) from None
        level = t.need("level", str, "set level to urgent, normal or low")
        if level not in LEVELS:
            raise ConfigError(t.key("level"), f"unknown level {level!r}", "use one of: urgent, normal, low")
        topic = t.get("topic", str, "") or None
        if topic is not None and topic not in TOPICS:
            raise ConfigError(t.key("topic"), f"unknown topic {topic!r}", f"use one of: {', '.join(TOPICS)}")
        source = t.get("source", str, "") or None
        t.done()
        rules.append(ImportanceRule(when, level, topic, source, label=f"[[importance]] rule {index + 1} ('{when}')"))
    return tuple(rules)


def parse_summary(file: str, data: Any, env: Mapping[str, str]) -> SummarySettings | None:
    """`[summary]`: off unless the section is there (and `enabled` is not false)."""
    t = Table(file, "summary", data)
    enabled = t.get("enabled", bool, True)
    url = expand(
        t.need("url", str, 'the endpoint, e.g. url = "http://127.0.0.1:11434/v1/chat/completions"'), t.key("url"), env
    )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(t.key("url"), f"{url!r} is not an http(s) URL", "write the full chat-completions address")
    model = t.need("model", str, 'name the model the endpoint serves, e.g. model = "qwen2.5:7b"')
    api_key = expand(t.get("api_key", str, ""), t.key("api_key"), env)
    timeout = t.get("timeout", float, 10.0, "write the seconds as a number, e.g. timeout = 10")
    if not 0 < timeout <= 120:
        raise ConfigError(t.key("timeout"), "must be between 0 and 120 seconds", "set timeout = 10 (the default)")
    t.done()
    return SummarySettings(url, model, api_key, timeout) if enabled else None
