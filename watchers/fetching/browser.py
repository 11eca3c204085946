"""kind = "browser": pages rendered by one headless Chromium per process (Playwright), every request policed.

This module is light (a poll of plain pages imports it too): finding a browser, the cookies it is given, and the
`Browser` that hands render requests to its engine (browser_engine.py: the event loop thread, Playwright and
the policing proxy), imported and started at the first render.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from watchers.fetching.cookies import CookieFileError, load_cookies
from watchers.fetching.http import Fetched, FetchError
from watchers.fetching.settings import BrowserSettings
from watchers.sources import SourceSpec

if TYPE_CHECKING:
    from watchers.fetching.browser_engine import Engine
    from watchers.fetching.browser_proxy import UrlPolicy

SYSTEM_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
INSTALL_HINT = (
    "install one: `pip install 'huawei-whisperer[browser]'` then `playwright install chromium`, "
    "or your distribution's chromium package (e.g. `apt-get install chromium`); "
    "or point [browser] executable (or WHISPERER_BROWSER) at a Chromium or Chrome binary"
)


class BrowserMissing(FetchError):
    """No usable browser (or no Playwright) on this machine; the message says how to install one."""


@dataclass(frozen=True)
class RenderRequest:
    url: str
    wait_for: str | None = None
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # may hold cookies
    cookies: tuple[Mapping[str, Any], ...] = field(default=(), repr=False)
    timeout: float = 30.0
    max_bytes: int = 5_000_000


@dataclass(frozen=True)
class Rendered:
    html: str
    url: str  # where the page ended up
    blocked: tuple[str, ...] = ()  # requests the page tried and the policy refused: "URL (reason)"
    warning: str | None = None


def find_browser(configured: str | None, env: Mapping[str, str]) -> str | None:
    """The browser to launch: `[browser] executable`, WHISPERER_BROWSER, then a system Chromium or Chrome.

    None means "try Playwright's own"; a configured path that is not there is an error, not a fallback.
    """
    for where, value in (("[browser] executable", configured), ("WHISPERER_BROWSER", env.get("WHISPERER_BROWSER"))):
        if value:
            path = shutil.which(os.path.expanduser(value))
            if path is None:
                raise BrowserMissing(f"{where} = {value!r} is not an executable file; fix the path, or {INSTALL_HINT}")
            return path
    for name in SYSTEM_BROWSERS:
        if path := shutil.which(name):
            return path
    return None


def browser_missing(settings: BrowserSettings, env: Mapping[str, str]) -> str | None:
    """Why no page could be rendered here (no Playwright, no browser), or None: for the demo and `doctor`."""
    try:
        if find_browser(settings.executable, env):
            import playwright  # noqa: F401  (a browser without Playwright cannot be driven)

            return None
        from playwright.sync_api import sync_playwright

        with sync_playwright() as started:
            if os.path.exists(started.chromium.executable_path):
                return None
    except BrowserMissing as exc:
        return str(exc)
    except ImportError:
        return f"Playwright is not installed; {INSTALL_HINT}"
    return f"no Chromium or Chrome found on this machine; {INSTALL_HINT}"


def browser_cookies(path: str) -> list[dict[str, Any]]:
    """The source's cookies.txt (read afresh) as Playwright cookies; the browser itself scopes them by domain."""
    from http.cookiejar import HTTPONLY_ATTR  # type: ignore[attr-defined]

    try:
        jar = load_cookies(path)
    except CookieFileError as exc:
        raise FetchError(str(exc)) from None
    cookies = []
    for cookie in jar:
        entry: dict[str, Any] = {
            "name": cookie.name,
            "value": cookie.value or "",
            "domain": cookie.domain,
            "path": cookie.path or "/",
            "secure": bool(cookie.secure),
            "httpOnly": cookie.has_nonstandard_attr(HTTPONLY_ATTR),
        }
        if cookie.expires:
            entry["expires"] = float(cookie.expires)
        cookies.append(entry)
    return cookies


class Browser:
    """One Chromium for the whole process, started on first use and reused across sources and polls.

    Until a page is rendered nothing is started, nor imported: the engine (asyncio, Playwright, the policing
    proxy, browser_engine.py) comes with the first render, so a poll of plain pages never pays for it.
    """

    def __init__(
        self, settings: BrowserSettings, policy: UrlPolicy | None = None, env: Mapping[str, str] | None = None
    ) -> None:
        self.settings = settings
        self.policy = policy
        self.env = os.environ if env is None else env
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self._closed = False

    @property
    def launches(self) -> int:
        """How many times a browser process was started (once, unless it crashed)."""
        return self._engine.launches if self._engine is not None else 0

    def render(self, request: RenderRequest) -> Rendered:
        """Render a page (from any thread); raise FetchError with a message that says what to do."""
        with self._lock:
            if self._closed:
                raise FetchError("the browser is shut down (the process is stopping)")
            if self._engine is None:
                from watchers.fetching.browser_engine import Engine

                self._engine = Engine(self.settings, self.policy, self.env)
            engine = self._engine
        return engine.render(request)

    def close(self) -> None:
        """Close the browser and its thread; a later render() refuses."""
        with self._lock:
            self._closed = True
            engine = self._engine
        if engine is not None:
            engine.close()


def render_source(browser: Browser, spec: SourceSpec, max_bytes: int) -> Fetched:
    """A kind = "browser" source rendered, as a Fetched that the html path reads like any page."""
    cookies = tuple(browser_cookies(spec.cookies)) if spec.cookies else ()
    request = RenderRequest(spec.url, spec.wait_for, spec.headers, cookies, spec.timeout, max_bytes)
    rendered = browser.render(request)
    body = rendered.html.encode("utf-8")
    return Fetched(False, body, "text/html; charset=utf-8", None, None, rendered.url, rendered.warning)
