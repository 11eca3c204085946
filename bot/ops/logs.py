"""Logging for `whisperer run`: text for a terminal or one JSON object per line for a log pipeline, with the
source, job and Slack event each line is about, and a redaction filter in front of every handler.

`--log-format json` (or WHISPERER_LOG_FORMAT=json) picks JSON. slack_sdk and slack_bolt stay at WARNING
(at DEBUG they log request bodies) unless WHISPERER_LOG_SDK=debug|info asks for more.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

LOG_FORMATS = ("text", "json")
_TOKEN = re.compile(r"\b(xox[abposre]|xapp)-[A-Za-z0-9-]+")
# A cookie header written out in a message ("Cookie: a=b; c=d", "'cookie': 'a=b'"): everything after it.
_COOKIE = re.compile(r"(?i)\b((?:set-)?cookie)(['\"]?\s*[:=]\s*['\"]?)([^\r\n'\"]+)")
REDACTED = "…(redacted)"
MIN_SECRET = 8  # shorter values (e.g. "1") would redact ordinary words

# What the current thread is working on; JSON lines carry it as source, job and event.
_CONTEXT: contextvars.ContextVar[tuple[tuple[str, str], ...]] = contextvars.ContextVar(
    "whisperer_log_context", default=()
)


@contextlib.contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Tag every log line in this block: `with log_context(source="policy", job="poll:policy"): …`."""
    merged = {**dict(_CONTEXT.get()), **{k: v for k, v in fields.items() if v}}
    token = _CONTEXT.set(tuple(merged.items()))
    try:
        yield
    finally:
        _CONTEXT.reset(token)


class Redact(logging.Filter):
    """Last line of defence: no Slack token, secret, cookie or configured header value reaches a log line."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: tuple[str, ...] = ()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """More values to hide (e.g. header values after a reload); longest first, so parts never leak."""
        found = {s for s in (*self.secrets, *secrets) if s and len(s) >= MIN_SECRET}
        self.secrets = tuple(sorted(found, key=len, reverse=True))

    def clean(self, text: str) -> str:
        text = _TOKEN.sub(lambda m: f"{m.group(1)}-{REDACTED}", text)
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return _COOKIE.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.clean(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.clean(record.exc_text)
        return True


class _Context(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _CONTEXT.get():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, and source / job / event when known."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in ("source", "job", "event"):
            value = getattr(record, key, None)
            if value:
                entry[key] = str(value)
        if record.exc_text:
            entry["exc"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


class _TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        source = getattr(record, "source", None)
        return f"{line} [{source}]" if source and source not in line else line


def log_format(explicit: str | None, env: Mapping[str, str]) -> str:
    """The flag, else WHISPERER_LOG_FORMAT, else text; ValueError naming the choices for anything else."""
    chosen = (explicit or env.get("WHISPERER_LOG_FORMAT") or "text").strip().lower()
    if chosen not in LOG_FORMATS:
        raise ValueError(f"log format {chosen!r} is not one of {', '.join(LOG_FORMATS)}")
    return chosen


def setup_logging(
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
    level: int = logging.INFO,
    fmt: str = "text",
    sdk_level: int = logging.WARNING,
) -> Redact:
    """Route every logger through one handler with redaction; returns the filter (more secrets can be added)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else _TextFormatter())
    redact = Redact(secrets)
    handler.addFilter(_Context())
    handler.addFilter(redact)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("apscheduler", "waitress.queue"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for sdk in ("slack_sdk", "slack_bolt"):
        logging.getLogger(sdk).setLevel(sdk_level)
    return redact


def sdk_level(env: Mapping[str, str]) -> int:
    """WHISPERER_LOG_SDK=debug|info|warning: how much slack_sdk and slack_bolt may say (WARNING by default)."""
    name = env.get("WHISPERER_LOG_SDK", "warning").strip().upper()
    level = logging.getLevelName(name)
    return level if isinstance(level, int) else logging.WARNING
