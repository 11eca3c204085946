"""The sample portal's logged-in area and its demo scenes: a JSON endpoint behind a session cookie, a PDF policy
whose version changes, the EMI score as a metric, and a session that expires mid-story and is restored."""

from __future__ import annotations

import json
import textwrap
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from bot.cli.cookies import check_lines
from bot.cli.terminal import print_alerts
from bot.demo.pdfwriter import write_pdf
from bot.process.runtime import Runtime, poll
from watchers.fetching.cookies import cookie_list, load_cookies
from watchers.poll import Outcome

SESSION_COOKIE = "portal_session"
COOKIES_FILE = "portal-cookies.txt"
# Shown by `whisperer demo` alongside DEMO_TOML: {url} is the portal, {cookies} the exported file.
LOGGED_IN_TOML = """
[[sources]]
id = "partner-status"
name = "Partner Center status (JSON)"
kind = "json"
url = "{url}/partner/api/status.json"
select = "$.data"
cookies = "portal-cookies.txt"
topic = "rebate"
every = "30m"

[[sources.metrics]]
name = "emi"
label = "EMI"
pattern = 'data\\.emi\\.score: ([0-9]+(?:\\.[0-9]+)?)'
zones = {{ red = 60, yellow = 70 }}      # below 60 red, below 70 yellow, else green

[[sources]]
id = "incentive-policy-pdf"
name = "CSP incentive policy (PDF)"
kind = "pdf"
url = "{url}/docs/csp-incentive-policy.pdf"
topic = "policy"
extract_deadlines = true
every = "1d"
"""


@dataclass
class LoggedInArea:
    """What the logged-in part of the portal shows; the demo edits it between polls (under the portal's lock)."""

    session: str = "s-1"  # the session the portal accepts; a new value logs everyone else out
    tier: str = "Premier"
    emi: float = 73.8
    incentive_version: str = "1.4"
    rebate_rate: int = 4
    claims_close: str = "2027-01-15"
    incentives: list[dict[str, object]] = field(
        default_factory=lambda: [
            {"id": "mdf", "name": "Market development funds", "rate": "3%"},
            {"id": "growth-rebate", "name": "Cross-cloud growth rebate", "rate": "4%"},
        ]
    )
    generated: int = 0


Answer = tuple[int, bytes, str, dict[str, str]]


