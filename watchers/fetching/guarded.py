"""urllib3 connections that connect only to addresses the network policy allows (the summary endpoint's; pages
are fetched by watchers.fetching.wire, which applies the same policy the same way).

The name is resolved here, every address checked, and the socket opened to a checked address: a DNS answer
cannot change between the check and the connect (rebinding). TLS still verifies and sends SNI for the host name.
"""

from __future__ import annotations

import http.client
import socket
from typing import Any, ClassVar, cast

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.response import HTTPResponse

from watchers.fetching import deadline
from watchers.fetching.network import NetworkPolicy


def _open(conn: HTTPConnection, policy: NetworkPolicy) -> socket.socket:
    host = conn.host  # brackets and a trailing dot already gone
    timeout = conn.timeout if isinstance(conn.timeout, (int, float)) else None  # urllib3's "default" sentinel: none
    try:
        sock = policy.connect(host, conn.port or 80, timeout)  # raises AddressRefused before any connection
    except socket.gaierror as exc:
        raise NameResolutionError(host, conn, exc) from exc
    except TimeoutError as exc:
        raise ConnectTimeoutError(conn, f"Connection to {host} timed out (connect timeout={conn.timeout})") from exc
    except OSError as exc:
        raise NewConnectionError(conn, f"Failed to establish a new connection: {exc}") from exc
    for option in conn.socket_options or ():  # urllib3's own (TCP_NODELAY)
        sock.setsockopt(*option)
    deadline.watch(sock)
    return sock


class HeadersCut(http.client.HTTPException):
    """The connection closed inside the response headers (http.client takes that for their end)."""


class _LastLine:
    """The response's file, remembering the last line read: the headers must end with a blank one."""

    def __init__(self, fp: Any) -> None:
        self._fp = fp
        self.last = b""

    def readline(self, limit: int = -1) -> bytes:
        line: bytes = self._fp.readline(limit)
        self.last = line
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fp, name)


class WholeHeadersResponse(http.client.HTTPResponse):
    def begin(self) -> None:
        if self.headers is not None:
            return
        real, probe = self.fp, _LastLine(self.fp)
        self.fp = probe
        try:
            super().begin()
        finally:
            self.fp = real
        if probe.last not in (b"\r\n", b"\n"):
            raise HeadersCut("the answer ended inside its headers")


class GuardedHTTPConnection(HTTPConnection):
    policy: ClassVar[NetworkPolicy] = NetworkPolicy()
    response_class = WholeHeadersResponse

    def _new_conn(self) -> socket.socket:
        return _open(self, self.policy)

    def getresponse(self) -> HTTPResponse:  # type: ignore[override]
        deadline.watch(self.sock)  # a kept-alive socket is under this fetch's deadline too
        return super().getresponse()


class GuardedHTTPSConnection(HTTPSConnection):
    policy: ClassVar[NetworkPolicy] = NetworkPolicy()
    response_class = WholeHeadersResponse

    def _new_conn(self) -> socket.socket:
        return _open(self, self.policy)

    def getresponse(self) -> HTTPResponse:  # type: ignore[override]
        deadline.watch(self.sock)
        return super().getresponse()


def guarded_pools(policy: NetworkPolicy) -> dict[str, type[HTTPConnectionPool]]:
    """Pool classes for PoolManager.pool_classes_by_scheme whose connections obey `policy`."""
    plain: Any = type("GuardedHTTPConnection", (GuardedHTTPConnection,), {"policy": policy})
    tls: Any = type("GuardedHTTPSConnection", (GuardedHTTPSConnection,), {"policy": policy})
    http_pool = type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": plain})
    https_pool = type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": tls})
    return {"http": cast(type[HTTPConnectionPool], http_pool), "https": cast(type[HTTPConnectionPool], https_pool)}
