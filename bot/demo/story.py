"""`whisperer demo`: a scripted story against the bundled sample portal. No tokens, no network."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.cli.terminal import print_alerts
from bot.config.loading import load_config
from bot.demo.dashboard import follow_up_thread, home_tab, weekly_digest
from bot.demo.deals import deal_scene
from bot.demo.loggedin import COOKIES_FILE, LOGGED_IN_TOML, edit_logged_in, session_scene, write_cookies
from bot.demo.money import money_scene
from bot.demo.people import if_ana_leaves
from bot.demo.portal import Portal
from bot.demo.team import KNOWLEDGE_TOML, ask_around, reminder_sweep, seed_team
from bot.process.runtime import Runtime, make_context, open_runtime, poll
from bot.slack.render import to_text
from handlers.registry import dispatch
from storage.watching import sources as state
from storage.watching.changes import get_snapshot
from watchers.fetching.browser import browser_missing
from watchers.fetching.settings import BrowserSettings
from watchers.poll import Outcome

DEMO_TOML = """\
[bot]
database = "demo.db"
timezone = "Asia/Jakarta"
alerts_channel = "#huawei-partner"
admins = ["U0ADMIN"]

[fetch]
allow_private = ["127.0.0.1"]  # the sample portal runs on this machine; real intranet hosts are listed the same way

[partner]
name = "Acme Cloud"
tier = "Premier"
status_expires = 2027-03-31

[[sources]]
id = "csp-tiers"
name = "CSP tier ladder"
kind = "html"
url = "{url}/partner/tiers.html"
selector = "table.tiers, p.meta"
tiers_selector = "table.tiers"
topic = "tiers"
every = "6h"

[[sources]]
id = "cross-cloud-policy"
name = "Cross-cloud policy"
kind = "html"
url = "{url}/partner/policies/cross-cloud.html"
selector = "main"
topic = "policy"
every = "1h"
twin = "cross-cloud-policy-cn"

[[sources]]
id = "cross-cloud-policy-cn"
name = "跨云合作伙伴政策 (Chinese)"
kind = "html"
url = "{url}/cn/partner/policies/cross-cloud.html"
selector = "main"
topic = "policy"
every = "1h"
twin = "cross-cloud-policy"

[[sources]]
id = "certification-news"
name = "Certification news"
kind = "html"
url = "{url}/certification/news.html"
selector = "main"
topic = "certification"
every = "1d"

