"""[ops]: where Socket Mode and terminal mode serve /livez, /readyz and /metrics (off unless `listen` is set)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from bot.config.validation import ConfigError, Table

LISTEN_EXAMPLE = 'listen = "127.0.0.1:9464" (or just a port, 9464, for 127.0.0.1)'


@dataclass(frozen=True)
class OpsSettings:
    listen: tuple[str, int] | None = None  # (host, port); port 0 picks a free one (tests)


def parse_ops(file: str, data: Any) -> OpsSettings:
    t = Table(file, "ops", data)
    raw = t.get("listen", object, None)
    t.done()
    if raw is None or raw == "":
        return OpsSettings()
    return OpsSettings(parse_listen(t.key("listen"), raw))


def parse_listen(where: str, raw: object) -> tuple[str, int]:
    if isinstance(raw, int) and not isinstance(raw, bool):
        host, port_text = "127.0.0.1", str(raw)
    elif isinstance(raw, str):
        host, sep, port_text = raw.strip().rpartition(":")
        if not sep:
            host, port_text = "127.0.0.1", raw.strip()
        host = host.strip("[]") or "127.0.0.1"
    else:
        raise ConfigError(where, f"expected an address, found {raw!r}", f"write {LISTEN_EXAMPLE}")
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ConfigError(where, f"{raw!r} has no valid TCP port", f"write {LISTEN_EXAMPLE}")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host != "localhost":
            raise ConfigError(
                where, f"{host!r} is not an IP address", f"write {LISTEN_EXAMPLE}; use 0.0.0.0 inside a container"
            ) from None
    return host, int(port_text)
