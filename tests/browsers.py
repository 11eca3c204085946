"""Browser test support: real servers on loopback addresses, the poll pipeline with a browser, and the `browser` mark.

Tests marked `browser` need a real Chromium; without one they are set aside and one summary line says why.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from conftest import NOW

from storage.database import Database
from storage.db import transaction
from storage.watching import sources as state
from storage.watching.changes import get_snapshot
from watchers.fetching.browser import Browser, browser_missing
from watchers.fetching.http import FetchSettings, HostLimiter, make_client
from watchers.fetching.network import NetworkPolicy
from watchers.fetching.settings import BrowserSettings
from watchers.poll import Outcome, poll_sources
from watchers.sources import SourceSpec


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: needs a real Chromium (skipped, with one line saying why, if none)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    marked = [item for item in items if item.get_closest_marker("browser")]
    if not marked:
        return
    reason = browser_missing(BrowserSettings(), os.environ)
    if reason is None:
        return
    config.hook.pytest_deselected(items=marked)
    items[:] = [item for item in items if not item.get_closest_marker("browser")]
    config.stash[_SKIPPED] = (sorted({item.nodeid.split("::")[0] for item in marked}), len(marked), reason)


_SKIPPED = pytest.StashKey[tuple[list[str], int, str]]()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    skipped = config.stash.get(_SKIPPED, None)
    if skipped:
        files, count, reason = skipped
        where = ", ".join(files)
        terminalreporter.write_line(f"SKIPPED {count} browser tests ({where}), they need a real browser: {reason}")


POLICY = NetworkPolicy.from_entries(["127.0.0.1"])  # the test server's address, explicitly; nothing else private
SETTINGS = FetchSettings(network=POLICY)


class Site:
    """A real HTTP server on a loopback address; routes are (status, headers, body); it records every path."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.seen: list[tuple[str, dict[str, str]]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                site.seen.append((self.path, dict(self.headers.items())))
                status, headers, body = site.routes.get(self.path, (404, {}, b"not found"))
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def url(self, path: str) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def page(self, path: str, body: bytes, content_type: str = "text/html; charset=utf-8", **headers: str) -> None:
        self.routes[path] = (200, {"Content-Type": content_type, **headers}, body)

    def paths(self) -> list[str]:
        return [path for path, _ in self.seen]

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def site() -> Iterator[Site]:
    server = Site()
    yield server
    server.stop()


@pytest.fixture
def elsewhere() -> Iterator[Site]:
    """127.0.0.2: "another host" that the policy does not allow."""
    server = Site("127.0.0.2")
    yield server
    server.stop()


def poll(db: Database, browser: Browser | None, *specs: SourceSpec) -> dict[str, Outcome]:
    with transaction(db):
        state.sync_sources(db, (s.public_dict() for s in specs), NOW)
    client = make_client(SETTINGS)
    try:
        outcomes = poll_sources(db, list(specs), client, HostLimiter(2), SETTINGS, NOW, browser=browser)
    finally:
        client.clear()
    return {o.source_id: o for o in outcomes}


def snapshot(db: Database, source_id: str) -> str:
    row = state.get_source(db, source_id)
    assert row is not None
    return get_snapshot(db, row["last_hash"]) or ""


def spec(source_id: str, url: str, **keys: Any) -> SourceSpec:
    return replace(SourceSpec(id=source_id, kind="browser", url=url, timeout=20.0), **keys)
