"""A local Socket Mode server: a real websocket (RFC 6455, written on the standard library) on 127.0.0.1,
port 0, that speaks Slack's envelope protocol. `apps.connections.open` on `SocketSlack` hands out its URL.

Each connection gets `{"type": "hello"}`; `send_envelope` delivers a request and `acks` records the
`{"envelope_id": …}` answers; `refresh` asks the client to reconnect; `go_silent` turns the current connection
into a dead one (nothing answered, nothing closed); `drop` closes the TCP socket with no close frame.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fakeslack import APP_TOKEN, Call, FakeSlack

T = TypeVar("T")
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


@dataclass
class Connection:
    sock: socket.socket
    opened_at: float  # time.monotonic()
    silent: bool = False  # a dead connection: frames are read and ignored, pings go unanswered
    closed_at: float | None = None
    pings: int = 0
    unanswered: int = 0  # pings that arrived after the connection went silent (nobody answered them)
    lock: threading.Lock = field(default_factory=threading.Lock)


class SocketServer:
    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.connections: list[Connection] = []
        self.acks: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._stopped = False
        self._tickets = 0
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self.listener.getsockname()[:2]
        with self._cond:
            self._tickets += 1
            return f"ws://{host}:{port}/link/?ticket={self._tickets}"

    # ── what a test does ──
    def send_envelope(self, kind: str, envelope_id: str, payload: dict[str, Any]) -> None:
        message = {"envelope_id": envelope_id, "type": kind, "accepts_response_payload": False, "payload": payload}
        self._send(self.current(), TEXT, json.dumps(message).encode())

    def refresh(self) -> None:
        """What Slack sends before it rotates a connection: the client should open a new one."""
        message = {"type": "disconnect", "reason": "refresh_requested", "debug_info": {"host": "fake"}}
        self._send(self.current(), TEXT, json.dumps(message).encode())

    def go_silent(self) -> float:
        """The current connection dies without a word (a NAT timeout, a pulled cable); returns when."""
        connection = self.current()
        connection.silent = True
        return time.monotonic()

    def drop(self) -> float:
        """Close the current TCP connection abruptly (RST, no close frame); returns when."""
        connection = self.current()
        connection.silent = True
        with contextlib.suppress(OSError):
            connection.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.sock.shutdown(socket.SHUT_RDWR)  # the reader thread then closes it: RST, as linger is 0
        return time.monotonic()

    def current(self) -> Connection:
        with self._cond:
            return self.connections[-1]

    def wait_for(self, predicate: Callable[[], T], timeout: float = 20.0) -> T:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"gave up waiting after {timeout}s; {len(self.connections)} connections")
                self._cond.wait(min(left, 0.1))

    def stop(self) -> None:
        self._stopped = True
        self.listener.close()
        with self._cond:
            connections = list(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.sock.close()

    # ── the server ──
    def _accept(self) -> None:
        while not self._stopped:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = sock.recv(4096)
            if not chunk:
                sock.close()
                return
            request += chunk
        headers = dict(line.split(": ", 1) for line in request.decode("latin-1").split("\r\n")[1:] if ": " in line)
        key = headers.get("Sec-WebSocket-Key", "").encode()
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
        sock.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + f"Sec-WebSocket-Accept: {accept}\r\n\r\n".encode()
        )
        connection = Connection(sock, time.monotonic())
        with self._cond:
            self.connections.append(connection)
            self._cond.notify_all()
        hello = {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0WHISPER"}}
        self._send(connection, TEXT, json.dumps(hello).encode())
        with contextlib.suppress(OSError, ValueError):  # the connection ended, one way or another
            self._read(connection)
        with self._cond:
            connection.closed_at = time.monotonic()
            self._cond.notify_all()
        with contextlib.suppress(OSError):
            sock.close()

    def _read(self, connection: Connection) -> None:
        reader = connection.sock.makefile("rb")
        while True:
            opcode, payload = _read_frame(reader)
            if connection.silent:  # a dead line: nothing reaches the other end any more
                if opcode == PING:
                    connection.unanswered += 1
                continue
            if opcode == PING:
                connection.pings += 1
                self._send(connection, PONG, payload)
            elif opcode == TEXT:
                with self._cond:
                    self.acks.append(json.loads(payload))
                    self._cond.notify_all()
            elif opcode == CLOSE:
                self._send(connection, CLOSE, payload[:2])
                return

    def _send(self, connection: Connection, opcode: int, payload: bytes) -> None:
        if connection.silent:
            return
        header = bytes([0x80 | opcode])
        if len(payload) < 126:
            header += bytes([len(payload)])
        elif len(payload) < 1 << 16:
            header += bytes([126]) + struct.pack("!H", len(payload))
        else:
            header += bytes([127]) + struct.pack("!Q", len(payload))
        with connection.lock, contextlib.suppress(OSError):
            connection.sock.sendall(header + payload)


def _read_frame(reader: Any) -> tuple[int, bytes]:
    """One client frame (clients always mask); ValueError when the connection ends."""
    head = reader.read(2)
    if len(head) < 2:
        raise ValueError("connection closed")
    opcode, length = head[0] & 0x0F, head[1] & 0x7F
    if length == 126:
        length = struct.unpack("!H", reader.read(2))[0]
    elif length == 127:
        length = struct.unpack("!Q", reader.read(8))[0]
    mask = reader.read(4) if head[1] & 0x80 else b"\0\0\0\0"
    data = reader.read(length)
    if len(data) < length:
        raise ValueError("connection closed")
    return opcode, bytes(b ^ mask[i % 4] for i, b in enumerate(data))


class SocketSlack(FakeSlack):
    """The fake Web API plus `apps.connections.open` (app token only), pointing at a `SocketServer`."""

    def __init__(self, server: SocketServer) -> None:
        super().__init__()
        self.server = server

    def _answer(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, str], bytes]:
        if path.split("?")[0] != "/api/apps.connections.open":
            return super()._answer(path, headers, raw)
        call = Call("apps.connections.open", path, {})
        if headers.get("Authorization", "") != f"Bearer {APP_TOKEN}":
            return self._error(call, "invalid_auth")
        self._record(call)
        body = json.dumps({"ok": True, "url": self.server.url}).encode()
        return 200, {"Content-Type": "application/json"}, body
