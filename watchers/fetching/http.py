"""The only I/O in watchers: HTTP GETs (conditional, capped, polite) and local file reads."""

from __future__ import annotations

import os
import queue
import re
import stat
import threading
from collections import deque
from collections.abc import Generator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from watchers import __version__
from watchers.fetching import deadline, wire
from watchers.fetching.deadline import Deadline, end_deadline, start_deadline
from watchers.fetching.errors import FetchError as FetchError  # defined apart so watchers.fetching.network can share it
from watchers.fetching.network import AddressRefused, NetworkPolicy
from watchers.reading.inflate import Inflater


def user_agent() -> str:
    """The release from the package itself: reading the installed metadata (importlib.metadata) costs ~12 ms."""
    return _USER_AGENT


_USER_AGENT = f"huawei-whisperer/{__version__} (partner-programme change monitor)"


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


class Client(wire.Pool):
    """Every fetch's kept-alive connections, which go only where `settings.network` allows.

    `ssl_context` (None: the system's trusted CAs) may be set before the first https fetch, as tests do.
    """

    def __init__(self, settings: FetchSettings) -> None:
        super().__init__(settings.network, settings.per_host)
        self.settings = settings
        self._timeouts = (settings.connect_timeout, settings.read_timeout)
        self._longest = max(settings.connect_timeout, settings.read_timeout)

    def timeout_within(self, remaining: float) -> tuple[float, float]:
        """The configured (connect, read) timeouts, shortened to what is left of the fetch's total_timeout."""
        if remaining >= self._longest:
            return self._timeouts
        s = self.settings
        return min(s.connect_timeout, remaining), min(s.read_timeout, remaining)


def make_client(settings: FetchSettings) -> Client:
    """Keep-alive connections (at most `per_host` idle per origin), timeouts, and the network policy.

    Our own client (watchers.fetching.wire, answers parsed by llhttp) rather than urllib3: a fifth of its per-request
    cost on the warm path.
    """
    return Client(settings)


_NETLOC = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)")


def host_key(url: str) -> str:
    """Which host a URL's requests count against: its netloc, lowercased, as urlsplit reads it (a fifth of the cost
    for the usual scheme://host/path; urlsplit for anything else)."""
    match = _NETLOC.match(url)
    return match.group(1).lower() if match else urlsplit(url).netloc.lower()


class HostLimiter:
    """At most `per_host` requests in flight to any one host, shared by every poll in the process."""

    def __init__(self, per_host: int) -> None:
        self._per_host = max(1, per_host)
        self._lock = threading.Lock()
        self._slots: dict[str, _Slots] = {}

    def slot(self, url: str) -> AbstractContextManager[None]:
        """One of the URL's host's slots, held for a `with` block."""
        return self.slots(url)

    def slots(self, url: str) -> _Slots:
        host = host_key(url)
        slots = self._slots.get(host)
        if slots is None:
            with self._lock:
                slots = self._slots.setdefault(host, _Slots(self._per_host))
        return slots


class _Slots:
    """One host's slots as tokens in a queue: taken and given back in C, where a threading.BoundedSemaphore runs
    Python code under the interpreter lock on every request (a few µs each, twice per fetch, on the warm pass)."""

    def __init__(self, count: int) -> None:
        self._tokens: queue.SimpleQueue[None] = queue.SimpleQueue()
        for _ in range(count):
            self._tokens.put(None)

    def __enter__(self) -> None:
        self._tokens.get()

    def __exit__(self, *exc: object) -> None:
        self._tokens.put(None)

    def acquire(self, blocking: bool = True) -> bool:
        """Take a slot; without `blocking`, only if one is free now."""
        if blocking:
            self._tokens.get()
            return True
        try:
            self._tokens.get_nowait()
        except queue.Empty:
            return False
        return True

    def release(self) -> None:
        self._tokens.put(None)