[[sources]]
id = "announcements"
name = "Partner announcements"
kind = "feed"
url = "{url}/notices/feed.xml"
topic = "announcement"
extract_deadlines = true
every = "30m"
"""
# A single-page-app dashboard: only a real browser sees its numbers (left out when this machine has none).
BROWSER_TOML = """
[[sources]]
id = "partner-dashboard"
name = "Partner dashboard (JavaScript)"
kind = "browser"
url = "{url}/partner/dashboard.html"
wait_for = "#emi"
selector = "#app"
cookies = "portal-cookies.txt"
topic = "rebate"
every = "1h"
"""
# The story's clock: a Thursday morning in Jakarta, so dates in the output never drift.
DEMO_START = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


class Narrator:
    def __init__(self, out: Callable[[str], None]) -> None:
        self.out = out
        self.color = sys.stdout.isatty()
        self.step = 0

    def title(self, text: str) -> None:
        self.step += 1
        bold, reset = ("\033[1m", "\033[0m") if self.color else ("", "")
        self.out(f"\n{bold}── {self.step}. {text}{reset}")

    def say(self, text: str) -> None:
        self.out(textwrap.fill(text, 100))

    def command(self, runtime: Runtime, now: datetime, line: str) -> None:
        self.out(f'\n$ whisperer ask "{line}"        (the same answer as /whisperer {line} in Slack)')
        reply = dispatch(make_context(runtime, now, operator=True), line)
        self.out(textwrap.indent(to_text(reply, color=self.color), "  "))


def _print_outcomes(n: Narrator, outcomes: list[Outcome]) -> None:
    for o in outcomes:
        if o.status == "changed":
            for change_id, summary in zip(o.change_ids, o.summaries, strict=True):
                n.out(f"  ✓ {o.source_id}: {summary}  (#{change_id})")
        elif o.status == "error":
            n.out(f"  ✗ {o.source_id}: {o.error}")
        elif o.status == "logged_out":
            n.out(f"  🔒 {o.source_id}: session expired — {o.error}")
    quiet = sum(o.status in ("unchanged", "not_modified") for o in outcomes)
    n.out(f"  → {sum(o.status == 'changed' for o in outcomes)} changed, {quiet} quiet")


def show_dashboard(n: Narrator, runtime: Runtime, no_browser: str | None) -> None:
    """The browser scene: what a real browser reads on a page that a plain fetch sees as "Loading…"."""
    if no_browser:
        n.out(f"\n(The JavaScript dashboard scene is skipped: {no_browser}.)")
        return
    n.title("A page only a browser can read: the JavaScript dashboard")
    n.say(
        "The partner dashboard is a single-page app: its HTML says only 'Loading dashboard…', and a script "
        'fetches the status JSON (with the session cookie) and writes the numbers in. A kind = "browser" '
        "source renders it in headless Chromium with the same cookies.txt (one browser for the whole process; "
        "images, fonts and media never loaded; every request the page makes checked against the network "
        "policy), then it takes the same normalise → snapshot → diff path as any page:"
    )
    row = state.get_source(runtime.db, "partner-dashboard")
    text = (get_snapshot(runtime.db, row["last_hash"]) if row and row["last_hash"] else None) or ""
    for line in text.splitlines():
        n.out(f"  │ {line}")


def edit_portal(portal: Portal) -> list[str]:
    """The scripted edits: what happened on the portal while nobody was looking."""
    with portal.lock:
        state = portal.state
        state.tiers[state.tiers.index("Premier")] = "Certified Plus"
        state.policy_version, state.growth_threshold, state.policy_updated = "3.3.0", 25, "Q4 2026"
        state.cn_version, state.cn_threshold = "3.3.0", 25
        state.announcements.insert(
            0,
            {
                "id": "notice-2026-034",
                "title": "Cross-cloud policy v3.3.0 takes effect on 2027-01-01",
                "date": "Thu, 26 Nov 2026 02:00:00 GMT",
                "text": "Cloud consumption growth threshold rises to 25% YoY. Deal registration unchanged.",
            },
        )
        logged_in = edit_logged_in(portal.area)
    return [
        "the tier 'Premier' is renamed 'Certified Plus'",
        "the cross-cloud policy moves from v3.2.1 to v3.3.0 and the growth threshold from 20% to 25%",
        "the Chinese policy page (GBK-encoded) is edited to match",
        "a new announcement appears in the feed",
        *logged_in,
        "and, as always, the tier page's 'Last refreshed N seconds ago' line and view counter tick over",
    ]


def run_demo(keep: str | None = None, out: Callable[[str], None] = print, start: datetime | None = None) -> int:
    workdir = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="whisperer-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    n = Narrator(out)
    now = start or DEMO_START
    try:
        with Portal() as portal:
            config_file = workdir / "whisperer.toml"
            (workdir / "demo.db").unlink(missing_ok=True)
            no_browser = browser_missing(BrowserSettings(), os.environ)
            sources = DEMO_TOML + LOGGED_IN_TOML + ("" if no_browser else BROWSER_TOML)
            config_file.write_text(sources.format(url=portal.url) + KNOWLEDGE_TOML, encoding="utf-8")
            # The browser's cookies.txt export, for the portal's logged-in area.
            write_cookies(workdir / COOKIES_FILE, "127.0.0.1", portal.area.session, now)
            config = load_config(config_file, env={})
            runtime = open_runtime(config, now)
            try:
                n.out("Huawei Whisperer demo: a sample partner portal is running at " + portal.url)
                n.out(f"Config and database: {workdir} (kept only with --keep)")

                n.title("First poll: every source gets its first snapshot")
                outcomes = poll(runtime, now)
                n.out(f"  {sum(o.status == 'new' for o in outcomes)} sources snapshotted, nothing to report yet.")
                show_dashboard(n, runtime, no_browser)

                n.title("What only the team knows: people, certifications, KPI numbers")
                seed_team(n, runtime, workdir, now)

                now += timedelta(minutes=30)
                n.title("Poll again 30 minutes later: only noise has moved")
                n.say(
                    "The tier page now says a different 'Last refreshed N seconds ago', its page-view counter and "
                    "CSRF token changed. Those are noise: they are removed before hashing, so no alert."
                )
                before = portal.not_modified
                outcomes = poll(runtime, now)
                _print_outcomes(n, outcomes)
                n.out(f"  ({portal.not_modified - before} answered 304 Not Modified to our own ETag echoed back)")

                now += timedelta(hours=5)
                n.title("Meanwhile, on the portal")
                for line in edit_portal(portal):
                    n.out(f"  - {line}")

                n.title("Poll: the real changes, each stored with its diff")
                outcomes = poll(runtime, now)
                _print_outcomes(n, outcomes)

                n.title("The alerts, as the channel would get them (terminal mode: printed here)")
                n.say(
                    "Each alert says how much it matters and why (urgent, normal or low). The tier rename, the "
                    "status JSON and the EMI metric (and the dashboard, where a browser is installed) saw one "
                    "event: it is one post, with the others in its thread, and the first post says so."
                )
                print_alerts(runtime, now, out)

                n.title("What people ask the bot")
                for line in ("changes", "diff 1", "sources"):
                    n.command(runtime, now, line)
                ask_around(n, runtime, now)

                n.title("The logged-in portal: a session that expires mid-story, and the EMI score")
                now = session_scene(n.say, n.out, portal.area, portal.lock, runtime, workdir, now)
                n.command(runtime, now, "metric emi")

                n.title("Money: an opportunity nearing Huawei's validation deadline")
                deal_scene(n, runtime, now)

                n.title("The daily reminder sweep: DMs before certificates expire, and what the channel hears")
                reminder_sweep(n, runtime, now)

                n.title("Money in working days: an MDF request around the year-end holidays")
                money_scene(n, runtime, now)

                n.title("Two hours later, a correction to the notice: it goes in the first alert's thread")
                now = follow_up_thread(n, portal, runtime, now)
                n.title("The weekly digest (posted on Mondays; previewed here)")
                weekly_digest(n, runtime, now)
                n.title("The App Home tab: a dashboard per person")
                home_tab(n, runtime, now)
                n.title("If Ana leaves…: what it breaks, and the plan that fixes it")
                if_ana_leaves(n, runtime, now)
                n.out("\nThat's the story. Nobody refreshed anything twice.")
            finally:
                runtime.close()
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0
