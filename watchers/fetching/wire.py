"""HTTP/1.1 GETs on sockets we open ourselves, answers parsed by llhttp: the client of every fetch in a poll pass.

Why not urllib3: on the warm pass every page answers 304, and urllib3 spent ~300 µs of Python per request (http.client
alone ~210 µs) under the GIL, where the loopback round trip itself costs ~100 µs; h11, pure Python, still 45-95 µs.
llhttp (Node's parser, in C, through httptools) keeps the framing right (Content-Length, chunked, read-to-close,
keep-alive and HTTP/1.0 rules); the request is simple enough to write ourselves; this module does the rest: the
network policy at every connect, TLS, the fetch deadline's watch on every socket, and keep-alive reuse per origin.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import select
import socket
import ssl
import struct
import threading
from collections.abc import Collection, Iterator
from functools import lru_cache
from typing import NamedTuple, NoReturn
from urllib.parse import urlsplit

import httptools

from watchers.fetching import deadline
from watchers.fetching.network import NetworkPolicy

Origin = tuple[str, str, int]  # scheme, host as connected to (IDNA, no brackets, no trailing dot), port

DEFAULT_PORTS = {"http": 80, "https": 443}
KEPT_ORIGINS = 256  # origins whose idle connections are kept; the least recently used beyond are closed
MAX_HEAD = 1 << 20  # bytes of response head (http.client allowed 100 lines of 64 KiB)
READ_SIZE = 65536
SHOWN = 200  # bytes of a malformed line quoted in the error
CLOSED_SILENTLY = "the server closed the connection without answering"
STOPPED_SHORT = "the body stopped short"
HEAD_TOO_BIG = "Receive buffer too long"  # (h11's words)


class WireError(Exception):
    """A GET failed on the wire: the class says where, the text what (watchers.fetching.http words it for people)."""


class InvalidRequest(WireError):
    """The URL or a header cannot be sent as it is."""


class ConnectFailed(WireError):
    """No connection: the name did not resolve, or every address refused."""


class ConnectTimedOut(WireError):
    """Connecting (or the TLS handshake) took longer than the connect timeout."""


class TlsFailed(WireError):
    """The TLS handshake or a TLS record failed: most often a certificate not valid for the host, or not trusted."""


class ReadTimedOut(WireError):
    """The server sent nothing for longer than the read timeout."""


class Broken(WireError):
    """The answer was cut or malformed: the text says how."""


class _Died(Exception):
    """The connection failed before any byte of the answer arrived (a kept-alive one is then retried fresh)."""


# --- the request target ------------------------------------------------------------------------------------------


class Target(NamedTuple):
    origin: Origin
    host_header: bytes  # the host as connected to, bracketed if IPv6, with the port when not the scheme's default
    path: bytes  # path and query, percent-encoded where they must be; never the fragment


_HOST_INVALID = re.compile(r"[\x00-\x20\x7f]")
_PERCENT = re.compile(r"%[a-fA-F0-9]{2}")
_UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-~"
_PATH_CHARS = frozenset(_UNRESERVED + "!$&'()*+,;=" + ":@/")
_QUERY_CHARS = _PATH_CHARS | {"?"}


@lru_cache(maxsize=8192)
def target(url: str) -> Target:
    """Where a URL's GET goes and what it asks for, spelled as urllib3 spelled it (the servers saw no change)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidRequest(f"Failed to parse: {url}") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise InvalidRequest(f"Not supported URL scheme {scheme}")
    name = (parts.hostname or "").removesuffix(".")
    if not name:
        raise InvalidRequest("No host specified.")
    bad = _HOST_INVALID.search(name)
    if bad:
        raise InvalidRequest(f"Failed to parse: Host {name!r} contains invalid character {bad.group()!r}")
    host = name if name.isascii() else _idna(name)
    port = port or DEFAULT_PORTS[scheme]
    shown = f"[{host}]" if ":" in host else host
    if port != DEFAULT_PORTS[scheme]:
        shown = f"{shown}:{port}"
    path = parts.path or "/"
    if "/." in path:  # a "." or ".." segment (the path always starts with "/")
        path = _remove_dot_segments(path)
    path = _encode(path, _PATH_CHARS)
    if parts.query or "?" in url.partition("#")[0]:  # an empty query's "?" is sent too, as urllib3 sent it
        path = f"{path}?{_encode(parts.query, _QUERY_CHARS)}"
    return Target((scheme, host, port), shown.encode("ascii"), path.encode("ascii"))


