"""`whisperer poll --ping URL`: healthchecks-style pings around a cron poll (standard library only).

`URL/start` before the poll, then `URL` on success or `URL/fail` with the exit status and the summary in the
body. A ping that cannot be sent is said on stderr and never changes the poll's own exit status.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

PING_TIMEOUT = 10.0


def ping(url: str, kind: str = "", body: str = "") -> bool:
    """POST to `url` (kind "") or `url/start`, `url/fail`; True when the server answered 2xx."""
    target = url.rstrip("/") + (f"/{kind}" if kind else "")
    request = urllib.request.Request(target, data=body.encode("utf-8")[:10_000], method="POST")
    request.add_header("Content-Type", "text/plain; charset=utf-8")
    request.add_header("User-Agent", "whisperer-poll")
    try:
        with urllib.request.urlopen(request, timeout=PING_TIMEOUT) as response:
            return 200 <= int(response.status) < 300
    except urllib.error.HTTPError as exc:
        print(f"whisperer: the ping to {target} was answered HTTP {exc.code}; check --ping", file=sys.stderr)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        print(f"whisperer: could not ping {target} ({reason}); the poll itself is unaffected", file=sys.stderr)
    return False
