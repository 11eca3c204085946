"""The browser's only way out: a small HTTP proxy on 127.0.0.1 that checks every request against the policy.

Route interception in Playwright does not see redirect hops or WebSocket tunnels, so Chromium is launched
with this proxy: a redirect to the metadata service is just another request here, and is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

REFUSED_HEADER = "X-Whisperer-Refused"
PAGE_HEADER = "X-Whisperer-Page"  # set on a page's requests (and so on their redirect hops); never forwarded
_HOP_HEADERS = {"proxy-connection", "proxy-authorization", "connection", "keep-alive"}
_HEAD_LIMIT = 64 * 1024


class UrlPolicy(Protocol):
    """The network policy (watchers/network.NetworkPolicy); both raise a FetchError naming the rule and the fix."""

    def check_url(self, url: str) -> None: ...

    def resolve(self, host: str, port: int) -> list[str]:
        """The addresses to connect to, every one checked (so a rebinding name cannot slip through)."""
        ...


async def refusal(policy: UrlPolicy | None, url: str) -> str | None:
    """Why the policy refuses `url`, or None; the check may resolve names, so it runs off the event loop."""
    if policy is None:
        return None
    try:
        await asyncio.get_running_loop().run_in_executor(None, policy.check_url, url)
    except Exception as exc:  # the policy's own error (AddressRefused) or anything it trips on: refuse
        return str(exc) or type(exc).__name__
    return None


@dataclass
class PageTag:
    """What the proxy knows of one page being rendered: its origin, the source's own headers, what it refused."""

    origin: tuple[str, str, int]
    header_names: frozenset[str]
    refused: list[str] = field(default_factory=list)


def origin_of(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or (443 if scheme == "https" else 80)


class PolicingProxy:
    """Plain HTTP is forwarded one request per connection; HTTPS and WebSockets go through checked CONNECT tunnels."""

    def __init__(self, policy: UrlPolicy | None) -> None:
        self.policy = policy
        # What was refused lately, by URL (plain http) or "host:port" (tunnels): a page whose request then fails
        # looks itself up here, since a refused redirect hop or tunnel reaches the page only as a failure.
        self.refused: OrderedDict[str, str] = OrderedDict()
        self.pages: dict[str, PageTag] = {}  # by the PAGE_HEADER value the browser puts on a page's requests
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=_HEAD_LIMIT)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    def reason_for(self, url: str) -> str | None:
        """Why a request to `url` was refused here lately, if it was."""
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme in ("https", "wss") else 80)
        return self.refused.get(url) or self.refused.get(f"{parts.hostname}:{port}")

    def _remember(self, where: str, reason: str) -> None:
        self.refused[where] = reason
        while len(self.refused) > 256:
            self.refused.popitem(last=False)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            await self._forward(head, reader, writer)
        except (OSError, EOFError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _forward(self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, version = request_line.split(" ", 2)
        if method == "CONNECT":
            host, _, port_text = target.rpartition(":")
            url, port = f"https://{target}/", int(port_text)
        else:
            parts = urlsplit(target)
            if parts.scheme != "http" or not parts.hostname:
                await _answer(writer, 400, "only absolute http:// requests are proxied")
                return
            host, port, url = parts.hostname, parts.port or 80, target
        host = host.strip("[]")
        page_id = _header(header_lines, PAGE_HEADER)
        addresses = [host]
        if self.policy is not None:
            try:
                addresses = await asyncio.get_running_loop().run_in_executor(None, self.policy.resolve, host, port)
            except OSError as exc:  # DNS
                await _answer(writer, 502, f"could not resolve {host} ({exc})", refused=False)
                return
            except Exception as exc:  # the policy's refusal
                reason = str(exc) or type(exc).__name__
                self._remember(url if method != "CONNECT" else f"{host}:{port}", reason)
                if (tag := self.pages.get(page_id or "")) is not None:
                    tag.refused.append(f"{url} ({reason})")
                await _answer(writer, 403, reason)
                return
        try:
            # Connect to the address the policy checked, never to a fresh lookup of the name.
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(addresses[0], port), 15)
        except (OSError, TimeoutError) as exc:
            await _answer(writer, 502, f"could not connect to {host}:{port} ({exc})", refused=False)
            return
        try:
            if method == "CONNECT":
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
                await _pipe_both(reader, writer, up_reader, up_writer)
                return
            parts = urlsplit(target)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            tag = self.pages.get(page_id or "")
            drop = set(_HOP_HEADERS) | {PAGE_HEADER.lower()}
            if tag is not None and origin_of(url) != tag.origin:
                drop |= tag.header_names  # a redirect to another origin: the source's own headers stay behind
            kept = [line for line in header_lines if line and line.split(":", 1)[0].strip().lower() not in drop]
            # One request per connection: a reused connection could carry the next request to an unchecked host.
            lines = [f"{method} {path} {version}", *kept, "Connection: close", "", ""]
            up_writer.write("\r\n".join(lines).encode("latin-1"))
            await up_writer.drain()
            response_head = await asyncio.wait_for(up_reader.readuntil(b"\r\n\r\n"), 60)
            status_line, *response_lines = response_head.decode("latin-1").split("\r\n")
            kept = [line for line in response_lines if line and line.split(":", 1)[0].strip().lower() != "connection"]
            writer.write("\r\n".join([status_line, *kept, "Connection: close", "", ""]).encode("latin-1"))
            await _pipe_both(reader, writer, up_reader, up_writer)
        finally:
            up_writer.close()


def _header(lines: list[str], name: str) -> str | None:
    wanted = name.lower()
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip().lower() == wanted:
            return value.strip()
    return None


async def _answer(writer: asyncio.StreamWriter, status: int, reason: str, *, refused: bool = True) -> None:
    body = reason.encode("utf-8", "replace")
    phrase = {400: "Bad Request", 403: "Forbidden", 502: "Bad Gateway"}[status]
    # Header values must be one latin-1 line; the body keeps the full text.
    header = reason.encode("ascii", "replace").decode().replace("\r", " ").replace("\n", " ")[:500]
    extra = f"{REFUSED_HEADER}: {header}\r\n" if refused else ""
    writer.write(
        f"HTTP/1.1 {status} {phrase}\r\n{extra}Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode("latin-1")
        + body
    )
    await writer.drain()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while chunk := await reader.read(65536):
        writer.write(chunk)
        await writer.drain()


async def _pipe_both(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    up_reader: asyncio.StreamReader,
    up_writer: asyncio.StreamWriter,
) -> None:
    """Copy both ways until either side closes, then stop the other."""
    tasks = [
        asyncio.create_task(_pipe(client_reader, up_writer)),
        asyncio.create_task(_pipe(up_reader, client_writer)),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
