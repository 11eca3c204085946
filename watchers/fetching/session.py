"""Is this answer a sign-in page instead of the content? Pure: a URL, a status and a body in, a reason out.

Only sources that log in (a cookies file, a Cookie or Authorization header, or `logged_out_when`) can be logged
out; a public page that starts asking for a login is an ordinary failure. Such a source is logged out when it was
redirected to a sign-in address, when a source that sends credentials gets
401/403, or when its page is a sign-in page: it holds a password field, or its title or first heading *is* a
sign-in phrase ("Sign in", "Log in to Partner Center", "登录"). A normal page that merely has a "Sign in" link in
its header is not one. A source's own `logged_out_when` regex replaces that built-in page test.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

from watchers.patterns import lazy_pattern
from watchers.sources import SourceSpec

# Path words of sign-in addresses: /login, /signin, /sso/…, /cas/login, /oauth2/authorize, loginAuth.html …
_LOGIN_PATH = lazy_pattern(
    r"(?:log-?in|sign-?in|sign-?on|/sso\b|/cas/|/oauth2?/|/saml2?/|/authorize\b|/auth/|/authui/|/idp/)", re.IGNORECASE
)
_LOGIN_HOST = lazy_pattern(r"^(?:auth|login|signin|sso|passport|id\d*|account|accounts)\.", re.IGNORECASE)
_PASSWORD = lazy_pattern(r"<input\b[^>]*\btype\s*=\s*[\"']?password\b", re.IGNORECASE)
_TITLE = lazy_pattern(r"<title\b[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_H1 = lazy_pattern(r"<h1\b[^>]*>(.*?)</h1>", re.IGNORECASE | re.DOTALL)
_TAG = lazy_pattern(r"<[^>]+>")
_SEPARATORS = lazy_pattern(r"\s[-|–—:·]\s|[|｜·]")
_PHRASE = lazy_pattern(
    r"^(?:please\s+)?(?:sign\s*in|log\s*in|sign\s*on|single\s+sign[\s-]*on)(?:\s+(?:to|with)\b.*)?[.!]?$"
    r"|^(?:用户|账号|帐号|请)?(?:登录|登入)",
    re.IGNORECASE,
)
_HTML_START = lazy_pattern(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.IGNORECASE | re.DOTALL)

AUTH_STATUSES = (401, 403)
CREDENTIAL_HEADERS = ("cookie", "authorization")


def logs_in(spec: SourceSpec) -> bool:
    """Whether the source sends credentials (or says how its logged-out page looks): only those can expire."""
    return bool(spec.cookies or spec.logged_out_when) or any(n.lower() in CREDENTIAL_HEADERS for n, _ in spec.headers)


def looks_like_html(body: bytes, content_type: str | None) -> bool:
    return "html" in (content_type or "").lower() or bool(_HTML_START().match(body[:2048]))


def login_redirect(requested: str, final: str) -> str | None:
    """The sign-in address a request was redirected to, or None if it landed elsewhere (or was not redirected)."""
    final = urljoin(requested, final)  # a redirect's Location may be relative
    if not final or final == requested:
        return None
    parts = urlsplit(final)
    if _LOGIN_PATH().search(parts.path) or _LOGIN_HOST().match(parts.hostname or ""):
        return f"{parts.scheme}://{parts.netloc}{parts.path}"  # no query: it may carry tokens
    return None


def _text(fragment: str) -> str:
    return " ".join(html.unescape(_TAG().sub(" ", fragment)).split())


def is_sign_in_page(markup: str) -> str | None:
    """Why this HTML is a sign-in page ("it asks for a password", "its title is 'Sign in'"), or None."""
    if _PASSWORD().search(markup):
        return "the page asks for a password"
    for name, pattern in (("title", _TITLE), ("heading", _H1)):
        match = pattern().search(markup)
        if not match:
            continue
        text = _text(match.group(1))
        if len(text) > 80:
            continue
        if any(_PHRASE().match(part.strip()) for part in _SEPARATORS().split(text)):
            return f"its {name} is {text!r}"
    return None


@lru_cache(maxsize=128)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def matches_logged_out(pattern: str, text: str, is_html: bool) -> bool:
    """A source's own `logged_out_when`, searched in the body and (for HTML) in its text without tags."""
    regex = _compiled(pattern)
    return bool(regex.search(text) or (is_html and regex.search(_text(text))))


def logged_out_reason(
    requested: str, final: str, body: bytes, text: str, content_type: str | None, logged_out_when: str | None
) -> str | None:
    """Why this answer means the session has expired, or None when it is content."""
    target = login_redirect(requested, final)
    if target:
        return f"redirected to the sign-in page {target}"
    is_html = looks_like_html(body, content_type)
    if logged_out_when:
        return (
            f"the page matches logged_out_when {logged_out_when!r}"
            if matches_logged_out(logged_out_when, text, is_html)
            else None
        )
    if is_html:
        why = is_sign_in_page(text)
        if why:
            return f"a sign-in page came back instead of the content ({why})"
    return None
