"""The only I/O in watchers: HTTP GETs (conditional, capped, polite) and local file reads."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit

import urllib3

from watchers.errors import FetchError as FetchError  # defined apart so watchers.network can share it
from watchers.network import NetworkPolicy


def _version() -> str:
    try:
        return metadata.version("huawei-whisperer")
    except metadata.PackageNotFoundError:
        return "0+unknown"


USER_AGENT = f"huawei-whisperer/{_version()} (partner-programme change monitor)"


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


Client = urllib3.PoolManager


def make_client(settings: FetchSettings) -> Client:
    """One pool for every fetch: keep-alive connections (at most `per_host` per host), timeouts, redirects.

    urllib3 rather than httpx: on the warm path (thousands of 304s) its per-request cost is less than half,
    and it strips Cookie/Authorization on cross-host redirects by itself.
    """
    return urllib3.PoolManager(
        num_pools=256,
        maxsize=max(1, settings.per_host),
        block=True,
        timeout=urllib3.Timeout(connect=settings.connect_timeout, read=settings.read_timeout),
        retries=urllib3.Retry(
            total=None,
            connect=0,
            read=0,
            status=0,
            other=0,
            redirect=settings.max_redirects,
            raise_on_redirect=True,
            raise_on_status=False,
        ),
    )


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


def fetch_url(
    client: Client,
    url: str,
    *,
    max_bytes: int,
    etag: str | None = None,
    last_modified: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Fetched:
    """GET a URL, echoing the server's own validators back; the body is capped while it streams."""
    request_headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate", **(headers or {})}
    # Send back exactly what the server gave us: never our own clock (urlwatch's bug).
    if etag:
        request_headers["If-None-Match"] = etag
    if last_modified:
        request_headers["If-Modified-Since"] = last_modified
    try:
        response = client.request("GET", url, headers=request_headers, preload_content=False)
    except urllib3.exceptions.MaxRetryError as exc:
        raise FetchError(_error_message(exc.reason or exc)) from None
    except (urllib3.exceptions.HTTPError, ValueError) as exc:
        raise FetchError(_error_message(exc)) from None
    complete = False
    try:
        final_url = response.geturl() or url
        if response.status == 304:
            complete = True
            return Fetched(True, b"", None, etag, last_modified, final_url)
        if response.status >= 400:
            raise FetchError(_status_message(response.status, response.reason or ""), response.status)
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise FetchError(_too_big(max_bytes, f"server announced {int(declared):,} bytes"))
        chunks, size = [], 0
        for chunk in response.stream(65536, decode_content=True):
            size += len(chunk)
            if size > max_bytes:
                raise FetchError(_too_big(max_bytes, "body kept coming"))
            chunks.append(chunk)
        complete = True
        return Fetched(
            False,
            b"".join(chunks),
            response.headers.get("Content-Type"),
            response.headers.get("ETag"),
            response.headers.get("Last-Modified"),
            final_url,
        )
    except urllib3.exceptions.HTTPError as exc:
        raise FetchError(_error_message(exc)) from None
    finally:
        if not complete:
            response.close()  # an unread body must not go back to the pool
        response.release_conn()


def _error_message(exc: BaseException) -> str:
    errors = urllib3.exceptions
    if isinstance(exc, errors.ResponseError) and "redirect" in str(exc):
        return (
            "too many redirects (more than [fetch] max_redirects allows, probably a loop); "
            "open the URL in a browser and use where it lands"
        )
    if isinstance(exc, errors.NewConnectionError | errors.NameResolutionError):  # before ConnectTimeoutError,
        return f"could not connect ({_first_line(exc)}); check the URL and the network"  # its base class
    if isinstance(exc, errors.ConnectTimeoutError):
        return "timed out connecting; the host may be down or blocked from here"
    if isinstance(exc, (errors.ReadTimeoutError, errors.TimeoutError)):
        return "timed out waiting for the server; raise [fetch] read_timeout if the page is just slow"
    if isinstance(exc, errors.ProtocolError):
        return f"connection broken mid-answer ({_first_line(exc)}); it will be retried on the next poll"
    if isinstance(exc, (errors.LocationValueError, errors.LocationParseError, ValueError)):
        return f"invalid URL ({_first_line(exc)})"
    if isinstance(exc, errors.DecodeError):
        return f"the server's compressed body is corrupt ({_first_line(exc)})"
    return f"HTTP error: {type(exc).__name__}: {_first_line(exc)}"


def read_file(path: str, max_bytes: int) -> Fetched:
    """Read a saved page or export from disk, with the same size cap as the network."""
    file = Path(path).expanduser()
    try:
        size = file.stat().st_size
        if size > max_bytes:
            raise FetchError(_too_big(max_bytes, f"file is {size:,} bytes"))
        body = file.read_bytes()
    except FileNotFoundError:
        raise FetchError(f"file not found: {path}; save the page there or fix the source's url") from None
    except IsADirectoryError:
        raise FetchError(f"{path} is a directory; point the source at one file") from None
    except PermissionError:
        raise FetchError(f"permission denied reading {path}") from None
    return Fetched(False, body, None, None, None, str(file))


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
