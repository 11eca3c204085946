"""The [[sources]] section: one source validated (from whisperer.toml, or added from Slack)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.config.meaning import importance_key
from bot.config.validation import ConfigError, Table, expand
from bot.config.watch import watch_keys
from watchers.reading.html import SelectorError, check_selector
from watchers.sources import KINDS, TOPICS, SourceSpec, parse_every

_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
# An http(s) URL that urlsplit() would accept, in one match: lowercase scheme, a host part of plain characters (no
# IPv6 brackets, nothing urlsplit strips or checks), then anything printable. Other spellings go through urlsplit.
_PLAIN_URL = re.compile(r"https?://[A-Za-z0-9._~%!$&'()*+,;=:@-]+(?:[/?#][!-~]*)?")
KIND_FIX = f"set kind to one of: {', '.join(KINDS)}"


def parse_source(file: str, where: str, data: Any, env: Mapping[str, str], base: Path) -> SourceSpec:
    """Validate one [[sources]] entry (also used for sources added from Slack)."""
    t = Table(file, where, data)
    source_id = t.need("id", str, 'give it a short id such as "partner-center-changes"')
    if not _ID.match(source_id):
        raise ConfigError(
            t.key("id"), f"{source_id!r} is not a valid id", "use lowercase letters, digits, '-', '_' or '.'"
        )
    kind = t.need("kind", str, KIND_FIX)
    if kind not in KINDS:
        close = difflib.get_close_matches(kind, KINDS, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(t.key("kind"), f"unknown kind {kind!r}", f"{hint}use one of: {', '.join(KINDS)}")
    url = expand(t.need("url", str, "the page's address (or, for kind = 'file', its path)"), t.key("url"), env)
    if kind == "file" or (kind == "pdf" and "://" not in url):  # a pdf is a URL or a file
        path = Path(url).expanduser()
        url = str(path if path.is_absolute() else base / path)
    elif not _PLAIN_URL.fullmatch(url):
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
    for name in ("selector", "tiers_selector", "wait_for"):
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
        headers.append((name, expand(value, f"{t.key('headers')}.{name}", env)))
    timeout = t.get("timeout", float, 30.0, "write the seconds as a number, e.g. timeout = 30")
    if kind != "browser":
        for name in ("wait_for", "timeout"):
            if name in t.data:
                raise ConfigError(t.key(name), "only applies to kind = 'browser'", f"remove {name}, or use that kind")
    if not 0 < timeout <= 600:
        raise ConfigError(t.key("timeout"), "must be between 0 and 600 seconds", "set timeout = 30 (the default)")
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
        wait_for=selectors["wait_for"],
        timeout=timeout,
        confirm_empty=t.get("confirm_empty", bool, True),
        alert_limit=alert_limit_key(t),
        importance=importance_key(t),
        **watch_keys(t, kind, base),
    )
    t.done()
    return spec


def alert_limit_key(t: Table) -> int | None:
    """`alert_limit`: how many alerts one source posts per poll before the rest become one summary."""
    limit = t.get("alert_limit", int, 0)
    if "alert_limit" not in t.data:
        return None
    if limit < 1:
        raise ConfigError(
            t.key("alert_limit"),
            f"must be at least 1, found {limit}",
            "set alert_limit = 5 (the default); every change is recorded whatever the limit",
        )
    return limit