REDIRECTS = (301, 302, 303, 307, 308)


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
    limit = start_deadline(client.settings.total_timeout)
    try:
        steps = _steps(client, url, limit, max_bytes, etag, last_modified, headers or {})
        while True:  # both halves at once: the request, then its answer
            try:
                next(steps)
            except StopIteration as done:
                fetched: Fetched = done.value
                return fetched
    finally:
        end_deadline(limit)


@dataclass(frozen=True)
class Request:
    """One GET for fetch_lanes: what fetch_url takes."""

    url: str
    max_bytes: int
    etag: str | None = None
    last_modified: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


def fetch_lanes(
    client: Client, limiter: HostLimiter, requests: Sequence[Request], lanes: int
) -> list[Fetched | Exception]:
    """fetch_url for each request, with up to `lanes` of them waiting for their answers at once on this one thread
    (each on its own connection, each within the host's per_host slots); results in the order of the requests, an
    Exception where fetch_url would have raised one.

    Threads waiting on blocking reads hand the interpreter lock to each other and sleep at every answer (on a quick
    server, two threads fetch no faster than one); here the next request is already out while one answer is read,
    so the answer that is waited for next has usually arrived. A request is only sent once it holds a slot, and
    this thread blocks for a slot only while it has nothing in flight, so threads sharing a host never deadlock.
    """
    results: list[Fetched | Exception | None] = [None] * len(requests)
    flying: deque[_Flight] = deque()

    def land(flight: _Flight) -> None:
        results[flight.index] = flight.finish()

    for index, request in enumerate(requests):
        slots = limiter.slots(request.url)
        while not slots.acquire(blocking=not flying):
            land(flying.popleft())
        flight = _Flight(index, client, request, slots)
        if flight.start():
            flying.append(flight)
            if len(flying) >= max(1, lanes):
                land(flying.popleft())
        else:
            results[index] = flight.result
    while flying:
        land(flying.popleft())
    return [r if r is not None else FetchError("not fetched") for r in results]


class _Flight:
    """One request of fetch_lanes: its steps, its deadline and its host slot."""

    def __init__(self, index: int, client: Client, request: Request, slots: _Slots) -> None:
        self.index = index
        self.slots = slots
        self.limit = deadline.begin(client.settings.total_timeout)
        self.steps = _steps(
            client, request.url, self.limit, request.max_bytes, request.etag, request.last_modified, request.headers
        )
        self.result: Fetched | Exception | None = None

    def start(self) -> bool:
        """Send the request; False when the fetch already ended (its result is set). While the request waits for
        this thread to read its answer, its deadline is paused: a slow server in another lane costs it nothing."""
        if not self._step():
            return False
        self.limit.pause()
        return True

    def finish(self) -> Fetched | Exception:
        self.limit.resume()
        while self._step():
            pass
        assert self.result is not None
        return self.result

    def _step(self) -> bool:
        previous = deadline.switch(self.limit)
        try:
            next(self.steps)
            return True
        except StopIteration as done:
            self.result = done.value
        except Exception as exc:
            self.result = exc
        finally:
            deadline.switch(previous)
        self.limit.finish()
        self.slots.release()
        return False


def _steps(
    client: Client,
    url: str,
    limit: Deadline,
    max_bytes: int,
    etag: str | None,
    last_modified: str | None,
    headers: Mapping[str, str],
) -> Generator[None, None, Fetched]:
    """fetch_url's work as steps: the first ends once the request is written, the last returns what was fetched;
    a failure is worded for people here (the deadline's, the wire's), whichever step it comes in."""
    try:
        return (yield from _follow(client, url, limit, max_bytes, etag, last_modified, headers))
    except AddressRefused:
        raise
    except Exception as exc:
        if limit.expired or limit.remaining() <= 0:
            raise FetchError(_past_deadline(client.settings.total_timeout)) from None
        if isinstance(exc, FetchError):
            raise
        if isinstance(exc, (wire.WireError, ValueError)):
            raise FetchError(_error_message(exc)) from None
        raise


