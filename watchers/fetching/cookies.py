"""Netscape cookies.txt files (what browser cookie-export extensions write): read, matched to a URL, and dated.

A file is read afresh on every poll, so refreshing it needs no restart. Cookie values never leave this module
except in the Cookie header of a request to a matching domain and path: not in logs, errors or alerts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # http.cookiejar and urllib.request are imported when a cookies file is read, not by every poll
    from http.cookiejar import Cookie, MozillaCookieJar

EXPORT_HINT = "export the portal's cookies again from your browser (a cookies.txt extension, Netscape format)"


class CookieFileError(Exception):
    """The cookies file is missing or not in the Netscape format; the message says how to fix it."""


@dataclass(frozen=True)
class CookieInfo:
    """One cookie, without its value."""

    name: str
    domain: str
    path: str
    secure: bool
    expires: datetime | None  # None: a session cookie (no expiry written in the file)


def load_cookies(path: str) -> MozillaCookieJar:
    """Every cookie in the file, expired ones and session ones included (the server is the judge of those)."""
    from http.cookiejar import LoadError, MozillaCookieJar

    jar = MozillaCookieJar(str(Path(path).expanduser()))
    try:
        jar.load(ignore_discard=True, ignore_expires=True)
    except FileNotFoundError:
        raise CookieFileError(f"cookies file not found: {path}; {EXPORT_HINT} and save it there") from None
    except (LoadError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CookieFileError(f"cookies file {path} is not a Netscape cookies.txt ({first}); {EXPORT_HINT}") from None
    except OSError as exc:
        raise CookieFileError(f"cannot read cookies file {path} ({exc.strerror}); check its permissions") from None
    for cookie in jar:
        if not cookie.expires:  # exporters write 0 for a session cookie: it has no expiry, it has not expired
            cookie.expires, cookie.discard = None, True
    return jar


def cookies_for(jar: MozillaCookieJar, url: str, now: datetime | None = None) -> list[Cookie]:
    """The cookies a browser would send to `url`: domain, path and secure flag matched (the standard library's
    rules), longest path first; with `now`, those expired by then are left out."""
    import urllib.request
    from http.cookiejar import DefaultCookiePolicy

    request = urllib.request.Request(url)
    policy = DefaultCookiePolicy()
    secure = url.lower().startswith("https://")
    found = [
        cookie
        for cookie in jar
        if policy.domain_return_ok(cookie.domain, request)
        and policy.return_ok_domain(cookie, request)
        and policy.path_return_ok(cookie.path, request)
        and (secure or not cookie.secure)
        and (now is None or not cookie.expires or cookie.expires > now.timestamp())
    ]
    return sorted(found, key=lambda c: -len(c.path))


def describe(cookie: Cookie) -> CookieInfo:
    expires = datetime.fromtimestamp(cookie.expires, UTC) if cookie.expires else None
    return CookieInfo(cookie.name, cookie.domain, cookie.path, bool(cookie.secure), expires)


def cookie_list(jar: MozillaCookieJar) -> list[CookieInfo]:
    """Every cookie, soonest expiry first, session cookies last."""
    infos = [describe(c) for c in jar]
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(infos, key=lambda c: (c.expires or far, c.domain, c.name))


def earliest_expiry(cookies: list[Cookie]) -> tuple[datetime, str] | None:
    """When the first of these cookies expires, and its name; None if all are session cookies."""
    dated = [(datetime.fromtimestamp(c.expires, UTC), c.name) for c in cookies if c.expires]
    return min(dated) if dated else None
