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

from storage.database import Database
from storage.db import open_db, transaction
from storage.watching import sources as state
from storage.watching.changes import get_snapshot
from watchers.fetching.http import FetchSettings, HostLimiter, make_client
from watchers.fetching.network import NetworkPolicy
from watchers.poll import Outcome, poll_sources
from watchers.sources import SourceSpec

# The fake Slack Web API, our bot served from a thread, and the `browser` mark (needs a real Chromium).
pytest_plugins = ["fakeslack", "botserver", "browsers"]

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (timeouts)
    chunked: bool = False  # stream the body in chunks with no Content-Length (a server that never says the size)
    drip: float = 0.0  # after the headers, send the body one byte every `drip` seconds (a hanging server)
    raw: bytes | None = None  # send exactly these bytes (status line, headers…), then `body` if dripping, then close


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


Route = Callable[[Seen], Response]


class FixtureServer:
    """An HTTP server on 127.0.0.1:0 whose routes tests set; it records every request it sees.

    `host` may be 127.0.0.2 or 127.0.0.3: loopback addresses that stand in for other hosts.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
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
                # The client may have given up (timeout, size cap) and closed the connection already.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._answer(response)

            def _drip(self, response: Response) -> None:
                for byte in response.body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    if server._stop.wait(response.drip):
                        break

            def _answer(self, response: Response) -> None:
                if response.raw is not None:
                    self.wfile.write(response.raw)
                    self.wfile.flush()
                    self.close_connection = True
                    if response.drip:
                        self._drip(response)
                    return
                self.send_response(response.status)
                length = (
                    {"Transfer-Encoding": "chunked"}
                    if response.chunked
                    else {"Content-Length": str(len(response.body))}
                )
                for name, value in {**length, **response.headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                if response.status == 304:
                    return
                if response.drip:
                    self._drip(response)
                    return
                if not response.chunked:
                    self.wfile.write(response.body)
                    return
                for start in range(0, len(response.body), 1024):
                    piece = response.body[start : start + 1024]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        # A short poll interval: shutdown() waits up to one interval, and every test stops a server.
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

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
def make_server() -> Iterator[Callable[[str], FixtureServer]]:
    """Servers on other loopback addresses (127.0.0.2, 127.0.0.3): hosts the test's policy may refuse."""
    made: list[FixtureServer] = []

    def make(host: str) -> FixtureServer:
        srv = FixtureServer(host)
        srv.start()
        made.append(srv)
        return srv

    yield make
    for srv in made:
        srv.stop()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "whisperer.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[Database]:
    database = open_db(db_path)
    yield database
    database.conn.close()


# The network policy refuses loopback like any private address; test servers listen on 127.0.0.1, so every
# test allows exactly that address, explicitly: LOOPBACK in FetchSettings, ALLOW_LOOPBACK in a whisperer.toml.
# 127.0.0.2 and 127.0.0.3 stay refused: they stand in for hosts the operator did not allow.
LOOPBACK = NetworkPolicy.from_entries(["127.0.0.1"])
ALLOW_LOOPBACK = '[fetch]\nallow_private = ["127.0.0.1"]\n'

# A small size cap keeps failure tests fast; everything else is the real default. The read timeout is short
# enough for the one test that waits for it (a server that never answers) and long enough that a fixture
# server which answers at once still does on a machine ten times slower, or shared by eight test runs.
FAST = FetchSettings(
    connect_timeout=2.0,
    read_timeout=5.0,
    max_bytes=64_000,
    max_redirects=3,
    per_host=2,
    workers=8,
    total_timeout=20.0,
    network=LOOPBACK,
)


class Watch:
    """The real poll pipeline against a real database: sync the specs, poll them, read back what was stored."""

    def __init__(self, db: Database, settings: FetchSettings = FAST) -> None:
        self.db = db
        self.settings = settings
        self.client = make_client(settings)
        self.limiter = HostLimiter(settings.per_host)
        self.specs: dict[str, SourceSpec] = {}

    def poll(self, *specs: SourceSpec, now: datetime = NOW, threshold: int = 3) -> dict[str, Outcome]:
        for spec in specs:
            self.specs[spec.id] = spec
        with transaction(self.db):
            state.sync_sources(self.db, (s.public_dict() for s in self.specs.values()), now)
        outcomes = poll_sources(
            self.db, list(specs), self.client, self.limiter, self.settings, now, failure_threshold=threshold
        )
        return {o.source_id: o for o in outcomes}

    def source(self, source_id: str) -> dict[str, Any]:
        row = state.get_source(self.db, source_id)
        assert row is not None, source_id
        return row

    def snapshot(self, source_id: str) -> str | None:
        return get_snapshot(self.db, self.source(source_id)["last_hash"])

    def changes(self, source_id: str) -> list[dict[str, Any]]:
        """Every change row of a source, oldest first, diff included."""
        cursor = self.db.execute("SELECT * FROM changes WHERE source_id = ? ORDER BY id", [source_id])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def alerts(self, kind: str | None = None) -> list[dict[str, Any]]:
        cursor = self.db.execute("SELECT * FROM alerts ORDER BY id")
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        return [r for r in rows if kind is None or r["kind"] == kind]

    def count(self, table: str) -> int:
        return int(self.db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])

    def close(self) -> None:
        # Whatever pool make_client returns (httpx.Client closes, urllib3.PoolManager clears).
        if hasattr(self.client, "close"):
            self.client.close()
        else:
            self.client.clear()


@pytest.fixture
def watch(db: Database) -> Iterator[Watch]:
    harness = Watch(db)
    yield harness
    harness.close()


DATA = Path(__file__).parent / "data"