def _follow(
    client: Client,
    url: str,
    limit: Deadline,
    max_bytes: int,
    etag: str | None,
    last_modified: str | None,
    headers: Mapping[str, str],
) -> Generator[None, None, Fetched]:
    """Yields once, after the first request is written and before its answer is waited for."""
    settings = client.settings
    current = url
    origin: wire.Origin | None = None
    for hop in range(settings.max_redirects + 1):
        # Scheme and host spelling before connecting; the addresses are checked by the connection itself (a kept-
        # alive one was checked when it opened), so the source's own http(s) URL needs no second look here.
        if hop or not current.startswith(("http://", "https://")):
            settings.network.check_target(current)
        to = wire.target(current)
        sent = {"User-Agent": user_agent(), "Accept-Encoding": "gzip, deflate"}
        if origin is None or to.origin == origin:
            origin = to.origin
            sent.update(headers)  # cookies and tokens are for the source's own origin only
        # Send back exactly what the server gave us: never our own clock (urlwatch's bug).
        if etag:
            sent["If-None-Match"] = etag
        if last_modified:
            sent["If-Modified-Since"] = last_modified
        remaining = limit.remaining()
        if remaining <= 0:
            raise FetchError(_past_deadline(settings.total_timeout))
        request = client.send(to, sent.items(), *client.timeout_within(remaining))
        if not hop:
            yield
        answer = client.receive(request)
        location = answer.header(b"location") if answer.status in REDIRECTS else None
        if not location:
            return _read(answer, current, limit, max_bytes, etag, last_modified)
        answer.close()  # a redirect's body is not worth reading, nor its connection worth keeping
        current = urljoin(current, location.strip())
    raise FetchError(
        "too many redirects (more than [fetch] max_redirects allows, probably a loop); "
        "open the URL in a browser and use where it lands"
    )


def _read(
    answer: wire.Answer,
    url: str,
    limit: Deadline,
    max_bytes: int,
    etag: str | None,
    last_modified: str | None,
) -> Fetched:
    complete = False
    try:
        if answer.status == 304:
            complete = True
            return Fetched(True, b"", None, etag, last_modified, url)
        if answer.status >= 400:
            raise FetchError(_status_message(answer.status, answer.reason), answer.status)
        if answer.status in REDIRECTS:
            raise FetchError(f"HTTP {answer.status} redirect without a Location header; check the URL")
        declared = answer.header(b"content-length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise FetchError(_too_big(max_bytes, f"server announced {int(declared):,} bytes"))
        inflater = Inflater(answer.header(b"content-encoding"))
        chunks, size = [], 0
        # Undecoded: Inflater insists on a compressed stream's end (a truncated gzip body is an error).
        for chunk in answer.chunks():
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
            answer.header(b"content-type"),
            answer.header(b"etag"),
            answer.header(b"last-modified"),
            url,
        )
    finally:
        if complete:
            answer.release()  # read to its end: the connection may carry the next request
        else:
            answer.close()  # an unread body must not go back to the pool


def _past_deadline(seconds: float) -> str:
    return (
        f"gave up after [fetch] total_timeout ({seconds:g} s) for the whole fetch (connect, headers, body, "
        "redirects); the server may be dripping the page; raise total_timeout in whisperer.toml if it is just slow"
    )


def _error_message(exc: BaseException) -> str:
    if isinstance(exc, wire.ConnectFailed):
        return f"could not connect ({_first_line(exc)}); check the URL and the network"
    if isinstance(exc, wire.TlsFailed):
        return f"TLS failed ({_first_line(exc)}); the server's certificate is not valid for this host or not trusted"
    if isinstance(exc, wire.ConnectTimedOut):
        return "timed out connecting; the host may be down or blocked from here"
    if isinstance(exc, wire.ReadTimedOut):
        return "timed out waiting for the server; raise [fetch] read_timeout if the page is just slow"
    if isinstance(exc, wire.Broken):
        detail = _first_line(exc)
        return f"connection broken mid-answer ({detail}); nothing was stored, it will be retried on the next poll"
    if isinstance(exc, (wire.InvalidRequest, ValueError)):
        return f"invalid URL ({_first_line(exc)})"
    return f"HTTP error: {type(exc).__name__}: {_first_line(exc)}"


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
