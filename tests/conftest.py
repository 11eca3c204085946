"""Real things for tests: SQLite files under tmp_path and HTTP servers on 127.0.0.1, port 0."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from storage.db import open_db

pytest_plugins = ["fakeslack", "botserver"]  # the fake Slack Web API, and our bot served from a thread

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (timeouts)


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


Route = Callable[[Seen], Response]


class FixtureServer:
    """An HTTP server on 127.0.0.1:0 whose routes tests set; it records every request it sees."""

    def __init__(self) -> None:
        self.routes: dict[str, Response | Route] = {}
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                seen = Seen(self.path, {k: v for k, v in self.headers.items()})
                with server._lock:
                    server.seen.append(seen)
                    route = server.routes.get(self.path.split("?")[0])
                if route is None:
                    response = Response(404, b"not found")
                elif callable(route):
                    response = route(seen)
                else:
                    response = route
                if response.delay:
                    server._stop.wait(response.delay)
                self.send_response(response.status)
                headers = {"Content-Length": str(len(response.body)), **response.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if response.status != 304:
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        self.wfile.write(response.body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def url(self, path: str) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def requests_to(self, path: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.path == path]

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[FixtureServer]:
    srv = FixtureServer()
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "whisperer.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[Database]:
    database = open_db(db_path)
    yield database
    database.conn.close()
