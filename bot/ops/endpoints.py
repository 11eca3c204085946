"""GET /livez, /readyz and /metrics as WSGI: in front of the Slack app in HTTP mode, alone on `[ops] listen`.

The probes answer 200 or 503 with a few plain-text lines (what each check found), so `curl` and a load
balancer read them alike; /metrics is Prometheus text. Anything else goes to the wrapped app (or 404).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bot.ops.health import Heartbeat, Verdict, liveness, readiness
from bot.ops.metrics import CONTENT_TYPE, Metrics
from storage.db import FileIdentity

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

    from waitress.server import BaseWSGIServer, MultiSocketServer

log = logging.getLogger("whisperer.ops")
PATHS = ("/livez", "/readyz", "/metrics")


@dataclass
class Ops:
    """What the probes look at, built once by `whisperer run` and fed by the scheduler."""

    database: Path
    identity: FileIdentity | None
    metrics: Metrics
    heartbeat: Heartbeat = field(default_factory=Heartbeat)
    scheduler_running: Callable[[], bool] = lambda: False
    socket_age: Callable[[], float | None] | None = None  # Socket Mode only

    def live(self) -> Verdict:
        return liveness(self.heartbeat)

    def ready(self) -> Verdict:
        return readiness(self.database, self.identity, self.scheduler_running(), self.socket_age)


class OpsEndpoints:
    """WSGI: the three operations paths, then `app` (or 404 when there is none)."""

    def __init__(self, ops: Ops, app: WSGIApplication | None = None) -> None:
        self.ops = ops
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path not in PATHS:
            if self.app is not None:
                return self.app(environ, start_response)
            return _answer(start_response, 404, b"not found; try /livez, /readyz or /metrics\n")
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return _answer(start_response, 405, b"use GET\n", [("Allow", "GET, HEAD")])
        if path == "/metrics":
            return _answer(start_response, 200, self.ops.metrics.text(), content_type=CONTENT_TYPE)
        verdict = self.ops.live() if path == "/livez" else self.ops.ready()
        if not verdict.ok:
            log.debug("%s: %s", path, verdict.text().strip().replace("\n", "; "))
        return _answer(start_response, 200 if verdict.ok else 503, verdict.text().encode())


def make_ops_server(ops: Ops, host: str, port: int) -> BaseWSGIServer | MultiSocketServer:
    """The probes alone on `[ops] listen` (Socket Mode and terminal mode have no HTTP server of their own)."""
    from waitress.server import create_server

    return create_server(OpsEndpoints(ops), host=host, port=port, threads=2, ident="whisperer")


_PHRASES = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


def _answer(
    start_response: StartResponse,
    status: int,
    body: bytes,
    headers: list[tuple[str, str]] | None = None,
    content_type: str = "text/plain; charset=utf-8",
) -> Iterable[bytes]:
    start_response(
        f"{status} {_PHRASES[status]}",
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            *(headers or []),
        ],
    )
    return [body]