def _idna(name: str) -> str:
    try:
        idna = importlib.import_module("idna")  # IDNA 2008, as urllib3 used, where installed
    except ImportError:
        try:
            return name.encode("idna").decode("ascii")  # the standard library's IDNA 2003
        except UnicodeError:
            raise InvalidRequest(f"Name '{name}' is not a valid IDNA label") from None
    try:
        return str(idna.encode(name, strict=True, std3_rules=True).decode("ascii"))
    except idna.IDNAError:
        raise InvalidRequest(f"Name '{name}' is not a valid IDNA label") from None


def _encode(part: str, allowed: frozenset[str]) -> str:
    """Percent-encode what may not stand in a request target, leaving existing %XX escapes (upper-cased) alone."""
    if "%" not in part and part.isascii() and allowed.issuperset(part):
        return part
    part, escapes = _PERCENT.subn(lambda m: m.group(0).upper(), part)
    raw = part.encode("utf-8", "surrogatepass")
    escaped = escapes == raw.count(b"%")
    out = bytearray()
    for byte in raw:
        if (escaped and byte == 0x25) or (byte < 128 and chr(byte) in allowed):
            out.append(byte)
        else:
            out += b"%%%02X" % byte
    return out.decode()


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4: /a/./b/../c is /a/c."""
    segments = path.split("/")
    if "." not in segments and ".." not in segments:
        return path
    out: list[str] = []
    for segment in segments:
        if segment == "..":
            if out:
                out.pop()
        elif segment != ".":
            out.append(segment)
    if path.startswith("/") and (not out or out[0]):
        out.insert(0, "")
    if path.endswith(("/.", "/..")):
        out.append("")
    return "/".join(out)


# --- connections -------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def default_tls() -> ssl.SSLContext:
    """The system's trusted CAs, certificate and host name verified; made at the first https connection."""
    context = ssl.create_default_context()
    context.set_alpn_protocols(["http/1.1"])
    return context


_TCP_INFO = getattr(socket, "TCP_INFO", None)  # Linux
_TCP_ESTABLISHED = 1


class _Refused(Exception):
    """Raised in a parser callback: an answer we will not read, with the reason as its text."""


_LENIENCIES = {
    "lenient_headers": True,  # obs-fold and control bytes in values, as http.client and h11 took them (NUL is ours)
    "lenient_optional_cr_before_lf": True,  # bare LF line ends in the head
    "lenient_spaces_after_chunk_size": True,
    "lenient_chunked_length": True,  # chunked wins over a Content-Length beside it (the connection is then closed)
}


