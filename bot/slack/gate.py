"""The WSGI gate in front of Bolt: refuse what is unsigned, oversized or malformed, cheaply and without a
traceback, before Bolt decodes and parses the body (where such requests used to become HTTP 500)."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger("whisperer.slack")

# Slack's own requests are small: a slash command is a dozen form fields and at most a few thousand
# characters of text, an interactivity payload a few kilobytes. 64 KiB leaves room for a button click on a
# long message while keeping a hostile body from costing more than a millisecond to refuse.
MAX_BODY = 64 * 1024
MAX_CLOCK_SKEW = 5 * 60  # Slack's own rule: a request signed more than five minutes ago may be a replay


class RequestGate:
    """WSGI middleware for `path`: 413 over `max_body`, 401 unsigned or badly signed, 400 malformed."""

    def __init__(
        self,
        app: WSGIApplication,
        signing_secret: str,
        path: str,
        *,
        max_body: int = MAX_BODY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self.secret = signing_secret.encode()
        self.path = path
        self.max_body = max_body
        self.clock = clock

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != self.path or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)  # Bolt answers 404 for the rest
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _refuse(start_response, 400, "Content-Length is not a number")
        if length > self.max_body:
            return _refuse(start_response, 413, f"a Slack request is at most {self.max_body} bytes")
        body: bytes = environ["wsgi.input"].read(length) if length > 0 else b""
        if not self.signed(body, _header(environ, "X-Slack-Request-Timestamp"), _header(environ, "X-Slack-Signature")):
            return _refuse(start_response, 401, "invalid or missing Slack signature")
        problem = malformed(body, environ.get("CONTENT_TYPE", ""))
        if problem:
            return _refuse(start_response, 400, problem)
        environ["wsgi.input"] = io.BytesIO(body)  # Bolt reads the body again
        environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)

    def signed(self, body: bytes, timestamp: str, signature: str) -> bool:
        """Slack's v0 signature over the raw bytes (Bolt's own check decodes them first, and so can crash)."""
        if not timestamp.isdigit() or abs(self.clock() - int(timestamp)) > MAX_CLOCK_SKEW:
            return False
        expected = "v0=" + hmac.new(self.secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def malformed(body: bytes, content_type: str) -> str | None:
    """Why Bolt could not parse this body (it reads it as Bolt's `parse_body` does), or None if it can."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    if not text:
        return None
    if content_type.split(";")[0].strip().lower() == "application/json" or text.startswith("{"):
        return _json_object(text, "the JSON body")
    try:
        fields = parse_qsl(text, keep_blank_values=True, strict_parsing=True, errors="strict")
    except ValueError:  # a field without '=', or a %-escape that is not UTF-8
        return "the body is not valid form encoding"
    payload = dict(fields).get("payload")
    return _json_object(payload, "the 'payload' field") if payload is not None else None


def _json_object(text: str, what: str) -> str | None:
    try:
        value: Any = json.loads(text)
    except ValueError:
        return f"{what} is not valid JSON"
    return None if isinstance(value, dict) else f"{what} is not a JSON object"


def _header(environ: WSGIEnvironment, name: str) -> str:
    return str(environ.get("HTTP_" + name.upper().replace("-", "_"), ""))


def _refuse(start_response: StartResponse, status: int, reason: str) -> Iterable[bytes]:
    log.info("refused a request to the Slack endpoint: HTTP %s, %s", status, reason)
    phrase = {400: "Bad Request", 401: "Unauthorized", 413: "Content Too Large"}[status]
    body = f"{reason}\n".encode()
    start_response(
        f"{status} {phrase}",
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
    )
    return [body]
