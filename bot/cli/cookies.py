"""`whisperer cookies check FILE [--url URL]`: which cookies a cookies.txt holds and when each expires (no values)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bot.cli.exits import EXIT_FAILED, EXIT_OK
from watchers.fetching.cookies import (
    CookieFileError,
    CookieInfo,
    cookie_list,
    cookies_for,
    describe,
    earliest_expiry,
    load_cookies,
)
from watchers.recording.sessions import COOKIE_WARNING
from watchers.sources import SourceSpec


def add_arguments(command: str, parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="cookies_command", metavar="check", required=True)
    check = actions.add_parser("check", help="list the file's cookies, soonest expiry first")
    check.add_argument("file", metavar="FILE")
    check.add_argument("--url", metavar="URL", help="only the cookies a request to this address would carry")


def _in(delta_seconds: float) -> str:
    seconds = abs(int(delta_seconds))
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            n = seconds // size
            text = f"{n} {unit}{'s' if n != 1 else ''}"
            break
    else:
        text = "under a minute"
    return f"in {text}" if delta_seconds >= 0 else f"expired {text} ago"


def check_lines(infos: list[CookieInfo], file: str, now: datetime, url: str | None = None) -> list[str]:
    """The report, one line per cookie; never a value."""
    scope = f" sent to {url}" if url else ""
    if not infos:
        return [f"{file}: no cookies{scope}. Export them again while signed in to the portal."]
    lines = [f"{file}: {len(infos)} cookie{'s' if len(infos) != 1 else ''}{scope} (values not shown)"]
    width = max(len(c.domain) for c in infos)
    live = [c for c in infos if c.expires and c.expires > now]
    first = min(live, key=lambda c: c.expires or now) if live else None
    for c in infos:
        if c.expires is None:
            expires, left = "session".ljust(20), "no expiry written (ends when the portal ends it)"
        else:
            expires, left = c.expires.strftime("%Y-%m-%d %H:%M UTC").ljust(20), _in((c.expires - now).total_seconds())
        flag = "  ← earliest" if c is first else ""
        secure = " secure" if c.secure else ""
        lines.append(f"  {expires}  {c.domain.ljust(width)}  {c.path}  {c.name}{secure} — {left}{flag}")
    if first is not None and first.expires is not None:
        warn = first.expires - COOKIE_WARNING
        when = "on its next poll" if warn <= now else f"from {warn:%Y-%m-%d %H:%M UTC}"
        lines.append(
            f"Earliest expiry: {first.name} on {first.expires:%Y-%m-%d %H:%M UTC} "
            f"({_in((first.expires - now).total_seconds())}); the bot warns {when}."
        )
    elif any(c.expires for c in infos):
        lines.append("Every dated cookie has expired: sign in again and export a fresh file.")
    else:
        lines.append("Only session cookies: the file never says when they end; the bot notices when the portal does.")
    return lines


def source_findings(sources: Sequence[SourceSpec], now: datetime) -> list[tuple[str, str, str]]:
    """For `whisperer doctor`: (status, detail, fix) per source with a cookies file; never a value."""
    findings = []
    for spec in sources:
        if not spec.cookies:
            continue
        try:
            matching = cookies_for(load_cookies(spec.cookies), spec.url)
        except CookieFileError as exc:
            findings.append(("fail", f"{spec.id}: {exc}", "export the cookies while signed in to the portal"))
            continue
        if not matching:
            findings.append(
                (
                    "warn",
                    f"{spec.id}: no cookie in {Path(spec.cookies).name} is for this address",
                    "export the cookies of the portal's own domain (the one in the source's url)",
                )
            )
            continue
        expiry = earliest_expiry(matching)
        fix = f"sign in again and re-export {Path(spec.cookies).name}; `whisperer cookies check` lists them"
        if expiry is not None and expiry[0] <= now:
            findings.append(("warn", f"{spec.id}: cookie {expiry[1]} expired on {expiry[0]:%Y-%m-%d %H:%M UTC}", fix))
        elif expiry is not None and expiry[0] - COOKIE_WARNING <= now:
            findings.append(("warn", f"{spec.id}: cookie {expiry[1]} expires {expiry[0]:%Y-%m-%d %H:%M UTC}", fix))
        else:
            until = f"; the first expires {expiry[0]:%Y-%m-%d}" if expiry else " (session cookies only)"
            count = f"{len(matching)} cookie{'s' if len(matching) != 1 else ''}"
            findings.append(("ok", f"{spec.id}: {count} for its address{until}", ""))
    return findings


def run(args: argparse.Namespace, now: datetime | None = None) -> int:
    """Reads only the file it is given: no config, no database."""
    now = now or datetime.now(UTC)
    try:
        jar = load_cookies(args.file)
    except CookieFileError as exc:
        print(f"whisperer: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.url:
        infos = sorted(
            (describe(c) for c in cookies_for(jar, args.url)), key=lambda c: (c.expires is None, c.expires or now)
        )
    else:
        infos = cookie_list(jar)
    for line in check_lines(infos, args.file, now, args.url):
        print(line)
    return EXIT_OK if infos else EXIT_FAILED