class Connection:
    """A socket, its llhttp parser, and the answer being parsed (the parser's callbacks are these methods).

    A plain socket is left blocking, its timeouts kept by the kernel (SO_RCVTIMEO/SO_SNDTIMEO): one system call per
    send or receive instead of poll() and then the call, each of which releases the interpreter lock for the other
    fetch thread to take. TLS sockets keep Python's timeouts.
    """

    __slots__ = (
        "body",
        "closing",
        "complete",
        "failed",
        "head_done",
        "head_size",
        "headers",
        "keep",
        "parser",
        "plain",
        "reason",
        "sock",
        "status",
        "timeout",
    )

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.plain = not isinstance(sock, ssl.SSLSocket)
        self.timeout = -1.0
        if self.plain:
            sock.settimeout(None)
        # One parser for the connection's life: once an answer is complete, llhttp is ready for the next.
        self.parser = httptools.HttpResponseParser(self)
        self.parser.set_dangerous_leniencies(**_LENIENCIES)
        self.expect(False)

    def expect(self, closing: bool) -> None:
        """Ready for the answer to a request just sent (with Connection: close if `closing`)."""
        self.closing = closing
        self.status = 0
        self.reason = b""
        self.headers: dict[bytes, bytes] = {}
        self.body: list[bytes] = []
        self.head_done = False
        self.head_size = 0  # bytes of header lines so far (informational answers' too)
        self.complete = False
        self.failed = ""
        self.keep = False

    # llhttp's callbacks, in the order it makes them

    def on_message_begin(self) -> None:
        if self.complete:  # bytes after the answer, which nobody asked for: stop, and never reuse the connection
            raise _Refused("bytes after the answer")

    def on_status(self, reason: bytes) -> None:
        self.reason += reason  # in pieces if the line came in pieces

    def on_header(self, name: bytes, value: bytes) -> None:
        if b"\0" in value:
            raise _Refused("a NUL byte in a header value")
        self.head_size += len(name) + len(value) + 4
        if self.head_size > MAX_HEAD:
            raise _Refused(HEAD_TOO_BIG)
        name = name.lower()
        value = value.rstrip(b" \t")  # llhttp leaves the whitespace after a value
        headers = self.headers
        if name not in headers:
            headers[name] = value
        elif name == b"transfer-encoding":
            raise _Refused("multiple Transfer-Encoding headers")
        else:
            headers[name] += b", " + value  # repeated headers joined, as urllib3 did

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200:
            if status == 101:  # a protocol switch nobody asked for
                raise _Refused("Received server _SWITCH_UPGRADE event without a pending proposal")
            self.reason, self.headers = b"", {}  # 100 Continue, 103 Early Hints: the answer follows
            return
        coding = self.headers.get(b"transfer-encoding")
        if coding is not None:
            if coding.lower() != b"chunked":  # llhttp would read to the close, the body still encoded
                raise _Refused("Only Transfer-Encoding: chunked is supported")
            if b"content-length" in self.headers:
                self.closing = True  # both framings: read as chunked, but the connection is not to be trusted
        self.status = status
        self.head_done = True

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        if self.head_done:  # (not an informational answer's end)
            self.complete = True
            # Asked here: once the callback returns, llhttp resets its flags for the next answer.
            self.keep = not self.closing and self.parser.should_keep_alive()

    def feed(self, data: bytes) -> None:
        """Parse what arrived. A fault in the head raises _ParseFailed; one in the body is kept in `failed`, for
        chunks() to raise once it has given out what came before; bytes past the answer only cost its reuse."""
        try:
            self.parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            self.keep = False
            if self.complete:
                return
            failed = _ParseFailed(exc)
            if not self.head_done:
                raise failed from None
            self.failed = failed.reason

    def set_timeout(self, seconds: float) -> None:
        if seconds == self.timeout:
            return
        self.timeout = seconds
        if not self.plain:
            self.sock.settimeout(seconds)
            return
        seconds = max(seconds, 0.001)  # zero would mean "wait forever"
        whole = int(seconds)
        value = struct.pack("ll", whole, int((seconds - whole) * 1e6))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)

    def dropped(self) -> bool:
        """Whether the server closed (or reset) it while it was idle: then it is not reused."""
        sock = self.sock
        try:
            if self.plain and _TCP_INFO is not None:  # the TCP state, without a poll() that releases the lock
                return sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, 1)[0] != _TCP_ESTABLISHED
            if isinstance(sock, ssl.SSLSocket) and sock.pending():
                return True  # a TLS record nobody asked for: not a connection to send a request on
            return bool(select.select((sock,), (), (), 0)[0])  # readable while idle: closed, or unasked-for bytes
        except (OSError, ValueError):  # closed under us
            return True

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


class _ParseFailed(Exception):
    """The parser refused the answer: `reason` is what it said, worded for people by the caller."""

    def __init__(self, exc: Exception) -> None:
        cause = exc.__context__ if isinstance(exc, httptools.HttpParserCallbackError) else None
        if isinstance(cause, _Refused):
            self.reason = str(cause)
        elif isinstance(exc, httptools.HttpParserUpgrade):
            self.reason = "Received server _SWITCH_UPGRADE event without a pending proposal"
        else:
            self.reason = str(exc)
        super().__init__(self.reason)


_STATUS_LINE = re.compile(rb"HTTP/[0-9]\.[0-9] [0-9]{3}(?: [\t\x20-\x7e\x80-\xff]*)?")
_HEADER_LINE = re.compile(rb"[-!#$%&'*+.^_`|~0-9a-zA-Z]+:[ \t]*(?:[^\x00\s]+(?:[ \t]+[^\x00\s]+)*)?[ \t]*")