def _cookie(header: str | None) -> str | None:
    for part in (header or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == SESSION_COOKIE:
            return value
    return None


def signed_in(area: LoggedInArea, cookie_header: str | None) -> bool:
    """Whether a request carries the session the portal currently accepts (other demo pages can use it too)."""
    return _cookie(cookie_header) == area.session


LOGIN_PAGE = (
    "<!DOCTYPE html><html><head><title>Huawei ID - Log in</title></head><body><h1>Log in</h1>"
    "<form method='post' action='/login'><input name='account' placeholder='Huawei ID'>"
    "<input type='password' name='password'><button>Log in</button></form></body></html>"
)


def answer(area: LoggedInArea, path: str, cookie_header: str | None) -> Answer | None:
    """The logged-in area's answer for a path, or None when the path is not part of it."""
    route = urlsplit(path).path
    if route == "/login":
        return 200, LOGIN_PAGE.encode(), "text/html; charset=utf-8", {}
    if route == "/docs/csp-incentive-policy.pdf":
        return 200, incentive_pdf(area), "application/pdf", {}
    if route != "/partner/api/status.json":
        return None
    if not signed_in(area, cookie_header):  # what real portals do: off to the sign-in page
        return 302, b"", "text/html", {"Location": f"/login?next={route}"}
    area.generated += 1
    document = {
        "data": {
            "partner": {"name": "Acme Cloud", "tier": area.tier, "programme": "HCPN"},
            "emi": {"score": area.emi, "label": "Ecosystem Maturity Index"},
            # The portal sends its records in whatever order its database returns them.
            "incentives": area.incentives[:: 1 if area.generated % 2 else -1],
        },
        "meta": {"generated": area.generated},
    }
    return 200, json.dumps(document).encode(), "application/json", {}


def incentive_pdf(area: LoggedInArea) -> bytes:
    return write_pdf(
        [
            [
                f"Cloud Solution Provider Incentive Policy v{area.incentive_version}",
                "Updated Q3 2026." if area.incentive_version == "1.4" else "Updated Q4 2026.",
            ],
            [
                "Market development funds: 3% of eligible consumption.",
                f"Cross-cloud growth rebate: {area.rebate_rate}% of eligible consumption.",
            ],
            [f"Claims for Q4 2026 must be filed by {area.claims_close}."],
        ],
        title="CSP incentive policy",
    )


def write_cookies(path: Path, host: str, session: str, now: datetime) -> None:
    """What a browser's cookies.txt export writes: the session cookie and a remember-me cookie, values included."""
    later = max(now, datetime.now(UTC)) + timedelta(days=30)
    path.write_text(
        "# Netscape HTTP Cookie File\n# (exported by a browser extension; the demo writes it itself)\n"
        f"#HttpOnly_{host}\tFALSE\t/\tFALSE\t{int(later.timestamp())}\t{SESSION_COOKIE}\t{session}\n"
        f"{host}\tFALSE\t/partner\tFALSE\t{int(later.timestamp()) + 86400 * 300}\tremember_me\t1\n",
        encoding="utf-8",
    )


def edit_logged_in(area: LoggedInArea) -> list[str]:
    """The logged-in area's share of the scripted edits."""
    area.tier, area.emi = "Certified Plus", 68.1
    area.incentive_version, area.rebate_rate, area.claims_close = "1.5", 5, "2027-01-31"
    return [
        "behind the login, the status JSON says Certified Plus and the EMI score drops from 73.8 to 68.1",
        "the CSP incentive policy PDF moves from v1.4 to v1.5: the growth rebate rises to 5%, claims close later",
    ]


Say = Callable[[str], None]


def _outcomes(out: Say, outcomes: list[Outcome]) -> None:
    for o in outcomes:
        if o.status == "logged_out":
            out(f"  🔒 {o.source_id}: session expired — {o.error}")
        elif o.status == "changed":
            for change_id, summary in zip(o.change_ids, o.summaries, strict=True):
                out(f"  ✓ {o.source_id}: {summary}  (#{change_id})")
        else:
            out(f"  · {o.source_id}: {o.status}")


def session_scene(
    say: Say, out: Say, area: LoggedInArea, lock: threading.Lock, runtime: Runtime, workdir: Path, now: datetime
) -> datetime:
    """The portal ends the session mid-story; one alert; quiet polls; a fresh cookies.txt; one restored alert."""
    source = "partner-status"
    say(
        "The Partner Center ends sessions after a while. Here it does so now: the next poll of the status JSON is "
        "redirected to the sign-in page. That is a state, not a change: no snapshot, no diff, one alert to the "
        "channel and a DM to each admin saying exactly how to refresh it."
    )
    with lock:
        area.session = "s-2"
    now += timedelta(hours=1)
    _outcomes(out, poll(runtime, now, [source]))
    print_alerts(runtime, now, out)
    now += timedelta(minutes=30)
    say("Half an hour later it is still logged out. The bot says nothing more:")
    _outcomes(out, poll(runtime, now, [source]))
    out(f"  ({print_alerts(runtime, now, out)} alerts)")
    say(
        f"An admin signs in with the browser, exports the cookies again over {COOKIES_FILE} and checks the file. "
        "The bot reads it on every poll, so there is nothing to restart:"
    )
    cookies = workdir / COOKIES_FILE
    host = urlsplit(runtime.config.sources[0].url).hostname or "127.0.0.1"
    write_cookies(cookies, host, "s-2", now)
    out(f"\n$ whisperer cookies check {COOKIES_FILE}")
    lines = check_lines(cookie_list(load_cookies(str(cookies))), COOKIES_FILE, now)
    out(textwrap.indent("\n".join(lines), "  "))
    now += timedelta(minutes=30)
    out("")
    _outcomes(out, poll(runtime, now, [source]))
    print_alerts(runtime, now, out)
    say("The content did not change while it was logged out, so no change was recorded: only the session came back.")
    return now
