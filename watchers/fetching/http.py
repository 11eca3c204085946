"""The only I/O in watchers: HTTP GETs (conditional, capped, polite) and local file reads."""

from __future__ import annotations

import http.client
import os
import stat
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import urllib3

from watchers.fetching.deadline import Deadline, end_deadline, start_deadline
from watchers.fetching.errors import FetchError as FetchError  # defined apart so watchers.fetching.network can share it
from watchers.fetching.guarded import guarded_pools
from watchers.fetching.network import AddressRefused, NetworkPolicy
from watchers.reading.inflate import Inflater


def _version() -> str:
    try:
        return metadata.version("huawei-whisperer")
    except metadata.PackageNotFoundError:
        return "0+unknown"


@lru_cache(maxsize=1)
def user_agent() -> str:
    """Looked up at the first fetch, not at import: reading the installed version's metadata takes tens of ms."""
    return f"huawei-whisperer/{_version()} (partner-programme change monitor)"


@dataclass(frozen=True)
class FetchSettings:
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    per_host: int = 2
    workers: int = 8
    total_timeout: float = 60.0  # one fetch, every redirect hop, connect to last byte
    network: NetworkPolicy = field(default_factory=NetworkPolicy)  # public addresses only, plus [fetch] allow_private


@dataclass(frozen=True)
class Fetched:
    """What the server said: a body (status 200) or "not modified" (304), plus the validators."""

    not_modified: bool
    body: bytes
    content_type: str | None
    etag: str | None
    last_modified: str | None
    url: str
    warning: str | None = None  # something the fetch noticed (a browser page's blocked requests)


class Client(urllib3.PoolManager):
    """One pool for every fetch, whose connections go only where `settings.network` allows."""

    def __init__(self, settings: FetchSettings) -> None:
        super().__init__(
            num_pools=256,
            maxsize=max(1, settings.per_host),
            block=True,
            timeout=urllib3.Timeout(connect=settings.connect_timeout, read=settings.read_timeout),
            retries=False,  # a failed fetch is retried by the next poll; redirects are followed by fetch_url
        )
        self.settings = settings
        self.pool_classes_by_scheme = guarded_pools(settings.network)
        self._timeout = urllib3.Timeout(connect=settings.connect_timeout, read=settings.read_timeout)
        self._longest = max(settings.connect_timeout, settings.read_timeout)

    def timeout_within(self, remaining: float) -> urllib3.Timeout:
        """The configured timeouts, shortened to what is left of the fetch's total_timeout."""
        if remaining >= self._longest:
            return self._timeout
        s = self.settings
        return urllib3.Timeout(connect=min(s.connect_timeout, remaining), read=min(s.read_timeout, remaining))


def make_client(settings: FetchSettings) -> Client:
    """Keep-alive connections (at most `per_host` per host), timeouts, and the network policy.

    urllib3 rather than httpx: on the warm path (thousands of 304s) its per-request cost is less than half.
    """
    return Client(settings)


class HostLimiter:
    """At most `per_host` requests in flight to any one host, shared by every poll in the process."""

    def __init__(self, per_host: int) -> None:
        self._per_host = max(1, per_host)
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}

    @contextmanager
    def slot(self, url: str) -> Iterator[None]:
        host = urlsplit(url).netloc.lower()
        with self._lock:
            semaphore = self._slots.setdefault(host, threading.BoundedSemaphore(self._per_host))
        with semaphore:
            yield


REDIRECTS = (301, 302, 303, 307, 308)
_NO_RETRIES = urllib3.Retry(total=False, redirect=False)  # the next poll retries; fetch_url follows redirects


