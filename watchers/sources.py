"""What a source is, independent of where its description came from (TOML, a slash command)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from functools import lru_cache
from operator import attrgetter

KINDS = ("html", "feed", "file", "json", "pdf", "browser")
REMOTE_KINDS = ("html", "feed", "json", "browser")  # and pdf, when its url is an http(s) address
TOPICS = ("tiers", "policy", "certification", "rebate", "announcement", "deadlines")

DEFAULT_ALERT_LIMIT = 5  # alerts one source may post per poll before the rest go into one summary

_EVERY = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@lru_cache(maxsize=256)  # a config of 2,000 sources spells its intervals a few ways
def parse_every(text: str) -> int:
    """Turn "30m", "6h", "1d" into seconds; raise ValueError on anything else."""
    match = _EVERY.match(text)
    if not match or int(match.group(1)) == 0:
        raise ValueError(text)
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def format_every(seconds: int) -> str:
    """The inverse of parse_every, picking the largest whole unit."""
    for unit in ("d", "h", "m"):
        if seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True)
class MetricWatch:
    """A number read from a source's text (`[[sources.metrics]]`): the first capture group of `pattern`.

    `zones` are (name, bound) pairs ordered worst first: with red 60 and yellow 70 a value below 60 is red,
    below 70 yellow, else green; with red 3 and yellow 1 (bounds falling) a value at or above 3 is red.
    """

    name: str
    pattern: str
    label: str = ""
    zones: tuple[tuple[str, float], ...] = ()
    thresholds: tuple[float, ...] = ()
    unit: str = ""

    @property
    def title(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class SourceSpec:
    """One watched source, validated; `url` is a URL for html/feed and a path for file."""

    id: str
    kind: str
    url: str
    topic: str = "announcement"
    name: str = ""
    selector: str | None = None
    ignore: tuple[str, ...] = ()
    unordered: bool = False
    every: int = 1800
    channel: str | None = None
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # may hold cookies
    tiers_selector: str | None = None
    extract_deadlines: bool = False
    twin: str | None = None
    lag_days: int = 7
    paused: bool = False
    select: str | None = None  # kind = "json": a JSONPath expression
    cookies: str | None = None  # a Netscape cookies.txt file, re-read on every poll
    logged_out_when: str | None = None  # a regex: text that means the session has expired
    metrics: tuple[MetricWatch, ...] = ()
    wait_for: str | None = None  # kind = "browser": a CSS selector to wait for (else: network idle)
    timeout: float = 30.0  # kind = "browser": seconds for the page to render
    confirm_empty: bool = True  # an empty result after content is held until a second check sees it too
    alert_limit: int | None = None  # change alerts per poll before one summary; None: [bot] alert_limit
    importance: str | None = None  # "urgent" | "normal" | "low": its changes' level when nothing says otherwise

    @property
    def title(self) -> str:
        return self.name or self.id

    def public_dict(self) -> dict[str, object]:
        """The definition without header values (they may hold cookies): safe to store and show."""
        # Field by field rather than asdict(): only the metric watches are dataclasses, the rest are plain values.
        data: dict[str, object] = {name: getattr(self, name) for name in _DIGEST_FIELDS}
        data["metrics"] = tuple(asdict(metric) for metric in self.metrics)
        data["header_names"] = [name for name, _ in self.headers]
        data["ignore"] = list(self.ignore)
        return data

    def digest(self) -> str:
        """A digest of what public_dict() holds, without building it: the config sync compares these."""
        return hashlib.blake2b(repr(self._digest_key()).encode(), digest_size=16).hexdigest()

    def _digest_key(self) -> tuple[object, ...]:
        return (_DIGEST_VERSION, _digest_values(self), tuple(name for name, _ in self.headers))

    @property
    def is_remote(self) -> bool:
        return self.kind in REMOTE_KINDS or (self.kind == "pdf" and self.url.startswith(("http://", "https://")))


_DIGEST_VERSION = 1  # bump when public_dict() changes shape, so every stored definition is written again
_DIGEST_FIELDS = tuple(f.name for f in fields(SourceSpec) if f.name != "headers")  # header values may hold cookies
_digest_values = attrgetter(*_DIGEST_FIELDS)  # one C call for the tuple of values, in field order


def digest_of(specs: Iterable[SourceSpec]) -> str:
    """One digest of many definitions, in order: it changes whenever any of their digest() would (or the list)."""
    text = repr([spec._digest_key() for spec in specs])
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
