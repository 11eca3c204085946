"""A sample partner portal on 127.0.0.1: a few pages and a feed that the demo edits between polls.

It answers conditional GETs as a well-behaved server does (ETag and Last-Modified, 304), while its
tier page carries a "refreshed N seconds ago" line and a view counter that change on every visit.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bot.demo.loggedin import LoggedInArea, answer

TIERS = ["Standard", "Advanced", "Premier", "Core"]


@dataclass
class PortalState:
    tiers: list[str] = field(default_factory=lambda: list(TIERS))
    policy_version: str = "3.2.1"
    growth_threshold: int = 20
    policy_updated: str = "Q2 2024"
    cn_version: str = "3.2.1"
    cn_threshold: int = 20
    announcements: list[dict[str, str]] = field(
        default_factory=lambda: [
            {
                "id": "notice-2026-031",
                "title": "Partner Center maintenance on 2026-11-14",
                "date": "Sat, 07 Nov 2026 02:00:00 GMT",
                "text": "Partner Center will be read-only from 02:00 to 04:00 UTC+8.",
            },
            {
                "id": "notice-2026-030",
                "title": "MDF applications for Q1 2027 open",
                "date": "Mon, 02 Nov 2026 02:00:00 GMT",
                "text": "Submit MDF applications at least 10 working days before the activity.",
            },
        ]
    )
    visits: int = 1200
    versions: dict[str, int] = field(default_factory=dict)


def _page(title: str, body: str, charset: str = "utf-8", extra_head: str = "") -> str:
    return (
        f'<!DOCTYPE html><html><head><meta charset="{charset}"><title>{title}</title>{extra_head}'
        "<script>window.analytics = {session: Math.random()};</script>"
        "<style>table { border: 1px solid }</style></head>"
        f"<body><nav>Huawei Cloud Partner Center · Home · Programs · Support</nav><main>{body}</main>"
        "<!-- build 2026.11.26-rc3 --><footer>(c) 2026 Sample Partner Portal</footer></body></html>"
    )


def render(state: PortalState, path: str, seconds: int) -> tuple[bytes, str] | None:
    """Body and content type for a path, or None for 404. `seconds` feeds the volatile refresh line."""
    if path == "/partner/tiers.html":
        rows = "".join(f"<tr><td>{i + 1}</td><td>{name}</td></tr>" for i, name in enumerate(state.tiers))
        body = (
            "<h1>Cloud Solution Provider tiers</h1>"
            f"<table class='tiers'><tr><th>Level</th><th>Tier</th></tr>{rows}</table>"
            f"<p class='meta'>Last refreshed {seconds} seconds ago · Page views: {state.visits:,}</p>"
            f"<p class='meta'>csrf_token={hashlib.md5(str(seconds).encode()).hexdigest()}</p>"
        )
        return _page("CSP tiers", body).encode(), "text/html; charset=utf-8"
    if path == "/partner/dashboard.html":
        return _page("Partner dashboard", dashboard(seconds)).encode(), "text/html; charset=utf-8"
    if path == "/partner/policies/cross-cloud.html":
        body = (
            f"<h1>Cross-Cloud Policy v{state.policy_version}</h1>"
            f"<p>Updated {state.policy_updated}.</p>"
            "<ul class='policy'>"
            f"<li>Cloud consumption growth must be at least {state.growth_threshold}% year on year.</li>"
            "<li>At least 3 certified architects (HCIE-Cloud or HCCDE) on staff.</li>"
            "<li>Zero licence-misuse escalations in the review period.</li>"
            "<li>Deal registration: 72 hours before the RFP release, with a signed LOI from the customer's CIO.</li>"
            "</ul>"
        )
        return _page("Cross-cloud policy", body).encode(), "text/html; charset=utf-8"
    if path == "/certification/news.html":
        body = (
            "<h1>Certification news</h1>"
            "<p>HCIA, HCIP and HCIE certificates are valid for 3 years; HCIE from the lab exam date.</p>"
            "<p>Recertify before expiry: there is no grace period.</p>"
        )
        return _page("Certification news", body).encode(), "text/html; charset=utf-8"
    if path == "/cn/partner/policies/cross-cloud.html":
        body = (
            f"<h1>跨云合作伙伴政策 版本 {state.cn_version}</h1>"
            f"<p>云消费同比增长不低于{state.cn_threshold}%。</p>"
            "<p>至少3名认证架构师（HCIE-Cloud 或 HCCDE）。</p>"
            "<p>商机报备：须在RFP发布前72小时完成。</p>"
        )
        # Deliberately GBK, declared only in <meta>: the way many Chinese portal pages still arrive.
        return _page("跨云政策", body, charset="gbk").encode("gbk"), "text/html"
    if path == "/notices/feed.xml":
        items = "".join(
            f"<item><guid>{a['id']}</guid><title>{a['title']}</title>"
            f"<link>http://portal.example/notices/{a['id']}</link>"
            f"<pubDate>{a['date']}</pubDate><description>{a['text']}</description></item>"
            for a in state.announcements
        )
        feed = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Partner announcements</title><link>http://portal.example/</link>{items}</channel></rss>"
        )
        return feed.encode(), "application/rss+xml; charset=utf-8"
    return None


def dashboard(seconds: int) -> str:
    """A single-page-app dashboard: the HTML says "Loading…"; its script fetches the status JSON behind the login
    (the session cookie goes along) and writes the EMI score in."""
    return (
        "<h1>Partner dashboard</h1><div id='app'>Loading dashboard…</div><script>"
        "function zone(s) { return s >= 70 ? 'Green Zone!' : s >= 60 ? 'Yellow Zone' : 'Red Zone'; }"
        "function draw() { fetch('/partner/api/status.json', {credentials: 'same-origin'})"
        ".then(r => r.json()).then(d => { const emi = d.data.emi.score;"
        " document.getElementById('app').innerHTML ="
        " `<p id='emi'>Ecosystem Maturity Index (EMI) Score: ${emi} (${zone(emi)})</p>`"
        f" + `<p class='meta'>Tier: ${{d.data.partner.tier}} · dashboard refreshed {seconds} seconds ago</p>`; }}); }}"
        "draw(); setInterval(draw, 47000);</script>"
    )


class Portal:
    """The server; `state` can be edited between polls (under `lock`)."""

    def __init__(self) -> None:
        self.state = PortalState()
        self.area = LoggedInArea()  # the part behind the login (bot/demo/loggedin.py)
        self.lock = threading.Lock()
        self.requests = 0
        self.not_modified = 0
        self._seconds = 3
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="demo-portal", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Portal:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        portal = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet: the demo prints its own story
                pass

            def do_GET(self) -> None:
                with portal.lock:
                    special = answer(portal.area, self.path, self.headers.get("Cookie"))
                if special is not None:
                    status, payload, kind, extra = special
                    self.send_response(status)
                    for name, value in {"Content-Type": kind, "Content-Length": str(len(payload)), **extra}.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                with portal.lock:
                    portal.requests += 1
                    portal._seconds += 7
                    portal.state.visits += 3
                    found = render(portal.state, self.path, portal._seconds)
                if found is None:
                    self.send_error(404)
                    return
                body, content_type = found
                etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
                version = portal.state.versions.setdefault(etag, len(portal.state.versions) + 1)
                last_modified = formatdate(1_790_000_000 + version * 3600, usegmt=True)
                if self.headers.get("If-None-Match") == etag:
                    with portal.lock:
                        portal.not_modified += 1
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", last_modified)
                self.end_headers()
                self.wfile.write(body)

        return Handler
