"""What the session, cookie and metric alerts say (payloads written by watchers/recording/sessions.py and metrics)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from handlers.reply import Block, Inline, Link, Mono, Reply, Strong, note, para, reply
from handlers.watch.changes import when

KINDS = ("session-expired", "session-restored", "cookies-expiring", "metric-zone", "metric-threshold")


def _name(payload: Mapping[str, Any], source: Mapping[str, Any] | None) -> Inline:
    name = str((source or {}).get("name") or payload.get("source_id") or "source")
    url = str(payload.get("url") or "")
    return Link(url, name) if url.startswith(("http://", "https://")) else name


def refresh_steps(payload: Mapping[str, Any]) -> tuple[Block, ...]:
    """Exactly how to refresh this source's session, for the way it sends its credentials."""
    host = urlsplit(str(payload.get("url") or "")).hostname or "the portal"
    cookies = payload.get("cookies")
    if cookies:
        file = Path(str(cookies)).name
        return (
            para(
                "To refresh it: sign in to ",
                Strong(host),
                " in your browser, export its cookies in Netscape format (a cookies.txt extension) and save them over ",
                Mono(str(cookies)),
                ". The next poll reads the file again: no restart.",
            ),
            note("Check what the file holds and when it expires: ", Mono(f"whisperer cookies check {file}"), "."),
        )
    headers = [str(h) for h in payload.get("header_names") or []]
    if headers:
        return (
            para(
                "To refresh it: sign in to ",
                Strong(host),
                " in your browser, copy the new ",
                Mono(" / ".join(headers)),
                " value from the developer tools (Network tab, any request to the portal) into the source's ",
                Mono("headers"),
                " in whisperer.toml (or the ",
                Mono("${VAR}"),
                " it names in .env), then reload the bot (SIGHUP) or restart it.",
            ),
            note(
                "Tip: ",
                Mono('cookies = "portal-cookies.txt"'),
                " reads an exported cookies file on every poll instead.",
            ),
        )
    return (
        para(
            "This source sends no credentials. Sign in to ",
            Strong(host),
            " in your browser, export its cookies to a cookies.txt file and add ",
            Mono('cookies = "portal-cookies.txt"'),
            " to the source in whisperer.toml.",
        ),
    )


def compose_watch_alert(
    kind: str, payload: Mapping[str, Any], source: Mapping[str, Any] | None, tz: tzinfo
) -> Reply | None:
    name = _name(payload, source)
    if kind == "session-expired":
        return reply(
            para("🔒 ", Strong("Session expired: "), name, " no longer lets me in."),
            para(f"Why I think so: {payload.get('reason')}."),
            *refresh_steps(payload),
            note("Until then I record no snapshot and no change for it, and I won't repeat this alert."),
            ephemeral=False,
        )
    if kind == "session-restored":
        return reply(
            para("🔓 ", Strong("Session restored: "), name, " shows its content again."),
            note(f"Logged out since {when(str(payload.get('since')), tz)}. Anything that changed meanwhile follows."),
            ephemeral=False,
        )
    if kind == "cookies-expiring":
        return reply(
            para(
                "⏳ ",
                Strong("Cookies expiring: "),
                "the login cookie ",
                Mono(str(payload.get("cookie"))),
                " for ",
                name,
                f" expires {when(str(payload.get('expires')), tz)}.",
            ),
            *refresh_steps(payload),
            ephemeral=False,
        )
    if kind in ("metric-zone", "metric-threshold"):
        return reply(
            para(f"{payload.get('icon', '📈')} ", Strong(str(payload.get("text")))),
            note(
                name,
                " · history: ",
                Mono(f"/whisperer metric {payload.get('metric')}"),
            ),
            ephemeral=False,
        )
    return None
