"""The browser's engine: one thread running an event loop that owns Playwright, Chromium and the policing proxy.

Playwright objects belong to the thread that started them, while a poll fetches from a thread pool; so this one
thread serves every render, and `render()` (callable from any thread) hands it requests. The async API lets it keep
`[browser] pages` pages in flight. Imported by `Browser` (browser.py) at its first render, with asyncio.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from watchers.fetching.browser import INSTALL_HINT, BrowserMissing, Rendered, RenderRequest, find_browser
from watchers.fetching.browser_proxy import (
    PAGE_HEADER,
    REFUSED_HEADER,
    PageTag,
    PolicingProxy,
    UrlPolicy,
    origin_of,
    refusal,
)
from watchers.fetching.http import FetchError, _status_message, user_agent
from watchers.fetching.settings import BrowserSettings

if TYPE_CHECKING:
    from playwright.async_api import Browser as PlaywrightBrowser
    from playwright.async_api import Playwright, Request, Response, Route

SKIPPED_TYPES = frozenset({"image", "font", "media"})  # never needed for the text, and the bulk of the bytes


class Engine:
    """The loop thread and what it owns: Playwright, one Chromium (launched again if it crashed) and the proxy."""

    def __init__(
        self, settings: BrowserSettings, policy: UrlPolicy | None = None, env: Mapping[str, str] | None = None
    ) -> None:
        self.settings = settings
        self.policy = policy
        self.env = os.environ if env is None else env
        self.launches = 0  # how many times a browser process was started (once, unless it crashed)
        self._renders = itertools.count(1)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        # Owned by the loop thread:
        self._playwright: Playwright | None = None
        self._browser: PlaywrightBrowser | None = None
        self._proxy: PolicingProxy | None = None
        self._proxy_url = ""
        self._launching: asyncio.Lock | None = None
        self._pages: asyncio.Semaphore | None = None

    def render(self, request: RenderRequest) -> Rendered:
        """Render a page (from any thread); raise FetchError with a message that says what to do."""
        loop = self._start_loop()
        future = asyncio.run_coroutine_threadsafe(self._render(request), loop)
        try:
            # The render has its own deadline; this bound only guards against a wedged browser.
            return future.result(timeout=request.timeout + 60)
        except TimeoutError:
            future.cancel()
            raise FetchError(f"the browser did not answer within {request.timeout + 60:.0f} s") from None

    def close(self) -> None:
        """Close the browser and its thread; a later render() refuses."""
        with self._lock:
            self._closed = True
            loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)

    def _start_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._closed:
                raise FetchError("the browser is shut down (the process is stopping)")
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=self._run_loop, args=(loop,), name="browser", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def _run_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        self._launching, self._pages = asyncio.Lock(), asyncio.Semaphore(max(1, self.settings.pages))
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _shutdown(self) -> None:
        if self._browser is not None:
            with contextlib.suppress(Exception):
                await self._browser.close()
        if self._playwright is not None:
            with contextlib.suppress(Exception):
                await self._playwright.stop()
        if self._proxy is not None:
            await self._proxy.close()
        self._browser = self._playwright = self._proxy = None

    async def _ensure_browser(self) -> PlaywrightBrowser:
        assert self._launching is not None
        async with self._launching:
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            executable = find_browser(self.settings.executable, self.env)
            if self._playwright is None:
                try:
                    from playwright.async_api import async_playwright
                except ImportError:
                    raise BrowserMissing(
                        f"kind = 'browser' needs Playwright, which is not installed; {INSTALL_HINT}"
                    ) from None
                self._playwright = await async_playwright().start()
            if executable is None and not os.path.exists(self._playwright.chromium.executable_path):
                raise BrowserMissing(f"no Chromium or Chrome found on this machine; {INSTALL_HINT}")
            if self._proxy is None:
                self._proxy = PolicingProxy(self.policy)
                self._proxy_url = await self._proxy.start()
            try:
                self._browser = await self._playwright.chromium.launch(
                    executable_path=executable,
                    headless=True,
                    proxy={"server": self._proxy_url},  # Playwright routes loopback through it too
                    args=["--disable-dev-shm-usage", "--disable-background-networking", "--disable-gpu"],
                )
            except Exception as exc:
                raise FetchError(
                    f"could not start the browser {executable or '(Playwright’s own)'}: {_first_line(exc)}; "
                    f"check it runs, or {INSTALL_HINT}"
                ) from None
            self.launches += 1
            return self._browser

    async def _render(self, request: RenderRequest) -> Rendered:
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        assert self._pages is not None
        deadline = time.monotonic() + request.timeout
        async with self._pages:
            browser = await self._ensure_browser()
            context = await browser.new_context(
                user_agent=f"{user_agent()} Chromium",
                service_workers="block",  # a service worker's requests would bypass route interception
                accept_downloads=False,
            )
            blocked: list[str] = []
            page_id = f"{os.getpid()}-{next(self._renders)}"
            assert self._proxy is not None
            tag = PageTag(origin_of(request.url), frozenset(name.lower() for name, _ in request.headers))
            self._proxy.pages[page_id] = tag
            try:
                if request.cookies:
                    await context.add_cookies([dict(c) for c in request.cookies])  # type: ignore[misc]
                await context.route("**/*", self._router(request, page_id, blocked))
                page = await context.new_page()
                page.on("response", lambda response: _note_refused(response, blocked))
                page.on("requestfailed", lambda failed: self._note_failed(failed, blocked))
                try:
                    return await self._load(page, request, deadline, blocked, tag)
                except PlaywrightTimeout:
                    raise FetchError(
                        f"the page did not finish loading within {request.timeout:g} s; "
                        "raise the source's timeout, or set wait_for to the element you need"
                    ) from None
                except PlaywrightError as exc:
                    refused = [*blocked, *tag.refused]
                    if refused and request.url in refused[0]:
                        raise FetchError(f"refused by the network policy: {refused[0]}") from None
                    raise FetchError(f"the browser could not load the page: {_first_line(exc)}") from None
            finally:
                self._proxy.pages.pop(page_id, None)
                with contextlib.suppress(Exception):
                    await context.close()

    async def _load(
        self, page: Any, request: RenderRequest, deadline: float, blocked: list[str], tag: PageTag
    ) -> Rendered:
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        def left() -> float:
            return max(1.0, (deadline - time.monotonic()) * 1000)

        response = await page.goto(request.url, wait_until="load", timeout=left())
        if response is not None and response.status >= 400:
            raise FetchError(_status_message(response.status, response.status_text or ""), status=response.status)
        warning = None
        if request.wait_for:
            try:
                await page.wait_for_selector(request.wait_for, state="attached", timeout=left())
            except PlaywrightTimeout:
                raise FetchError(
                    f"nothing matched wait_for {request.wait_for!r} within {request.timeout:g} s; "
                    "check the selector in the browser's developer tools, or raise the source's timeout"
                ) from None
        else:
            try:
                await page.wait_for_load_state("networkidle", timeout=left())
            except PlaywrightTimeout:
                warning = "the page's network never went quiet; set wait_for to the element you watch"
        html: str = await page.content()
        if len(html) > request.max_bytes:
            raise FetchError(
                f"rendered page larger than the {request.max_bytes:,}-byte cap; "
                "raise [fetch] max_bytes or add a selector"
            )
        for entry in tag.refused:  # redirect hops the proxy refused: they reach the page only as failures
            if entry not in blocked:
                blocked.append(entry)
        if blocked:
            shown = "; ".join(blocked[:3]) + (f"; and {len(blocked) - 3} more" if len(blocked) > 3 else "")
            note = f"blocked {len(blocked)} request(s) the page made: {shown}"
            warning = f"{warning}; {note}" if warning else note
        return Rendered(html, page.url, tuple(blocked), warning)

    def _router(self, request: RenderRequest, page_id: str, blocked: list[str]) -> Any:
        origin = origin_of(request.url)
        extra = dict(request.headers)
        policy = self.policy

        async def route(route: Route) -> None:
            outgoing = route.request
            if outgoing.resource_type in SKIPPED_TYPES:
                await route.abort()
                return
            reason = await refusal(policy, outgoing.url)
            if reason is not None:
                blocked.append(f"{outgoing.url} ({reason})")
                await route.abort("blockedbyclient")
                return
            headers = {**await outgoing.all_headers(), PAGE_HEADER: page_id}  # kept on redirect hops too
            if origin_of(outgoing.url) == origin:  # the source's own headers go to its own origin only
                headers.update(extra)
            await route.continue_(headers=headers)

        return route

    def _note_failed(self, failed: Request, blocked: list[str]) -> None:
        """A request the proxy refused (a redirect hop, a tunnel) reaches the page as a failure: say why."""
        reason = self._proxy.reason_for(failed.url) if self._proxy is not None else None
        if reason and not any(entry.startswith(failed.url + " (") for entry in blocked):
            blocked.append(f"{failed.url} ({reason})")


def _note_refused(response: Response, blocked: list[str]) -> None:
    reason = response.headers.get(REFUSED_HEADER.lower())
    if reason and not any(entry.startswith(response.url + " (") for entry in blocked):
        blocked.append(f"{response.url} ({reason})")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
