"""kind = "browser" against a real Chromium and real servers on 127.0.0.1 (127.0.0.2/.3 stand in for other hosts)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browsers import POLICY, Site, poll, snapshot, spec

from bot.demo.story import run_demo
from storage.database import Database
from storage.watching import sources as state
from watchers.fetching.browser import Browser
from watchers.fetching.network import NetworkPolicy
from watchers.fetching.settings import BrowserSettings
from watchers.sources import SourceSpec

pytestmark = pytest.mark.browser


# Text that exists only once the page's script has run: the static HTML has none of it.
DASHBOARD = b"""<!DOCTYPE html><html><head><title>Dashboard</title></head><body>
<main><h1>Partner dashboard</h1><p id="emi">loading...</p><img src="/logo.png" alt="logo">
<video src="/intro.mp4"></video></main>
<script>
fetch('/api/emi').then(r => r.json()).then(d => {
  document.getElementById('emi').textContent = 'Ecosystem Maturity Index (EMI) Score: ' + d.score;
});
</script></body></html>"""

LATE = b"""<!DOCTYPE html><html><body><main><p>static part</p></main>
<script>setTimeout(() => { document.querySelector('main').insertAdjacentHTML('beforeend',
  '<p id="late">Tier status: Certified Plus</p>'); }, 2500);</script></body></html>"""


def _exfiltrating(target: str) -> bytes:
    return f"""<!DOCTYPE html><html><body><main><p id="s">start</p></main>
<script>
fetch('{target}').then(r => r.text()).then(t => {{ document.getElementById('s').textContent = 'leaked ' + t; }})
  .catch(() => {{ document.getElementById('s').textContent = 'the fetch failed'; }})
  .finally(() => document.body.insertAdjacentHTML('beforeend', '<p id="done">done</p>'));
</script></body></html>""".encode()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One browser for the module, as one per process in the bot."""
    shared = Browser(BrowserSettings(pages=2), POLICY)
    yield shared
    shared.close()


def test_text_that_only_exists_after_javascript_is_captured(db: Database, browser: Browser, site: Site) -> None:
    site.page("/dashboard.html", DASHBOARD)
    site.page("/api/emi", b'{"score": 73.8}', "application/json")
    static = SourceSpec(id="static", kind="html", url=site.url("/dashboard.html"))
    outcomes = poll(db, browser, spec("dash", site.url("/dashboard.html")), static)
    assert outcomes["dash"].status == "new", outcomes["dash"].error
    assert "Ecosystem Maturity Index (EMI) Score: 73.8" in snapshot(db, "dash")
    assert "EMI" not in snapshot(db, "static")  # the plain fetch sees only "loading..."
    # Then the number changes: the same normalise → diff path as html records it.
    site.page("/api/emi", b'{"score": 68.1}', "application/json")
    outcome = poll(db, browser, spec("dash", site.url("/dashboard.html")))["dash"]
    assert outcome.status == "changed"
    assert "Score: 68.1" in snapshot(db, "dash")


def test_images_fonts_and_media_are_not_loaded(db: Database, browser: Browser, site: Site) -> None:
    site.page("/dashboard.html", DASHBOARD)
    site.page("/api/emi", b'{"score": 73.8}', "application/json")
    site.page("/logo.png", b"\x89PNG", "image/png")
    outcome = poll(db, browser, spec("dash", site.url("/dashboard.html")))["dash"]
    assert outcome.status == "new", outcome.error
    assert "/api/emi" in site.paths()  # scripts and their requests do run
    assert "/logo.png" not in site.paths() and "/intro.mp4" not in site.paths()


def test_wait_for_waits_for_the_element(db: Database, browser: Browser, site: Site) -> None:
    site.page("/late.html", LATE)
    outcome = poll(db, browser, spec("late", site.url("/late.html"), wait_for="#late"))["late"]
    assert outcome.status == "new", outcome.error
    assert "Tier status: Certified Plus" in snapshot(db, "late")


def test_wait_for_that_never_appears_is_a_clear_error(db: Database, browser: Browser, site: Site) -> None:
    site.page("/late.html", LATE)
    outcome = poll(db, browser, spec("late", site.url("/late.html"), wait_for="#never", timeout=6))["late"]
    assert outcome.status == "error"
    assert "wait_for '#never'" in (outcome.error or "") and "timeout" in (outcome.error or "")


def test_a_page_fetching_a_refused_address_is_blocked_and_said(
    db: Database, browser: Browser, site: Site, elsewhere: Site
) -> None:
    elsewhere.page("/latest/meta-data/", b"secret-token", "text/plain", **{"Access-Control-Allow-Origin": "*"})
    site.page("/sneaky.html", _exfiltrating(elsewhere.url("/latest/meta-data/")))
    outcome = poll(db, browser, spec("sneaky", site.url("/sneaky.html"), wait_for="#done"))["sneaky"]
    assert outcome.status == "new", outcome.error
    assert elsewhere.seen == []  # not one request reached 127.0.0.2
    assert "the fetch failed" in snapshot(db, "sneaky") and "secret-token" not in snapshot(db, "sneaky")
    warning = outcome.warning or ""
    assert "blocked 1 request" in warning and elsewhere.url("/latest/meta-data/") in warning
    assert "allow_private" in warning  # the policy's own words: the rule and the fix
    row = state.get_source(db, "sneaky")
    assert row is not None and elsewhere.url("/latest/meta-data/") in (row["warning"] or "")


