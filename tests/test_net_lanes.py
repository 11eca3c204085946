"""fetch_lanes: several GETs out at once from one thread, each under its own deadline and its host's slots, with
the same results fetch_url gives one at a time."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest
from conftest import FAST, FixtureServer, Response

from watchers.fetching import deadline
from watchers.fetching.http import (
    Client,
    Fetched,
    FetchError,
    HostLimiter,
    Request,
    fetch_lanes,
    fetch_url,
    make_client,
)
from watchers.fetching.network import NetworkPolicy

PAGE = b"<html><body><main><p>Elite rebate: 6%</p></main></body></html>"
HTML = {"Content-Type": "text/html; charset=utf-8", "ETag": '"v1"'}


@pytest.fixture
def client() -> Iterator[Client]:
    made = make_client(replace(FAST, network=NetworkPolicy.from_entries(["127.0.0.1"]), total_timeout=3.0))
    yield made
    made.clear()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when this returns: nothing listens there


def outcome(result: Fetched | Exception) -> tuple[str, object]:
    if isinstance(result, Fetched):
        return ("fetched", (result.not_modified, result.body, result.etag, result.url))
    return (type(result).__name__, str(result))


def test_the_same_results_as_fetch_url_one_at_a_time_in_order(server: FixtureServer, client: Client) -> None:
    server.routes["/page"] = Response(body=PAGE, headers=HTML)
    server.routes["/same"] = lambda seen: (
        Response(304, headers={"ETag": '"v1"'}) if seen.headers.get("If-None-Match") == '"v1"' else Response(body=PAGE)
    )
    server.routes["/moved"] = Response(301, headers={"Location": "/page"})
    server.routes["/broken"] = Response(500, b"oops")
    refused = f"http://127.0.0.1:{closed_port()}/x"
    requests = [
        Request(server.url("/page"), 64_000),
        Request(server.url("/same"), 64_000, etag='"v1"'),
        Request(server.url("/moved"), 64_000),
        Request(server.url("/missing"), 64_000),
        Request(refused, 64_000),
        Request(server.url("/broken"), 64_000),
        Request(f"http://127.0.0.2:{closed_port()}/not-allowed", 64_000),  # loopback the policy does not allow
        Request(server.url("/page"), 10),
    ]
    alone: list[Fetched | Exception] = []
    for request in requests:
        try:
            alone.append(
                fetch_url(client, request.url, max_bytes=request.max_bytes, etag=request.etag, headers=request.headers)
            )
        except Exception as exc:
            alone.append(exc)
    together = fetch_lanes(client, HostLimiter(2), requests, lanes=2)
    assert [outcome(r) for r in together] == [outcome(r) for r in alone]
    kinds = [outcome(r)[0] for r in together]
    assert kinds == [
        "fetched",
        "fetched",
        "fetched",
        "FetchError",
        "FetchError",
        "FetchError",
        "AddressRefused",
        "FetchError",
    ]


def test_never_more_requests_at_once_than_the_hosts_slots(client: Client) -> None:
    server = FixtureServer()
    active, most, lock = 0, 0, threading.Lock()

    def counted(seen: object) -> Response:
        nonlocal active, most
        with lock:
            active += 1
            most = max(most, active)
        try:
            return Response(body=PAGE, headers=HTML, delay=0.01)
        finally:
            with lock:
                active -= 1

    server.routes["/p"] = counted
    server.start()
    try:
        limiter = HostLimiter(2)
        requests = [Request(server.url(f"/p?{i}"), 64_000) for i in range(30)]
        threads = [threading.Thread(target=fetch_lanes, args=(client, limiter, requests, 3)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not any(thread.is_alive() for thread in threads)  # no thread waits forever for a slot
        assert len(server.seen) == 60
        assert 1 <= most <= 2
    finally:
        server.stop()


def test_each_request_is_under_its_own_deadline(server: FixtureServer, client: Client) -> None:
    # The first answer drips past total_timeout; the one sent beside it from the same thread still arrives whole.
    server.routes["/drip"] = Response(body=PAGE * 10, headers=HTML, drip=0.2)
    server.routes["/page"] = Response(body=PAGE, headers=HTML)
    results = fetch_lanes(
        client, HostLimiter(2), [Request(server.url("/drip"), 64_000), Request(server.url("/page"), 64_000)], lanes=2
    )
    assert isinstance(results[0], FetchError) and "total_timeout" in str(results[0])
    assert isinstance(results[1], Fetched) and results[1].body == PAGE


def test_a_paused_deadline_does_not_expire_until_resumed() -> None:
    limit = deadline.begin(0.05)
    limit.pause()
    threading.Event().wait(0.3)  # well past its time: the reaper has looked, and left it
    assert not limit.expired
    limit.resume()
    for _ in range(500):  # then it runs out what it had left
        if limit.expired:
            break
        threading.Event().wait(0.01)
    assert limit.expired
    limit.finish()