def _head_error(head: bytes, failed: _ParseFailed) -> str:
    """What is wrong with an answer's head, in the words used before (h11's): the line at fault where one is."""
    lines = [line.removesuffix(b"\r") for line in head.split(b"\n")]
    while lines and not lines[0]:
        lines.pop(0)  # empty lines before the status line are skipped
    if lines and not _STATUS_LINE.fullmatch(lines[0]):
        return f"illegal status line: {bytearray(lines[0][:SHOWN])!r}"
    for line in lines[1:]:
        if not line:
            break
        if line[:1] not in (b" ", b"\t") and not _HEADER_LINE.fullmatch(line):  # (a folded line continues one)
            return f"illegal header line: {bytearray(line[:SHOWN])!r}"
    reason = failed.reason
    if "Duplicate Content-Length" in reason:
        lengths = {line.partition(b":")[2].strip() for line in lines if line.lower().startswith(b"content-length:")}
        return "conflicting Content-Length headers" if len(lengths) > 1 else "repeated Content-Length header"
    if "Content-Length" in reason:
        return "bad Content-Length"
    return reason


class Sent:
    """A request written and not yet answered (Pool.send), and what a retry on a fresh connection needs."""

    __slots__ = ("closing", "conn", "connect_timeout", "origin", "read_timeout", "request", "reused")

    def __init__(
        self,
        conn: Connection | None,
        origin: Origin,
        request: bytes,
        closing: bool,
        connect_timeout: float,
        read_timeout: float,
    ) -> None:
        self.conn = conn
        self.origin = origin
        self.request = request
        self.closing = closing
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.reused = False


class Answer:
    """A response whose head has arrived. Read the body with chunks(), then release() it, or close() it unread."""

    __slots__ = ("_conn", "_headers", "_origin", "_pool", "reason", "status")

    def __init__(self, pool: Pool, conn: Connection, origin: Origin) -> None:
        self._pool = pool
        self._conn: Connection | None = conn
        self._origin = origin
        self._headers = conn.headers
        self.status = conn.status
        self.reason = conn.reason.decode("latin-1")

    def header(self, name: bytes) -> str | None:
        """A header by its lower-case name; repeated headers joined with ", " (as urllib3 did)."""
        value = self._headers.get(name)
        return None if value is None else value.decode("latin-1")

    def chunks(self) -> Iterator[bytes]:
        """The body as it arrives, undecoded; raises Broken if it stops short of its framing's end."""
        conn = self._conn
        assert conn is not None, "the answer was already released"
        sock = conn.sock
        received = 0
        while True:
            body = conn.body
            if body:
                conn.body = []
                for piece in body:
                    received += len(piece)
                    yield piece
            if conn.complete:
                return
            if conn.failed:
                raise Broken(self._cut(received, conn.failed))
            data = _recv(sock)
            if not data:
                headers = conn.headers
                if b"content-length" in headers or b"transfer-encoding" in headers:
                    raise Broken(self._cut(received, STOPPED_SHORT))
                return  # a body read to the close: the close is its end (the connection goes, not kept)
            conn.feed(data)

    def _cut(self, received: int, detail: str) -> str:
        """What is wrong with the body, said as before: how much was read and how much was promised."""
        if b"transfer-encoding" in self._headers:
            return STOPPED_SHORT
        declared = self._headers.get(b"content-length")
        if declared is not None and declared.strip().isdigit():
            expected = int(declared)
            return f"{STOPPED_SHORT}: {received:,} bytes read, {expected - received:,} more expected"
        return detail or STOPPED_SHORT

    def release(self) -> None:
        """Back to the pool if the answer was read to its end and the connection may carry another; else closed."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if conn.complete and conn.keep:  # an answer without a body (304, 204) is complete with its head
            self._pool._keep(self._origin, conn)
        else:
            conn.close()

    def close(self) -> None:
        """Drop the connection: an answer not read to its end must never be reused."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(READ_SIZE)
    except (TimeoutError, BlockingIOError):  # Python's timeout, or the kernel's (SO_RCVTIMEO)
        raise ReadTimedOut("read timed out") from None
    except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
        return b""
    except ssl.SSLError as exc:
        raise TlsFailed(str(exc)) from None
    except OSError as exc:
        raise Broken(str(exc)) from None


