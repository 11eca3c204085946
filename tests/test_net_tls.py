"""HTTPS through the guarded connection: it connects to the checked address, yet TLS still sends SNI for the
name and verifies the certificate against it. A real TLS server on 127.0.0.1 with a trustme test CA."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import trustme
from conftest import FAST

from watchers.fetching.http import Client, FetchError, fetch_url, make_client
from watchers.fetching.network import AddressRefused, NetworkPolicy


@dataclass
class TlsServer:
    port: int
    names: list[str | None] = field(default_factory=list)  # SNI names seen
    hosts: list[str] = field(default_factory=list)  # Host headers seen


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_server(ca: trustme.CA) -> Iterator[TlsServer]:
    yield from serve_tls(ca, "HTTP/1.0")  # closes after each answer


@pytest.fixture
def tls_keep_alive(ca: trustme.CA) -> Iterator[TlsServer]:
    yield from serve_tls(ca, "HTTP/1.1")


def serve_tls(ca: trustme.CA, protocol: str) -> Iterator[TlsServer]:
    seen = TlsServer(0)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = protocol

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            seen.hosts.append(self.headers.get("Host", ""))
            body = b"<html><body><main><p>Premier</p></main></body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    context.sni_callback = lambda sock, name, ctx: seen.names.append(name)  # type: ignore[assignment,func-returns-value]
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    seen.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield seen
    httpd.shutdown()
    httpd.server_close()


def trusting(ca: trustme.CA, *allow: str) -> Client:
    client = make_client(replace(FAST, network=NetworkPolicy.from_entries(allow)))
    context = ssl.create_default_context()
    ca.configure_trust(context)
    client.ssl_context = context
    return client


def test_https_keeps_sni_and_certificate_checks_for_the_name(ca: trustme.CA, tls_server: TlsServer) -> None:
    client = trusting(ca, "localhost")
    try:
        fetched = fetch_url(client, f"https://localhost:{tls_server.port}/tiers", max_bytes=10_000)
    finally:
        client.clear()
    assert b"Premier" in fetched.body
    assert tls_server.names == ["localhost"]
    assert tls_server.hosts == [f"localhost:{tls_server.port}"]


def test_https_to_an_address_the_policy_refuses_never_reaches_tls(ca: trustme.CA, tls_server: TlsServer) -> None:
    client = trusting(ca, "127.0.0.2")
    try:
        with pytest.raises(AddressRefused, match=r"refused to connect to (127\.0\.0\.1|::1) \(localhost\)"):
            fetch_url(client, f"https://localhost:{tls_server.port}/tiers", max_bytes=10_000)
    finally:
        client.clear()
    assert tls_server.names == [] and tls_server.hosts == []


def test_a_certificate_for_another_name_still_fails(ca: trustme.CA, tls_server: TlsServer) -> None:
    client = trusting(ca, "127.0.0.1")
    try:  # the certificate names localhost, not 127.0.0.1: connecting to the checked IP must not skip that check
        with pytest.raises(FetchError, match=r"TLS failed .*certificate is not valid for '127\.0\.0\.1'"):
            fetch_url(client, f"https://127.0.0.1:{tls_server.port}/tiers", max_bytes=10_000)
    finally:
        client.clear()
    assert tls_server.hosts == []


def test_https_connections_are_kept_alive(ca: trustme.CA, tls_keep_alive: TlsServer) -> None:
    client = trusting(ca, "localhost")
    try:
        for path in ("/tiers", "/rebates", "/tiers"):
            fetched = fetch_url(client, f"https://localhost:{tls_keep_alive.port}{path}", max_bytes=10_000)
            assert b"Premier" in fetched.body
    finally:
        client.clear()
    assert tls_keep_alive.names == ["localhost"]  # one handshake: the later GETs went on the same connection
    assert len(tls_keep_alive.hosts) == 3