def fetch_url(
    client: Client,
    url: str,
    *,
    max_bytes: int,
    etag: str | None = None,
    last_modified: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Fetched:
    """GET a URL under the network policy and total_timeout, echoing the server's own validators back.

    Redirects are followed here, each hop checked before connecting; the source's own headers (cookies,
    tokens) go only to the origin of its URL. The body must arrive whole and is capped while it streams.
    """
    settings = client.settings
    limit = start_deadline(settings.total_timeout)
    try:
        return _follow(client, url, limit, max_bytes, etag, last_modified, headers or {})
    except AddressRefused:
        raise
    except Exception as exc:
        if limit.expired or limit.remaining() <= 0:
            raise FetchError(_past_deadline(settings.total_timeout)) from None
        if isinstance(exc, FetchError):
            raise
        if isinstance(exc, (urllib3.exceptions.HTTPError, ValueError)):
            raise FetchError(_error_message(exc)) from None
        raise
    finally:
        end_deadline(limit)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(scheme)


def _follow(
    client: Client,
    url: str,
    limit: Deadline,
    max_bytes: int,
    etag: str | None,
    last_modified: str | None,
    headers: Mapping[str, str],
) -> Fetched:
    settings = client.settings
    current = url
    for hop in range(settings.max_redirects + 1):
        # Scheme and host spelling before connecting; the addresses are checked by the connection itself (a kept-
        # alive one was checked when it opened), so the source's own http(s) URL needs no second look here.
        if hop or not current.startswith(("http://", "https://")):
            settings.network.check_target(current)
        sent = {"User-Agent": user_agent(), "Accept-Encoding": "gzip, deflate"}
        if not hop or _origin(current) == _origin(url):
            sent.update(headers)  # cookies and tokens are for the source's own origin only
        # Send back exactly what the server gave us: never our own clock (urlwatch's bug).
        if etag:
            sent["If-None-Match"] = etag
        if last_modified:
            sent["If-Modified-Since"] = last_modified
        remaining = limit.remaining()
        if remaining <= 0:
            raise FetchError(_past_deadline(settings.total_timeout))
        timeout = client.timeout_within(remaining)
        response = client.request(
            "GET", current, headers=sent, preload_content=False, redirect=False, retries=_NO_RETRIES, timeout=timeout
        )
        location = response.headers.get("Location") if response.status in REDIRECTS else None
        if not location:
            return _read(response, current, limit, max_bytes, etag, last_modified)
        response.close()  # a redirect's body is not worth reading, nor its connection worth keeping
        response.release_conn()
        current = urljoin(current, location.strip())
    raise FetchError(
        "too many redirects (more than [fetch] max_redirects allows, probably a loop); "
        "open the URL in a browser and use where it lands"
    )


def _read(
    response: urllib3.BaseHTTPResponse,
    url: str,
    limit: Deadline,
    max_bytes: int,
    etag: str | None,
    last_modified: str | None,
) -> Fetched:
    complete = False
    try:
        if response.status == 304:
            complete = True
            return Fetched(True, b"", None, etag, last_modified, url)
        if response.status >= 400:
            raise FetchError(_status_message(response.status, response.reason or ""), response.status)
        if response.status in REDIRECTS:
            raise FetchError(f"HTTP {response.status} redirect without a Location header; check the URL")
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise FetchError(_too_big(max_bytes, f"server announced {int(declared):,} bytes"))
        inflater = Inflater(response.headers.get("Content-Encoding"))
        chunks, size = [], 0
        # Undecoded: urllib3 would accept a truncated gzip stream; Inflater insists on its end.
        for chunk in response.stream(65536, decode_content=False):
            data = inflater.feed(chunk, max_bytes - size)
            size += len(data)
            if size > max_bytes:
                raise FetchError(_too_big(max_bytes, "body kept coming"))
            chunks.append(data)
        inflater.finish()
        if limit.expired:  # a body read until the connection closed looks whole when the deadline closed it
            raise FetchError(_past_deadline(limit.seconds))
        complete = True
        return Fetched(
            False,
            b"".join(chunks),
            response.headers.get("Content-Type"),
            response.headers.get("ETag"),
            response.headers.get("Last-Modified"),
            url,
        )
    finally:
        if not complete:
            response.close()  # an unread body must not go back to the pool
        response.release_conn()


def _past_deadline(seconds: float) -> str:
    return (
        f"gave up after [fetch] total_timeout ({seconds:g} s) for the whole fetch (connect, headers, body, "
        "redirects); the server may be dripping the page; raise total_timeout in whisperer.toml if it is just slow"
    )


def _error_message(exc: BaseException) -> str:
    errors = urllib3.exceptions
    if isinstance(exc, errors.NewConnectionError | errors.NameResolutionError):  # before ConnectTimeoutError,
        return f"could not connect ({_first_line(exc)}); check the URL and the network"  # its base class
    if isinstance(exc, errors.SSLError):
        return f"TLS failed ({_first_line(exc)}); the server's certificate is not valid for this host or not trusted"
    if isinstance(exc, errors.ConnectTimeoutError):
        return "timed out connecting; the host may be down or blocked from here"
    if isinstance(exc, (errors.ReadTimeoutError, errors.TimeoutError)):
        return "timed out waiting for the server; raise [fetch] read_timeout if the page is just slow"
    if isinstance(exc, errors.ProtocolError):
        return f"connection broken mid-answer ({_broken(exc)}); nothing was stored, it will be retried on the next poll"
    if isinstance(exc, (errors.LocationValueError, errors.LocationParseError, ValueError)):
        return f"invalid URL ({_first_line(exc)})"
    if isinstance(exc, errors.DecodeError):
        return f"the server's compressed body is corrupt ({_first_line(exc)})"
    return f"HTTP error: {type(exc).__name__}: {_first_line(exc)}"


def _broken(exc: BaseException) -> str:
    """What a ProtocolError wraps, said plainly: a short body, a cut in the headers, a silent close."""
    inner = next((a for a in exc.args if isinstance(a, BaseException)), exc)
    if isinstance(inner, urllib3.exceptions.IncompleteRead):
        return f"the body stopped short: {inner.partial:,} bytes read, {inner.expected:,} more expected"
    if isinstance(inner, http.client.IncompleteRead):
        return "the body stopped short"
    if isinstance(inner, urllib3.exceptions.InvalidChunkLength):
        return "the chunked body broke off"
    if isinstance(inner, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    return _first_line(inner)


_NOT_REGULAR = (
    (stat.S_ISDIR, "a directory; point the source at one file"),
    (stat.S_ISFIFO, "a named pipe (FIFO), not a file; reading it could wait forever"),
    (stat.S_ISCHR, "a device, not a file (a device like /dev/zero never ends)"),
    (stat.S_ISBLK, "a block device, not a file"),
    (stat.S_ISSOCK, "a socket, not a file"),
)


def _not_regular(path: str, mode: int) -> FetchError:
    what = next((text for test, text in _NOT_REGULAR if test(mode)), "not a regular file")
    return FetchError(f"{path} is {what}; a file source must be a regular file")


def read_file(path: str, max_bytes: int) -> Fetched:
    """Read a saved page or export from disk: a regular file only, at most max_bytes whatever its size says."""
    file = Path(path).expanduser()
    try:
        mode = os.stat(file).st_mode
        if not stat.S_ISREG(mode):  # checked before opening: opening a FIFO to read blocks until a writer comes
            raise _not_regular(path, mode)
        # O_NONBLOCK: should a FIFO replace the file between stat and open, the open still returns at once.
        fd = os.open(file, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise FetchError(f"file not found: {path}; save the page there or fix the source's url") from None
    except PermissionError:
        raise FetchError(f"permission denied reading {path}") from None
    except OSError as exc:
        raise FetchError(f"cannot open {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb", buffering=0) as handle:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            raise _not_regular(path, opened.st_mode)
        if opened.st_size > max_bytes:
            raise FetchError(_too_big(max_bytes, f"file is {opened.st_size:,} bytes"))
        chunks, size = [], 0
        while size <= max_bytes:  # st_size can lie (a growing file, /proc): the cap is on what is read
            chunk = handle.read(min(1 << 20, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > max_bytes:
            raise FetchError(_too_big(max_bytes, "the file kept growing while it was read"))
    return Fetched(False, b"".join(chunks), None, None, None, str(file))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _status_message(code: int, reason: str) -> str:
    hint = {
        401: "the portal wants a login: refresh the cookie in the source's headers",
        403: "the portal refused us: the login cookie may have expired",
        404: "the page is gone or moved: find its new address",
        429: "the server asks us to slow down: raise the source's 'every'",
    }.get(code, "the server failed; it will be retried on the next poll" if code >= 500 else "check the URL")
    return f"HTTP {code} {reason}: {hint}"


def _too_big(max_bytes: int, detail: str) -> str:
    return f"page larger than the {max_bytes:,}-byte cap ({detail}); raise [fetch] max_bytes or add a selector"
