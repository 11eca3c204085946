"""Keep-alive on the fetch path: reuse only whole answers on live connections, retry only a stale kept-alive one.

A scripted TCP server on 127.0.0.1: its n-th connection answers requests in the order its script says, and
records every request line it reads with the connection it came on, so each test sees which connection carried what.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace

import pytest
from conftest import FAST

from watchers.fetching.http import Client, FetchError, fetch_url, make_client
from watchers.fetching.wire import target

PAGE = b"<html><body><p>Elite rebate: 6%</p></body></html>"


def ok(body: bytes = PAGE, *head: str) -> bytes:
    lines = ["HTTP/1.1 200 OK", "Content-Type: text/html", f"Content-Length: {len(body)}", *head]
    return "\r\n".join(lines).encode() + b"\r\n\r\n" + body


class Closing(bytes):
    """An answer after which the server closes the connection."""


class Dripping(bytes):
    """An answer sent one byte every 0.2 s (no read timeout trips; only the fetch's deadline ends it), at most 150
    bytes (30 s); the server then waits for the client to hang up."""


CUT = Closing(b"")  # no answer at all: the server reads the request and closes the connection


class Scripted:
    """Connection n answers its requests with scripts[n] (a Closing answer then closes); past its script, it reads
    on and records what comes (a request it should never have been sent), then closes."""

    def __init__(self, scripts: Sequence[Sequence[bytes]]) -> None:
        self.scripts = scripts
        self.seen: list[tuple[int, str]] = []  # (connection number, request target), in the order read
        self.dripped = 0  # bytes of a Dripping answer sent before the client hung up
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _accept(self) -> None:
        number = 0
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            script = self.scripts[number] if number < len(self.scripts) else []
            threading.Thread(target=self._serve, args=(number, conn, script), daemon=True).start()
            number += 1

    def _serve(self, number: int, conn: socket.socket, script: Sequence[bytes]) -> None:
        buffer = b""
        with conn, contextlib.suppress(OSError):
            for answer in [*script, CUT]:
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                with self._lock:
                    self.seen.append((number, head.split(b" ")[1].decode()))
                if isinstance(answer, Dripping):
                    for byte in answer[:150]:
                        conn.sendall(bytes([byte]))  # fails once the client has hung up
                        self.dripped += 1
                        time.sleep(0.2)
                    conn.recv(1)
                    return
                conn.sendall(answer)
                if isinstance(answer, Closing):
                    return

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def scripted() -> Iterator[list[Scripted]]:
    made: list[Scripted] = []
    yield made
    for server in made:
        server.close()


@pytest.fixture
def client() -> Iterator[Client]:
    made = make_client(replace(FAST, total_timeout=10.0))
    yield made
    made.clear()


def serve(made: list[Scripted], *scripts: Sequence[bytes]) -> Scripted:
    server = Scripted(scripts)
    made.append(server)
    return server


def get(client: Client, url: str) -> bytes:
    return fetch_url(client, url, max_bytes=FAST.max_bytes).body


def test_whole_answers_keep_their_connection(scripted: list[Scripted], client: Client) -> None:
    server = serve(scripted, [ok(), ok(), ok()])
    assert [get(client, server.url(p)) for p in ("/a", "/b", "/c")] == [PAGE] * 3
    assert server.seen == [(0, "/a"), (0, "/b"), (0, "/c")]


def test_a_kept_alive_connection_that_dies_unanswered_is_retried_once_on_a_fresh_one(
    scripted: list[Scripted], client: Client
) -> None:
    # The server closes the idle connection just as our next request arrives on it: a GET is safe to send again.
    server = serve(scripted, [ok(), CUT], [ok()])
    assert get(client, server.url("/a")) == PAGE
    assert get(client, server.url("/b")) == PAGE
    assert server.seen == [(0, "/a"), (0, "/b"), (1, "/b")]


def test_a_fresh_connection_that_dies_unanswered_is_not_retried(scripted: list[Scripted], client: Client) -> None:
    server = serve(scripted, [CUT], [ok()])
    with pytest.raises(FetchError, match=r"closed the connection without answering\); nothing was stored"):
        get(client, server.url("/a"))
    assert server.seen == [(0, "/a")]


def test_a_kept_alive_connection_that_dies_mid_answer_is_not_retried(scripted: list[Scripted], client: Client) -> None:
    server = serve(scripted, [ok(), Closing(b"HTTP/1.1 200 OK\r\nContent-Ty")], [ok()])
    assert get(client, server.url("/a")) == PAGE
    with pytest.raises(FetchError, match=r"the answer ended inside its headers"):
        get(client, server.url("/b"))
    assert server.seen == [(0, "/a"), (0, "/b")]


def big_chunked() -> bytes:
    piece = b"x" * 16_000
    chunk = b"%x\r\n%s\r\n" % (len(piece), piece)
    return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk * 5 + b"0\r\n\r\n"


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (ok(b"x" * (FAST.max_bytes + 1)), "server announced"),
        (big_chunked(), "body kept coming"),
        (b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found", "HTTP 404"),
    ],
    ids=["announced too big", "too big while streaming", "error status with a body"],
)
def test_an_answer_not_read_to_its_end_never_goes_back_to_the_pool(
    scripted: list[Scripted], client: Client, answer: bytes, problem: str
) -> None:
    server = serve(scripted, [answer], [ok()])
    with pytest.raises(FetchError, match=problem):
        get(client, server.url("/a"))
    assert get(client, server.url("/b")) == PAGE
    assert server.seen == [(0, "/a"), (1, "/b")]  # never (0, "/b"): that connection still held the unread rest


@pytest.mark.parametrize(
    "answer",
    [
        ok(PAGE, "Connection: close"),
        b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(PAGE), PAGE),
    ],
    ids=["Connection: close", "HTTP/1.0"],
)
def test_a_connection_the_server_means_to_close_is_not_reused(
    scripted: list[Scripted], client: Client, answer: bytes
) -> None:
    server = serve(scripted, [answer], [ok()])  # the server keeps the connection open: only the answer says close
    assert get(client, server.url("/a")) == PAGE
    assert get(client, server.url("/b")) == PAGE
    assert server.seen == [(0, "/a"), (1, "/b")]


def test_the_request_target_and_host_are_spelled_as_before(scripted: list[Scripted], client: Client) -> None:
    server = serve(scripted, [ok(), ok()])
    get(client, server.url("/a b/./c/../d?q=ü&r=%2f#fragment"))
    get(client, server.url(""))
    assert server.seen == [(0, "/a%20b/d?q=%C3%BC&r=%2F"), (0, "/")]


def test_an_idle_connection_the_server_closed_is_not_used(scripted: list[Scripted], client: Client) -> None:
    server = serve(scripted, [Closing(ok())], [ok()])  # closed after a keep-alive answer, as an idle timeout does
    assert get(client, server.url("/a")) == PAGE
    assert get(client, server.url("/b")) == PAGE
    assert server.seen == [(0, "/a"), (1, "/b")]


def test_a_reused_connection_is_under_the_fetchs_deadline_too(scripted: list[Scripted]) -> None:
    client = make_client(replace(FAST, total_timeout=1.0))
    server = serve(scripted, [ok(), Dripping(ok(b"x" * 1000))])
    try:
        assert get(client, server.url("/a")) == PAGE
        with pytest.raises(FetchError, match=r"total_timeout \(1 s\)"):
            get(client, server.url("/b"))
    finally:
        client.clear()
    assert server.seen == [(0, "/a"), (0, "/b")]
    assert server.dripped < 150  # the deadline shut the kept-alive socket: the fetch did not wait out the drip


@pytest.mark.parametrize(
    ("url", "origin", "host", "path"),
    [
        (
            "http://Bücher.example:8080/a b?x=ü#f",
            ("http", "xn--bcher-kva.example", 8080),
            "xn--bcher-kva.example:8080",
            "/a%20b?x=%C3%BC",
        ),
        ("https://portal.example./p", ("https", "portal.example", 443), "portal.example", "/p"),
        ("http://user:pw@portal.example:80", ("http", "portal.example", 80), "portal.example", "/"),
        ("HTTP://[::1]:8443/x?", ("http", "::1", 8443), "[::1]:8443", "/x?"),
        ("https://127.0.0.2:443/a/%7e/./b", ("https", "127.0.0.2", 443), "127.0.0.2", "/a/%7E/b"),
    ],
)
def test_where_a_url_goes_and_what_it_asks_for(url: str, origin: tuple[str, str, int], host: str, path: str) -> None:
    to = target(url)
    assert (to.origin, to.host_header.decode(), to.path.decode()) == (origin, host, path)


def test_informational_answers_before_the_answer_are_skipped(scripted: list[Scripted], client: Client) -> None:
    early = b'HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\nETag: "early"\r\n\r\n'
    server = serve(scripted, [b"HTTP/1.1 100 Continue\r\n\r\n" + early + ok(), ok()])
    fetched = fetch_url(client, server.url("/a"), max_bytes=FAST.max_bytes)
    assert (fetched.body, fetched.etag) == (PAGE, None)  # nothing of the hints' head is the answer's
    assert get(client, server.url("/b")) == PAGE
    assert server.seen == [(0, "/a"), (0, "/b")]


@pytest.mark.parametrize(
    "extra",
    [ok(), b"garbage", b"HTTP/1.1 200 OK\r\nContent-Le"],
    ids=["a second answer", "garbage", "half a head"],
)
def test_bytes_after_the_answer_cost_the_connection_its_reuse(
    scripted: list[Scripted], client: Client, extra: bytes
) -> None:
    server = serve(scripted, [ok() + extra, ok()], [ok()])
    assert get(client, server.url("/a")) == PAGE
    assert get(client, server.url("/b")) == PAGE
    assert server.seen == [(0, "/a"), (1, "/b")]


def test_an_http10_server_that_offers_keep_alive_is_taken_up_on_it(scripted: list[Scripted], client: Client) -> None:
    # As http.client did (h11 closed every HTTP/1.0 connection): the server says it keeps the connection open.
    answer = b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: %d\r\n\r\n%s" % (len(PAGE), PAGE)
    server = serve(scripted, [answer, ok()])
    assert [get(client, server.url(p)) for p in ("/a", "/b")] == [PAGE] * 2
    assert server.seen == [(0, "/a"), (0, "/b")]


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\n" + b"X-Pad: %s\r\n" % (b"a" * 1000) * 1100 + b"Content-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * 1_100_000 + b"\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * 1_100_000,  # and no end: the server waits
    ],
    ids=["many lines", "one long line", "one endless line"],
)
def test_a_head_over_1_MiB_is_refused(scripted: list[Scripted], client: Client, head: bytes) -> None:
    server = serve(scripted, [head])
    with pytest.raises(FetchError, match=r"connection broken mid-answer \(Receive buffer too long\)"):
        get(client, server.url("/a"))


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (b"HTTP/1.1 abc OK\r\n\r\n", r"illegal status line: bytearray\(b'HTTP/1.1 abc OK'\)"),
        (b"<html>no status line</html>", r"illegal status line: bytearray\(b'<html>no status line</html>'\)"),
        (b"HTTP/1.1 200 OK\r\nBogus\r\nContent-Length: 0\r\n\r\n", r"illegal header line: bytearray\(b'Bogus'\)"),
        (b"HTTP/1.1 200 OK\r\nX-A : 1\r\n\r\n", r"illegal header line: bytearray\(b'X-A : 1'\)"),
        (b"HTTP/1.1 200 OK\r\nX-A: a\0b\r\n\r\n", r"illegal header line: bytearray\(b'X-A: a\\x00b'\)"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\n", r"\(bad Content-Length\)"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", "conflicting Content-Length headers"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "Only Transfer-Encoding: chunked is supported"),
        (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", "without a pending proposal"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\nzz\r\n", r"\(the body stopped short\)"),
    ],
    ids=[
        "bad status",
        "no status line",
        "header without colon",
        "space before colon",
        "NUL in a value",
        "bad Content-Length",
        "two Content-Lengths",
        "gzip transfer coding",
        "unasked-for upgrade",
        "bad chunk size",
    ],
)
def test_a_malformed_answer_is_refused_in_the_words_used_before(
    scripted: list[Scripted], client: Client, answer: bytes, problem: str
) -> None:
    server = serve(scripted, [answer], [ok()])
    with pytest.raises(FetchError, match=f"connection broken mid-answer .*{problem}"):
        get(client, server.url("/a"))
    assert get(client, server.url("/b")) == PAGE
    assert server.seen == [(0, "/a"), (1, "/b")]


@pytest.mark.parametrize(
    "answer",
    [
        b'HTTP/1.1 200 OK\nETag: "v"\nContent-Length: 5\n\n<html',
        b'HTTP/1.1 200 OK\r\nX-Folded: a\r\n  b\r\nETag: "v"\r\nContent-Length: 5\r\n\r\n<html',
        b'HTTP/1.1 200 OK\r\nETag: \t"v" \t\r\nX-Control: a\x01b\r\nContent-Length: 5\r\n\r\n<html',
        b'HTTP/1.1 200 OK\r\nETag: "v"\r\nTransfer-Encoding: chunked\r\n\r\n5  \r\n<html\r\n0\r\n\r\n',
    ],
    ids=["bare LF line ends", "a folded header", "whitespace and control bytes in values", "spaces after a chunk size"],
)
def test_answers_http_client_took_are_still_taken(scripted: list[Scripted], client: Client, answer: bytes) -> None:
    server = serve(scripted, [answer, ok()])
    fetched = fetch_url(client, server.url("/a"), max_bytes=FAST.max_bytes)
    assert (fetched.body, fetched.etag) == (b"<html", '"v"')
    assert get(client, server.url("/b")) == PAGE
    assert server.seen == [(0, "/a"), (0, "/b")]


def test_chunked_beside_a_content_length_is_read_chunked_on_a_connection_then_closed(
    scripted: list[Scripted], client: Client
) -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n<html\r\n0\r\n\r\n"
    server = serve(scripted, [answer, ok()], [ok()])
    assert get(client, server.url("/a")) == b"<html"
    assert get(client, server.url("/b")) == PAGE
    assert server.seen == [(0, "/a"), (1, "/b")]


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ({"Cookie": "a=b\r\nX-Evil: 1"}, r"Invalid header value b'a=b\\r\\nX-Evil: 1'"),
        ({"Cookie": "a=b\n"}, r"Invalid header value b'a=b\\n'"),
        ({"X-Token": "a\0b"}, r"Invalid header value b'a\\x00b'"),
        ({"X Token": "t"}, r"Invalid header name b'X Token'"),
        ({"X-Token:": "t"}, r"Invalid header name b'X-Token:'"),
        ({"X-Token": "€"}, r"'latin-1' codec can't encode character '\\u20ac'"),
    ],
    ids=["CRLF in a value", "LF at the end", "NUL", "space in a name", "colon in a name", "not Latin-1"],
)
def test_a_header_that_cannot_be_sent_as_it_is_is_refused_before_connecting(
    scripted: list[Scripted], client: Client, headers: dict[str, str], problem: str
) -> None:
    server = serve(scripted, [ok()])
    with pytest.raises(FetchError, match=r"invalid URL \(" + problem):
        fetch_url(client, server.url("/a"), max_bytes=FAST.max_bytes, headers=headers)
    assert server.seen == []


def test_a_source_that_asks_to_close_the_connection_has_it_closed(scripted: list[Scripted], client: Client) -> None:
    server = serve(scripted, [ok(), ok()], [ok()])
    fetch_url(client, server.url("/a"), max_bytes=FAST.max_bytes, headers={"Connection": "close"})
    assert get(client, server.url("/b")) == PAGE
    assert server.seen == [(0, "/a"), (1, "/b")]