def test_a_redirect_to_a_refused_address_is_blocked_too(
    db: Database, browser: Browser, site: Site, elsewhere: Site
) -> None:
    """Route interception never sees redirect hops; the browser's proxy does."""
    elsewhere.page("/secret", b"secret-token", "text/plain", **{"Access-Control-Allow-Origin": "*"})
    site.routes["/hop"] = (302, {"Location": elsewhere.url("/secret")}, b"")
    site.page("/sneaky.html", _exfiltrating("/hop"))
    outcome = poll(db, browser, spec("hop", site.url("/sneaky.html"), wait_for="#done"))["hop"]
    assert outcome.status == "new", outcome.error
    assert "/hop" in site.paths() and elsewhere.seen == []
    assert elsewhere.url("/secret") in (outcome.warning or "")


def test_a_refused_page_address_is_an_error_naming_it(db: Database, browser: Browser, elsewhere: Site) -> None:
    elsewhere.page("/index.html", b"<p>hello</p>")
    outcome = poll(db, browser, spec("other", elsewhere.url("/index.html")))["other"]
    assert outcome.status == "error"
    assert "127.0.0.2" in (outcome.error or "") and "allow_private" in (outcome.error or "")
    assert elsewhere.seen == []


def test_headers_go_to_the_sources_origin_only_and_cookies_txt_is_read(
    db: Database, site: Site, tmp_path: Path
) -> None:
    third = Site("127.0.0.3")
    try:
        policy = NetworkPolicy.from_entries(["127.0.0.1", "127.0.0.3"])
        own = Browser(BrowserSettings(), policy)
        third.page("/widget.js", b"document.body.insertAdjacentHTML('beforeend', '<p>widget</p>')", "text/javascript")
        third.page("/landing.js", b"document.body.insertAdjacentHTML('beforeend', '<p>landed</p>')", "text/javascript")
        site.routes["/bounce.js"] = (302, {"Location": third.url("/landing.js")}, b"")
        scripts = f'<script src="{third.url("/widget.js")}"></script><script src="/bounce.js"></script>'
        site.page("/portal.html", f"<main><p>portal</p></main>{scripts}".encode())
        cookies = tmp_path / "portal-cookies.txt"
        cookies.write_text(
            "# Netscape HTTP Cookie File\n"
            "127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\tabc123\n"
            "#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tcsrf\txyz\n",
            encoding="utf-8",
        )
        source = spec(
            "portal",
            site.url("/portal.html"),
            headers=(("X-Portal-Token", "t0k3n"),),
            cookies=str(cookies),
        )
        outcome = poll(db, own, source)["portal"]
        own.close()
        assert outcome.status == "new", outcome.error
        assert "widget" in snapshot(db, "portal") and "landed" in snapshot(db, "portal")
        page_headers = next(h for path, h in site.seen if path == "/portal.html")
        assert page_headers.get("X-Portal-Token") == "t0k3n"
        assert "session=abc123" in page_headers.get("Cookie", "") and "csrf=xyz" in page_headers.get("Cookie", "")
        assert next(h for path, h in site.seen if path == "/bounce.js").get("X-Portal-Token") == "t0k3n"
        for path in ("/widget.js", "/landing.js"):  # another origin, directly or through a redirect hop
            headers = next(h for seen, h in third.seen if seen == path)
            assert "X-Portal-Token" not in headers and "Cookie" not in headers, path
            assert not any(name.lower().startswith("x-whisperer") for name in headers)
    finally:
        third.stop()


def test_one_browser_serves_every_source_and_poll(db: Database, site: Site) -> None:
    own = Browser(BrowserSettings(pages=2), POLICY)
    try:
        for n in range(4):
            site.page(f"/p{n}.html", f"<main><p id='x'></p></main><script>x.textContent = 'page {n}'</script>".encode())
        specs = [spec(f"p{n}", site.url(f"/p{n}.html")) for n in range(4)]
        for _ in range(2):
            outcomes = poll(db, own, *specs)
            assert all(o.status in ("new", "unchanged") for o in outcomes.values()), outcomes
        assert own.launches == 1
        assert snapshot(db, "p3") == "page 3"
    finally:
        own.close()


def test_the_demo_renders_the_javascript_dashboard(tmp_path: Path) -> None:
    lines: list[str] = []
    assert run_demo(keep=str(tmp_path / "demo"), out=lines.append) == 0
    out = "\n".join(lines)
    assert "│ Ecosystem Maturity Index (EMI) Score: 73.8 (Green Zone!)" in out
    changed = [line for line in lines if line.startswith("  ✓ partner-dashboard:")]
    assert len(changed) == 1 and "'Ecosystem Maturity Index (EMI) Score: 68.1 (Yellow Zone)'" in changed[0]
    assert "✗ partner-dashboard" not in out


def test_a_browser_page_whose_session_expired_is_logged_out_not_changed(
    db: Database, browser: Browser, site: Site, tmp_path: Path
) -> None:
    cookies = tmp_path / "portal-cookies.txt"
    cookies.write_text(
        "# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\tabc123\n", encoding="utf-8"
    )
    site.page("/dashboard.html", DASHBOARD)
    site.page("/api/emi", b'{"score": 73.8}', "application/json")
    source = spec("dash", site.url("/dashboard.html"), cookies=str(cookies))
    assert poll(db, browser, source)["dash"].status == "new"
    site.routes["/dashboard.html"] = (401, {"Content-Type": "text/html"}, b"<p>Please sign in</p>")
    outcome = poll(db, browser, source)["dash"]
    assert outcome.status == "logged_out", outcome
    assert "Score: 73.8" in snapshot(db, "dash")  # the last good snapshot stands; nothing was diffed