class Pool:
    """Kept-alive connections per origin (at most `per_host` idle each) that connect only where `policy` allows."""

    def __init__(self, policy: NetworkPolicy, per_host: int) -> None:
        self.policy = policy
        self.per_host = max(1, per_host)
        self.ssl_context: ssl.SSLContext | None = None  # None: default_tls(), the system's trusted CAs
        self._lock = threading.Lock()
        self._idle: dict[Origin, list[Connection]] = {}  # in order of use, the most recent last

    def get(
        self, to: Target, headers: Collection[tuple[str, str]], connect_timeout: float, read_timeout: float
    ) -> Answer:
        """Send a GET and wait for the head of its answer; the body is the Answer's to read.

        A kept-alive connection that dies before any byte of the answer is retried once on a fresh one (a GET is
        idempotent; the server closed it while idle); a fresh connection's failure is never retried.
        """
        return self.receive(self.send(to, headers, connect_timeout, read_timeout))

    def send(
        self, to: Target, headers: Collection[tuple[str, str]], connect_timeout: float, read_timeout: float
    ) -> Sent:
        """The first half of get(): the request written, on a kept-alive connection or a new one. receive() waits
        for its answer, so one thread can have a request out on each of several connections."""
        request, closing = _request(to, headers)
        sent = Sent(None, to.origin, request, closing, connect_timeout, read_timeout)
        conn = self._take(to.origin)
        if conn is not None:
            try:
                self._send(conn, request, closing, read_timeout)
            except _Died:
                conn.close()
                if deadline.expired():
                    raise Broken(CLOSED_SILENTLY) from None
            except BaseException:
                conn.close()
                raise
            else:
                sent.conn, sent.reused = conn, True
                return sent
        return self._send_fresh(sent)

    def receive(self, sent: Sent) -> Answer:
        """The second half of get(): the head of the answer to a request send() wrote."""
        conn = sent.conn
        assert conn is not None
        try:
            return self._head(conn, sent.origin)
        except _Died as exc:
            conn.close()
            if not sent.reused:
                raise Broken(str(exc)) from None
            if deadline.expired():
                raise Broken(CLOSED_SILENTLY) from None
        except BaseException:
            conn.close()
            raise
        # A kept-alive connection died before any byte of the answer: once more, on a fresh one (never retried).
        return self.receive(self._send_fresh(sent))

    def _send_fresh(self, sent: Sent) -> Sent:
        conn = self._connect(sent.origin, sent.connect_timeout)
        try:
            self._send(conn, sent.request, sent.closing, sent.read_timeout)
        except _Died as exc:
            conn.close()
            raise Broken(str(exc)) from None
        except BaseException:
            conn.close()
            raise
        sent.conn, sent.reused = conn, False
        return sent

    def clear(self) -> None:
        """Close every idle connection."""
        with self._lock:
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()

    def _take(self, origin: Origin) -> Connection | None:
        while True:
            with self._lock:
                idle = self._idle.get(origin)
                if not idle:
                    return None
                conn = idle.pop()
            if not conn.dropped():
                return conn
            conn.close()

    def _keep(self, origin: Origin, conn: Connection) -> None:
        evicted: list[Connection] = []
        with self._lock:
            idle = self._idle.pop(origin, None) or []
            if len(idle) < self.per_host:
                idle.append(conn)
            else:
                evicted.append(conn)
            self._idle[origin] = idle
            while len(self._idle) > KEPT_ORIGINS:
                evicted += self._idle.pop(next(iter(self._idle)))
        for old in evicted:
            old.close()

    def _connect(self, origin: Origin, timeout: float) -> Connection:
        """A new connection to a checked address of the host (resolved once: no rebinding between check and use)."""
        scheme, host, port = origin
        kind = "GuardedHTTPSConnection" if scheme == "https" else "GuardedHTTPConnection"  # as the messages said
        where = f"{kind}(host={host!r}, port={port})"
        try:
            sock = self.policy.connect(host, port, timeout)  # raises AddressRefused before any connection
        except socket.gaierror as exc:
            raise ConnectFailed(f"{where}: Failed to resolve '{host}' ({exc})") from None
        except TimeoutError:
            raise ConnectTimedOut(f"Connection to {host} timed out (connect timeout={timeout})") from None
        except OSError as exc:
            raise ConnectFailed(f"{where}: Failed to establish a new connection: {exc}") from None
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if scheme == "https":
                return Connection(self._tls(sock, host))
        except BaseException:
            sock.close()
            raise
        return Connection(sock)  # watched by the deadline once it carries a request

    def _tls(self, sock: socket.socket, host: str) -> ssl.SSLSocket:
        """TLS to the checked address, yet verified for (and SNI naming) the host."""
        context = self.ssl_context or default_tls()
        tls = context.wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
        deadline.watch(tls)  # the handshake too is under the fetch's deadline
        try:
            tls.do_handshake()
        except TimeoutError:
            tls.close()
            raise ConnectTimedOut(f"TLS handshake with {host} timed out") from None
        except ssl.SSLError as exc:
            tls.close()
            raise TlsFailed(str(exc)) from None
        except OSError as exc:
            tls.close()
            raise Broken(str(exc)) from None
        return tls

    def _send(self, conn: Connection, request: bytes, closing: bool, timeout: float) -> None:
        sock = conn.sock
        deadline.watch(sock)  # a kept-alive socket is under this fetch's deadline too
        conn.set_timeout(timeout)
        conn.expect(closing)
        try:
            sock.sendall(request)
        except (TimeoutError, BlockingIOError):
            raise ReadTimedOut("write timed out") from None
        except (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionError) as exc:
            raise _Died(str(exc)) from None
        except ssl.SSLError as exc:
            raise TlsFailed(str(exc)) from None
        except OSError as exc:
            raise _Died(str(exc)) from None

    def _head(self, conn: Connection, origin: Origin) -> Answer:
        sock = conn.sock
        head: list[bytes] = []  # what has arrived: the head, and whatever of the body came with it
        size = 0
        while not conn.head_done:
            try:
                data = _recv(sock)
            except Broken as exc:  # reset, aborted
                if head:
                    raise
                raise _Died(str(exc)) from None
            if not data:
                if head:
                    raise Broken("the answer ended inside its headers")
                raise _Died(CLOSED_SILENTLY)
            head.append(data)
            try:
                conn.feed(data)
            except _ParseFailed as exc:
                raise Broken(_head_error(b"".join(head), exc)) from None
            size += len(data)
            if size > MAX_HEAD and not conn.head_done:  # one endless line: llhttp gathers it before any callback
                raise Broken(HEAD_TOO_BIG)
        return Answer(self, conn, origin)


