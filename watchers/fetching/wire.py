"""HTTP/1.1 GETs framed by h11 on sockets we open ourselves: the client of every fetch in a poll pass.

Why not urllib3: on the warm pass every page answers 304, and urllib3 spent ~300 µs of Python per request (http.client
alone ~210 µs) under the GIL, where the loopback round trip itself costs ~100 µs. h11 keeps the framing right
(Content-Length, chunked, read-to-close, keep-alive and HTTP/1.0 rules); this module does the rest: the network
policy at every connect, TLS, the fetch deadline's watch on every socket, and keep-alive reuse per origin.
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
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import urlsplit

import h11

from watchers.fetching import deadline
from watchers.fetching.network import NetworkPolicy

Origin = tuple[str, str, int]  # scheme, host as connected to (IDNA, no brackets, no trailing dot), port

DEFAULT_PORTS = {"http": 80, "https": 443}
KEPT_ORIGINS = 256  # origins whose idle connections are kept; the least recently used beyond are closed
MAX_HEAD = 1 << 20  # bytes of response head (http.client allowed 100 lines of 64 KiB)
READ_SIZE = 65536
CLOSED_SILENTLY = "the server closed the connection without answering"
STOPPED_SHORT = "the body stopped short"


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


class Connection:
    """A socket and its h11 state.

    A plain socket is left blocking, its timeouts kept by the kernel (SO_RCVTIMEO/SO_SNDTIMEO): one system call per
    send or receive instead of poll() and then the call, each of which releases the interpreter lock for the other
    fetch thread to take. TLS sockets keep Python's timeouts.
    """

    __slots__ = ("plain", "protocol", "sock", "timeout")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.plain = not isinstance(sock, ssl.SSLSocket)
        self.protocol = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
        self.timeout = -1.0
        if self.plain:
            sock.settimeout(None)

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


_END = h11.EndOfMessage()


class Answer:
    """A response whose head has arrived. Read the body with chunks(), then release() it, or close() it unread."""

    __slots__ = ("_conn", "_done", "_headers", "_origin", "_pool", "_received", "reason", "status")

    def __init__(self, pool: Pool, conn: Connection, origin: Origin, response: h11.Response) -> None:
        self._pool = pool
        self._conn: Connection | None = conn
        self._origin = origin
        self.status = response.status_code
        self.reason = response.reason.decode("latin-1")
        headers: dict[bytes, bytes] = {}
        for raw, value in response.headers.raw_items():  # a list: iterating the Headers sequence costs more
            name = raw.lower()
            headers[name] = headers[name] + b", " + value if name in headers else value
        self._headers = headers
        self._done = False
        self._received = 0

    def header(self, name: bytes) -> str | None:
        """A header by its lower-case name; repeated headers joined with ", " (as urllib3 did)."""
        value = self._headers.get(name)
        return None if value is None else value.decode("latin-1")

    def chunks(self) -> Iterator[bytes]:
        """The body as it arrives, undecoded; raises Broken if it stops short of its framing's end."""
        conn = self._conn
        assert conn is not None, "the answer was already released"
        protocol, sock = conn.protocol, conn.sock
        while True:
            try:
                event = protocol.next_event()
            except h11.RemoteProtocolError as exc:
                raise Broken(self._cut(str(exc))) from None
            if event is h11.NEED_DATA:
                protocol.receive_data(_recv(sock))  # b"" at the end: a read-to-close body ends, any other is cut
            elif type(event) is h11.Data:
                self._received += len(event.data)
                yield event.data
            elif type(event) is h11.EndOfMessage:
                self._done = True
                return
            else:  # ConnectionClosed, after a read-to-close body's end
                return

    def _cut(self, detail: str) -> str:
        """What h11 found wrong in the body, said as before: how much was read and how much was promised."""
        if b"transfer-encoding" in self._headers:
            return STOPPED_SHORT
        declared = self._headers.get(b"content-length")
        if declared is not None and declared.isdigit():
            expected = int(declared)
            return f"{STOPPED_SHORT}: {self._received:,} bytes read, {expected - self._received:,} more expected"
        return detail or STOPPED_SHORT

    def release(self) -> None:
        """Back to the pool if the answer was read to its end and the connection may carry another; else closed."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if not self._done:  # an answer without a body (304, 204) ends with its head: h11 says so without I/O
            try:
                self._done = type(conn.protocol.next_event()) is h11.EndOfMessage
            except h11.ProtocolError:
                self._done = False
        if self._done:
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
        self, to: Target, headers: Iterable[tuple[str, str]], connect_timeout: float, read_timeout: float
    ) -> Answer:
        """Send a GET and wait for the head of its answer; the body is the Answer's to read.

        A kept-alive connection that dies before any byte of the answer is retried once on a fresh one (a GET is
        idempotent; the server closed it while idle); a fresh connection's failure is never retried.
        """
        request = _request(to, headers)
        conn = self._take(to.origin)
        if conn is not None:
            try:
                return self._exchange(conn, to.origin, request, read_timeout)
            except _Died:
                conn.close()
                if deadline.expired():
                    raise Broken(CLOSED_SILENTLY) from None
            except BaseException:
                conn.close()
                raise
        conn = self._connect(to.origin, connect_timeout)
        try:
            return self._exchange(conn, to.origin, request, read_timeout)
        except _Died as exc:
            conn.close()
            raise Broken(str(exc)) from None
        except BaseException:
            conn.close()
            raise

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
        protocol = conn.protocol
        if protocol.our_state is not h11.DONE or protocol.their_state is not h11.DONE or protocol.trailing_data[0]:
            conn.close()  # Connection: close, HTTP/1.0, or bytes after the answer that nobody asked for
            return
        protocol.start_next_cycle()
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
            addresses = self.policy.resolve(host, port)  # raises AddressRefused before any connection
        except socket.gaierror as exc:
            raise ConnectFailed(f"{where}: Failed to resolve '{host}' ({exc})") from None
        failure: OSError | None = None
        for address in addresses:
            try:
                sock = socket.create_connection((address, port), timeout)
            except TimeoutError:
                raise ConnectTimedOut(f"Connection to {host} timed out (connect timeout={timeout})") from None
            except OSError as exc:
                failure = exc
                continue
            break
        else:
            raise ConnectFailed(f"{where}: Failed to establish a new connection: {failure}")
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

    def _exchange(self, conn: Connection, origin: Origin, request: h11.Request, timeout: float) -> Answer:
        sock, protocol = conn.sock, conn.protocol
        deadline.watch(sock)  # a kept-alive socket is under this fetch's deadline too
        conn.set_timeout(timeout)
        data = (protocol.send(request) or b"") + (protocol.send(_END) or b"")
        try:
            sock.sendall(data)
        except (TimeoutError, BlockingIOError):
            raise ReadTimedOut("write timed out") from None
        except (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionError) as exc:
            raise _Died(str(exc)) from None
        except ssl.SSLError as exc:
            raise TlsFailed(str(exc)) from None
        except OSError as exc:
            raise _Died(str(exc)) from None
        started = False  # any byte of the answer yet
        while True:
            try:
                event = protocol.next_event()
            except h11.RemoteProtocolError as exc:
                raise Broken(str(exc)) from None
            if event is h11.NEED_DATA:
                try:
                    data = _recv(sock)
                except Broken as exc:  # reset, aborted
                    if started:
                        raise
                    raise _Died(str(exc)) from None
                if not data:
                    if started:
                        raise Broken("the answer ended inside its headers")
                    raise _Died(CLOSED_SILENTLY)
                started = True
                protocol.receive_data(data)
            elif type(event) is h11.Response:
                return Answer(self, conn, origin, event)
            elif type(event) is not h11.InformationalResponse:  # 100 Continue and the like: the answer follows
                raise Broken(f"unexpected {type(event).__name__} before the answer")


def _request(to: Target, headers: Iterable[tuple[str, str]]) -> h11.Request:
    """A GET with our headers (str, sent as Latin-1 as http.client did); the caller's Host header wins."""
    fields = [(b"Host", to.host_header)]
    ours = True
    try:
        for name, value in headers:
            if ours and name.lower() == "host":
                del fields[0]  # the source sets its own
                ours = False
            fields.append((name.encode("latin-1"), value.encode("latin-1")))
        return h11.Request(method=b"GET", target=to.path, headers=fields)
    except (UnicodeEncodeError, h11.LocalProtocolError) as exc:
        raise InvalidRequest(str(exc).replace("Illegal header", "Invalid header", 1)) from None
