"""The fetcher obeys the network policy on every hop, keeps secrets at home, and only accepts whole answers.

Real servers on 127.0.0.1, 127.0.0.2 and 127.0.0.3; the policy allows only what each test lists.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from conftest import FAST, FixtureServer, Response

from watchers.fetching.http import Client, FetchError, FetchSettings, fetch_url, make_client
from watchers.fetching.network import AddressRefused, NetworkPolicy

PAGE = b"<html><body><main><p>Elite rebate: 6%</p></main></body></html>"
HTML = {"Content-Type": "text/html; charset=utf-8"}


def settings(*allow: str, **changes: object) -> FetchSettings:
    return replace(FAST, network=NetworkPolicy.from_entries(allow), **changes)  # type: ignore[arg-type]


@pytest.fixture
def clients() -> Iterator[Callable[..., Client]]:
    made: list[Client] = []

    def make(*allow: str, **changes: object) -> Client:
        client = make_client(settings(*allow, **changes))
        made.append(client)
        return client

    yield make
    for client in made:
        client.clear()


def get(client: Client, url: str, **kwargs: object) -> bytes:
    return fetch_url(client, url, max_bytes=64_000, **kwargs).body  # type: ignore[arg-type]


def test_an_allowed_loopback_address_is_fetched(server: FixtureServer, clients: Callable[..., Client]) -> None:
    server.routes["/page"] = Response(body=PAGE, headers=HTML)
    assert get(clients("127.0.0.1"), server.url("/page")) == PAGE


def test_a_loopback_address_that_is_not_listed_is_refused_before_connecting(
    make_server: Callable[[str], FixtureServer], clients: Callable[..., Client]
) -> None:
    other = make_server("127.0.0.2")
    other.routes["/page"] = Response(body=PAGE, headers=HTML)
    with pytest.raises(AddressRefused, match=r"refused to connect to 127\.0\.0\.2: a loopback address"):
        get(clients("127.0.0.1"), other.url("/page"))
    assert other.seen == []
    assert get(clients("127.0.0.1", "127.0.0.2"), other.url("/page")) == PAGE  # listed, it is fetched


def test_the_resolved_address_is_what_is_checked(server: FixtureServer, clients: Callable[..., Client]) -> None:
    """A name passes the URL check; the address DNS gives for it is checked at connect time (no rebinding)."""
    server.routes["/page"] = Response(body=PAGE, headers=HTML)
    port = server.httpd.server_address[1]
    with pytest.raises(AddressRefused, match=r"refused to connect to (127\.0\.0\.1|::1) \(localhost\)"):
        get(clients(), f"http://localhost:{port}/page")
    assert server.seen == []
    assert get(clients("localhost"), f"http://localhost:{port}/page") == PAGE  # a listed name may be private


def test_a_redirect_to_a_refused_host_is_refused_before_connecting(
    server: FixtureServer, make_server: Callable[[str], FixtureServer], clients: Callable[..., Client]
) -> None:
    third = make_server("127.0.0.3")
    third.routes["/secret"] = Response(body=b"internal", headers=HTML)
    server.routes["/page"] = Response(302, headers={"Location": third.url("/secret")})
    server.routes["/octal"] = Response(302, headers={"Location": f"http://0177.0.0.3:{third.httpd.server_address[1]}/"})
    client = clients("127.0.0.1")
    with pytest.raises(AddressRefused, match=r"127\.0\.0\.3"):
        get(client, server.url("/page"))
    with pytest.raises(AddressRefused, match=r"0177\.0\.0\.3.*which is 127\.0\.0\.3|127\.0\.0\.3"):
        get(client, server.url("/octal"))
    assert third.seen == []
    assert [s.path for s in server.seen] == ["/page", "/octal"]


@pytest.mark.parametrize("location", ["file:///etc/passwd", "gopher://127.0.0.1:70/", "ftp://127.0.0.1/x"])
def test_redirects_to_other_schemes_are_refused(
    server: FixtureServer, clients: Callable[..., Client], location: str
) -> None:
    server.routes["/page"] = Response(301, headers={"Location": location})
    with pytest.raises(AddressRefused, match="only http and https"):
        get(clients("127.0.0.1"), server.url("/page"))


def test_a_file_url_is_refused(clients: Callable[..., Client]) -> None:
    with pytest.raises(AddressRefused, match="only http and https"):
        get(clients("127.0.0.1"), "file:///etc/passwd")


def test_source_headers_never_reach_another_origin(
    server: FixtureServer, make_server: Callable[[str], FixtureServer], clients: Callable[..., Client]
) -> None:
    other = make_server("127.0.0.2")
    other.routes["/landing"] = Response(body=PAGE, headers=HTML)
    server.routes["/start"] = Response(302, headers={"Location": "/home"})
    server.routes["/home"] = Response(307, headers={"Location": other.url("/landing")})
    secrets = {"X-Portal-Token": "tok-123", "Cookie": "session=abc", "Authorization": "Bearer xyz"}
    body = get(clients("127.0.0.1", "127.0.0.2"), server.url("/start"), headers=secrets)
    assert body == PAGE
    for seen in server.seen:  # the source's own origin gets them on every hop
        assert seen.headers.get("X-Portal-Token") == "tok-123" and seen.headers.get("Cookie") == "session=abc"
    (landing,) = other.seen
    assert {"X-Portal-Token", "Cookie", "Authorization"}.isdisjoint(landing.headers)
    assert landing.headers["User-Agent"].startswith("huawei-whisperer/")  # our own headers still go


def test_max_redirects_still_holds(server: FixtureServer, clients: Callable[..., Client]) -> None:
    server.routes["/loop"] = Response(302, headers={"Location": "/loop"})
    with pytest.raises(FetchError, match="too many redirects"):
        get(clients("127.0.0.1"), server.url("/loop"))
    assert len(server.requests_to("/loop")) == FAST.max_redirects + 1


def test_a_dripping_body_is_ended_by_total_timeout(server: FixtureServer, clients: Callable[..., Client]) -> None:
    # One byte every 0.2 s never trips the 5 s read timeout; only the deadline for the whole fetch ends it.
    server.routes["/drip"] = Response(body=PAGE * 10, headers=HTML, drip=0.2)
    with pytest.raises(FetchError, match=r"total_timeout \(1\.5 s\).*raise total_timeout"):
        get(clients("127.0.0.1", total_timeout=1.5), server.url("/drip"))


def test_a_dripping_body_without_content_length_is_not_taken_as_whole(
    server: FixtureServer, clients: Callable[..., Client]
) -> None:
    # No Content-Length: the body ends when the connection closes, so a deadline-closed body looks complete.
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n"
    server.routes["/drip"] = Response(body=PAGE * 10, raw=head, drip=0.2)
    with pytest.raises(FetchError, match="total_timeout"):
        get(clients("127.0.0.1", total_timeout=1.0), server.url("/drip"))


def raw(head: str, body: bytes = b"") -> Response:
    return Response(raw=head.replace("\n", "\r\n").encode() + body)


@pytest.mark.parametrize(
    ("response", "problem"),
    [
        (
            raw("HTTP/1.1 200 OK\nContent-Type: text/html\nContent-Length: 5000\n\n", PAGE),
            r"stopped short: 62 bytes read, 4,938 more expected\); nothing was stored",
        ),
        (
            raw("HTTP/1.1 200 OK\nContent-Type: text/html\nTransfer-Encoding: chunked\n\n", b"40\r\n" + PAGE[:64]),
            "connection broken mid-answer",
        ),
        (
            raw("HTTP/1.1 200 OK\nContent-Type: text/html\nTransfer-Encoding: chunked\n\n", b"40\r\n" + PAGE[:30]),
            "connection broken",
        ),
        (raw("HTTP/1.1 200 OK\nContent-Type: text/ht"), "the answer ended inside its headers"),
        (raw(""), "closed the connection without answering"),
    ],
    ids=["content-length shortfall", "chunked without its last chunk", "chunk cut short", "cut in headers", "empty"],
)
def test_an_answer_cut_short_is_an_error(
    server: FixtureServer, clients: Callable[..., Client], response: Response, problem: str
) -> None:
    server.routes["/page"] = response
    with pytest.raises(FetchError, match=problem):
        get(clients("127.0.0.1"), server.url("/page"))


def gzip_response(body: bytes, encoding: str = "gzip") -> Response:
    return Response(body=body, headers={**HTML, "Content-Encoding": encoding})


def test_compressed_bodies_are_read_whole(server: FixtureServer, clients: Callable[..., Client]) -> None:
    raw_deflate = zlib.compressobj(wbits=-15)
    server.routes["/gzip"] = gzip_response(gzip.compress(PAGE))
    server.routes["/members"] = gzip_response(gzip.compress(PAGE[:20]) + gzip.compress(PAGE[20:]))
    server.routes["/zlib"] = gzip_response(zlib.compress(PAGE), "deflate")
    server.routes["/raw"] = gzip_response(raw_deflate.compress(PAGE) + raw_deflate.flush(), "deflate")
    client = clients("127.0.0.1")
    for path in ("/gzip", "/members", "/zlib", "/raw"):
        assert get(client, server.url(path)) == PAGE, path


@pytest.mark.parametrize(
    ("body", "encoding", "problem"),
    [
        (gzip.compress(PAGE)[:-12], "gzip", "stopped before its end"),
        (gzip.compress(PAGE)[:25], "gzip", "stopped before its end"),
        (zlib.compress(PAGE)[:-6], "deflate", "stopped before its end"),
        (b"\x1f\x8b\x08\x00garbage-not-deflate", "gzip", "corrupt"),
        (gzip.compress(PAGE), "br", "Content-Encoding 'br'"),
    ],
    ids=["truncated gzip", "gzip header only", "truncated deflate", "corrupt gzip", "unasked-for brotli"],
)
def test_broken_compression_is_an_error(
    server: FixtureServer, clients: Callable[..., Client], body: bytes, encoding: str, problem: str
) -> None:
    server.routes["/page"] = gzip_response(body, encoding)
    with pytest.raises(FetchError, match=problem):
        get(clients("127.0.0.1"), server.url("/page"))


def test_a_gzip_bomb_stops_at_max_bytes(server: FixtureServer, clients: Callable[..., Client]) -> None:
    server.routes["/bomb"] = gzip_response(gzip.compress(b"A" * 10_000_000))
    with pytest.raises(FetchError, match="64,000-byte cap"):
        get(clients("127.0.0.1"), server.url("/bomb"))
