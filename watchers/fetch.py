"""The only I/O in watchers: HTTP GETs (conditional, capped, polite) and local file reads."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit

import httpx


def _version() -> str:
    try:
        return metadata.version("huawei-whisperer")
    except metadata.PackageNotFoundError:
        return "0+unknown"


USER_AGENT = f"huawei-whisperer/{_version()} (partner-programme change monitor)"


class FetchError(Exception):
    """A fetch failed; the message says what happened and, where it can, what to do."""


@dataclass(frozen=True)
class FetchSettings:
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    per_host: int = 2
    workers: int = 8


@dataclass(frozen=True)
class Fetched:
    """What the server said: a body (status 200) or "not modified" (304), plus the validators."""

    not_modified: bool
    body: bytes
    content_type: str | None
    etag: str | None
    last_modified: str | None
    url: str


def make_client(settings: FetchSettings) -> httpx.Client:
    """One client for every fetch: connection pooling, timeouts, redirect limit, our User-Agent."""
    timeout = httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout)
    limits = httpx.Limits(max_connections=max(settings.workers * 2, 10), max_keepalive_connections=settings.workers)
    return httpx.Client(
        timeout=timeout,
        limits=limits,
        follow_redirects=True,
        max_redirects=settings.max_redirects,
        headers={"User-Agent": USER_AGENT},
        trust_env=False,
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
    client: httpx.Client,
    url: str,
    *,
    max_bytes: int,
    etag: str | None = None,
    last_modified: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Fetched:
    """GET a URL, echoing the server's own validators back; the body is capped while it streams."""
    request_headers = dict(headers or {})
    # Send back exactly what the server gave us: never our own clock (urlwatch's bug).
    if etag:
        request_headers["If-None-Match"] = etag
    if last_modified:
        request_headers["If-Modified-Since"] = last_modified
    try:
        with client.stream("GET", url, headers=request_headers) as response:
            if response.status_code == 304:
                return Fetched(True, b"", None, etag, last_modified, str(response.url))
            if response.status_code >= 400:
                raise FetchError(_status_message(response.status_code, response.reason_phrase))
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(_too_big(max_bytes, f"server announced {int(declared):,} bytes"))
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError(_too_big(max_bytes, "body kept coming"))
                chunks.append(chunk)
            return Fetched(
                False,
                b"".join(chunks),
                response.headers.get("Content-Type"),
                response.headers.get("ETag"),
                response.headers.get("Last-Modified"),
                str(response.url),
            )
    except httpx.TooManyRedirects:
        raise FetchError(
            "too many redirects (more than 5, probably a loop); open the URL in a browser and use where it lands"
        ) from None
    except httpx.ConnectTimeout:
        raise FetchError("timed out connecting; the host may be down or blocked from here") from None
    except httpx.TimeoutException:
        raise FetchError(
            "timed out waiting for the server; raise [fetch] read_timeout if the page is just slow"
        ) from None
    except httpx.ConnectError as exc:
        raise FetchError(f"could not connect ({_first_line(exc)}); check the URL and the network") from None
    except httpx.InvalidURL as exc:
        raise FetchError(f"invalid URL ({_first_line(exc)})") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"HTTP error: {type(exc).__name__}: {_first_line(exc)}") from None


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