_TOKEN = re.compile(r"[-!#$%&'*+.^_`|~0-9a-zA-Z]+")
_NOT_IN_VALUE = re.compile(r"[\r\n\0]")
_NAMES: dict[str, str] = {}  # header names already found to be tokens → their lower case


def _request(to: Target, headers: Collection[tuple[str, str]]) -> tuple[bytes, bool]:
    """A GET with our headers (str, sent as Latin-1 as http.client did), and whether it asks to close the connection.

    The Host line comes first: the caller's if it sent one, else ours. Names must be tokens, values free of CR, LF
    and NUL (anything else is refused by _refuse, in the words used before).
    """
    lines = [""]
    closing = False
    for name, value in headers:
        lower = _NAMES.get(name)
        if lower is None:
            if not _TOKEN.fullmatch(name):
                _refuse(headers)
            lower = _NAMES[name] = name.lower()
        if _NOT_IN_VALUE.search(value):
            _refuse(headers)
        if lower == "host":
            lines[0] = f"{name}: {value}\r\n"
            continue
        if lower == "connection" and "close" in value.lower().replace(" ", "").split(","):
            closing = True
        lines.append(f"{name}: {value}\r\n")
    try:
        fields = "".join(lines).encode("latin-1")
    except UnicodeEncodeError:
        _refuse(headers)
    if lines[0]:
        return b"GET %s HTTP/1.1\r\n%s\r\n" % (to.path, fields), closing
    return b"GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (to.path, to.host_header, fields), closing


def _refuse(headers: Collection[tuple[str, str]]) -> NoReturn:
    """The first thing wrong with the headers, as before: a character Latin-1 lacks, then a bad name or value."""
    try:
        fields = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    except UnicodeEncodeError as exc:
        raise InvalidRequest(str(exc)) from None
    for name, value in fields:
        if not _TOKEN.fullmatch(name.decode("latin-1")):
            raise InvalidRequest(f"Invalid header name {name!r}")
        if _NOT_IN_VALUE.search(value.decode("latin-1")):
            raise InvalidRequest(f"Invalid header value {value!r}")
    raise AssertionError("nothing to refuse")
