"""Sessions that expire are a state, not a change: a real local portal behind a cookie, a cookies.txt re-read on
every poll, one alert when the session expires (channel + each admin), one when it is restored, no change."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import ALLOW_LOOPBACK, FixtureServer, Response, Seen, Watch

from bot.cli.main import main
from bot.slack.render import to_blocks, to_text
from handlers.alerting.compose import compose_alert
from handlers.watch.changes import sources_command
from storage.db import transaction
from storage.watching import sources as state
from watchers.fetching.session import is_sign_in_page, login_redirect
from watchers.poll import poll_sources
from watchers.sources import SourceSpec

ADMINS = ("U0ADMIN", "U0OTHER")
NOW = datetime.now(UTC).replace(microsecond=0)  # cookies expire in real time: the clock here is the real one
HTML = {"Content-Type": "text/html; charset=utf-8"}
DASHBOARD = (
    "<html><head><title>Partner dashboard</title></head><body><h1>Dashboard</h1><p>Tier: Premier</p></body></html>"
)
LOGIN = (
    "<html><head><title>Huawei ID - Log in</title></head><body><form>"
    "<input name=user><input type='password' name=pw></form></body></html>"
)


class Portal:
    """A logged-in area: the dashboard for the valid session cookie; otherwise what `expired` says."""

    def __init__(self, server: FixtureServer, expired: str) -> None:
        self.server, self.expired, self.valid = server, expired, "s1"
        server.routes["/partner/dashboard"] = self.dashboard
        server.routes["/login"] = Response(body=LOGIN.encode(), headers=HTML)

    def dashboard(self, seen: Seen) -> Response:
        if f"SESSION={self.valid}" in seen.headers.get("Cookie", ""):
            return Response(body=DASHBOARD.encode(), headers=HTML)
        if self.expired == "redirect":
            return Response(302, b"", {"Location": "/login?next=/partner/dashboard"})
        if self.expired == "401":
            return Response(401, b"unauthorized", {"WWW-Authenticate": 'Cookie realm="partner"'})
        page = "<html><body><p>Your session has timed out. Please come back later.</p></body></html>"
        return Response(body=page.encode(), headers=HTML)


def write_cookies(path: Path, value: str, expires: datetime, extra: str = "") -> None:
    path.write_text(
        "# Netscape HTTP Cookie File\n"
        f"127.0.0.1\tFALSE\t/\tFALSE\t{int(expires.timestamp())}\tSESSION\t{value}\n"
        f"127.0.0.2\tFALSE\t/\tFALSE\t{int(expires.timestamp())}\tOTHERHOST\tnot-for-you\n"
        f"127.0.0.1\tFALSE\t/elsewhere\tFALSE\t{int(expires.timestamp())}\tOTHERPATH\tnot-for-you\n" + extra,
        encoding="utf-8",
    )


def poll(watch: Watch, spec: SourceSpec, now: datetime = NOW) -> str:
    with transaction(watch.db):
        state.sync_sources(watch.db, [spec.public_dict()], now)
    (outcome,) = poll_sources(watch.db, [spec], watch.client, watch.limiter, watch.settings, now, admins=ADMINS)
    return outcome.status


def kinds(watch: Watch) -> list[tuple[str, str | None]]:
    return [(a["kind"], a["user_id"]) for a in watch.alerts()]


@pytest.mark.parametrize("expired", ["redirect", "401", "logged_out_when"])
def test_expired_session_is_one_alert_and_no_change_then_one_restored(
    expired: str, server: FixtureServer, watch: Watch, tmp_path: Path
) -> None:
    portal = Portal(server, expired)
    cookies = tmp_path / "portal-cookies.txt"
    write_cookies(cookies, "s1", NOW + timedelta(days=30))
    spec = SourceSpec(
        id="dashboard",
        kind="html",
        url=server.url("/partner/dashboard"),
        cookies=str(cookies),
        logged_out_when="session has timed out" if expired == "logged_out_when" else None,
        channel="#portal",
    )
    assert poll(watch, spec) == "new"
    sent = server.requests_to("/partner/dashboard")[-1].headers["Cookie"]
    assert sent == "SESSION=s1"  # only the cookie for this host and path

    portal.valid = "s2"  # the portal ends our session
    assert poll(watch, spec, NOW + timedelta(minutes=30)) == "logged_out"
    assert poll(watch, spec, NOW + timedelta(minutes=60)) == "logged_out"
    assert kinds(watch) == [("session-expired", None), ("session-expired", "U0ADMIN"), ("session-expired", "U0OTHER")]
    assert watch.changes("dashboard") == []
    row = watch.source("dashboard")
    assert row["last_status"] == "session expired" and row["failures"] == 0
    assert "Tier: Premier" in (watch.snapshot("dashboard") or "")  # the last good snapshot stands

    write_cookies(cookies, "s2", NOW + timedelta(days=30))  # re-exported: no restart, the next poll reads it
    assert poll(watch, spec, NOW + timedelta(minutes=90)) == "unchanged"
    assert poll(watch, spec, NOW + timedelta(minutes=120)) == "unchanged"
    assert [k for k, _ in kinds(watch)].count("session-restored") == 3  # the channel and each admin, once
    assert watch.changes("dashboard") == []
    assert watch.source("dashboard")["session_expired_at"] is None


def test_the_alerts_say_how_to_refresh(server: FixtureServer, watch: Watch, tmp_path: Path) -> None:
    portal = Portal(server, "redirect")
    cookies = tmp_path / "portal-cookies.txt"
    write_cookies(cookies, "s1", NOW + timedelta(days=30))
    spec = SourceSpec(id="dashboard", kind="html", url=server.url("/partner/dashboard"), cookies=str(cookies))
    poll(watch, spec)
    portal.valid = "s2"
    poll(watch, spec, NOW + timedelta(minutes=5))
    alert = watch.alerts("session-expired")[0]
    alert["payload"] = json.loads(alert["payload"])
    message = compose_alert(watch.db, alert, ZoneInfo("UTC"))
    assert message is not None
    text = to_text(message, color=False)
    assert "Session expired: dashboard" in text
    assert "redirected to the sign-in page http://127.0.0.1:" in text and "/login" in text
    assert str(cookies) in text and "whisperer cookies check portal-cookies.txt" in text
    assert "s1" not in alert["payload"]  # names, never cookie values
    blocks = json.dumps(to_blocks(message), ensure_ascii=False)  # what Slack gets: the same words, as Block Kit
    assert "Session expired" in blocks and "whisperer cookies check portal-cookies.txt" in blocks

    from handlers.registry import Context

    ctx = Context(db=watch.db, now=NOW + timedelta(minutes=6), tz=ZoneInfo("UTC"))
    listing = to_text(sources_command(ctx, []), color=False)
    assert "🔒" in listing and "session expired" in listing and "1 logged out" in listing


def test_401_without_credentials_is_an_ordinary_failure(server: FixtureServer, watch: Watch) -> None:
    server.routes["/public"] = Response(401, b"no")
    spec = SourceSpec(id="public", kind="html", url=server.url("/public"))
    assert poll(watch, spec) == "error"
    assert watch.alerts("session-expired") == []


def test_cookie_expiry_warns_once_a_day_before(server: FixtureServer, watch: Watch, tmp_path: Path) -> None:
    Portal(server, "redirect")
    cookies = tmp_path / "portal-cookies.txt"
    expires = NOW + timedelta(days=2)
    write_cookies(cookies, "s1", expires)
    spec = SourceSpec(id="dashboard", kind="html", url=server.url("/partner/dashboard"), cookies=str(cookies))
    poll(watch, spec)
    assert watch.alerts("cookies-expiring") == []
    poll(watch, spec, expires - timedelta(hours=23))
    poll(watch, spec, expires - timedelta(hours=22))
    warned = watch.alerts("cookies-expiring")
    assert [a["user_id"] for a in warned] == [None, "U0ADMIN", "U0OTHER"]
    assert json.loads(warned[0]["payload"])["cookie"] == "SESSION"


def test_cookies_file_problems_are_clear_errors(watch: Watch, server: FixtureServer, tmp_path: Path) -> None:
    Portal(server, "redirect")
    spec = SourceSpec(
        id="dashboard", kind="html", url=server.url("/partner/dashboard"), cookies=str(tmp_path / "missing.txt")
    )
    assert poll(watch, spec) == "error"
    assert "cookies file not found" in watch.source("dashboard")["last_error"]
    (tmp_path / "bad.txt").write_text("SESSION=abc; other=1\n", encoding="utf-8")
    spec = SourceSpec(
        id="dashboard", kind="html", url=server.url("/partner/dashboard"), cookies=str(tmp_path / "bad.txt")
    )
    assert poll(watch, spec) == "error"
    assert "is not a Netscape cookies.txt" in watch.source("dashboard")["last_error"]


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        (LOGIN, "the page asks for a password"),
        ("<html><head><title>Sign in to Partner Center</title></head><body></body></html>", "its title is"),
        ("<html><body><h1>登录</h1><p>华为帐号</p></body></html>", "its heading is '登录'"),
        # Pages that merely offer a sign-in link, or talk about logging in, are content.
        ("<html><head><title>Partner tiers</title></head><body><a href=/login>Sign in</a></body></html>", None),
        ("<html><head><title>How to log in to the Partner Center when your ID changes</title></head></html>", None),
        ("<html><body><h1>Login issues: known problems and fixes for the partner portal</h1></body></html>", None),
    ],
)
def test_built_in_sign_in_page_recogniser(markup: str, expected: str | None) -> None:
    found = is_sign_in_page(markup)
    assert (found is None) if expected is None else (found is not None and expected in found)


def test_login_redirects() -> None:
    start = "https://partner.example/center/dashboard"
    assert login_redirect(start, "https://id5.cloud.example/CAS/portal/loginAuth.html?service=x") is not None
    assert login_redirect(start, "https://auth.portal.example/authui/login.html") is not None
    assert login_redirect(start, "https://partner.example/center/dashboard/") is None
    assert login_redirect(start, start) is None


def test_cookies_check_cli(tmp_path: Path, capsys: Any) -> None:
    soon = datetime.fromtimestamp(int(time.time()) + 3 * 3600, UTC)
    file = tmp_path / "portal-cookies.txt"
    write_cookies(
        file,
        "secret-value",
        soon + timedelta(days=10),
        f"#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t{int(soon.timestamp())}\tCSRF\tzzz\n",
    )
    assert main(["cookies", "check", str(file)]) == 0
    out = capsys.readouterr().out
    assert "4 cookies (values not shown)" in out
    assert "CSRF — in 2 hours  ← earliest" in out or "CSRF — in 3 hours  ← earliest" in out
    assert "secret-value" not in out and "zzz" not in out
    assert main(["cookies", "check", str(file), "--url", "http://127.0.0.1:8080/partner"]) == 0
    out = capsys.readouterr().out
    assert "2 cookies sent to" in out and "OTHERHOST" not in out and "OTHERPATH" not in out
    assert main(["cookies", "check", str(tmp_path / "none.txt")]) == 1
    assert "cookies file not found" in capsys.readouterr().err


def test_doctor_checks_cookies_files(tmp_path: Path) -> None:
    from bot.cli.doctor import run_checks

    soon = NOW + timedelta(hours=5)
    write_cookies(tmp_path / "fresh.txt", "v", NOW + timedelta(days=20))
    write_cookies(tmp_path / "soon.txt", "v", soon)
    config = tmp_path / "whisperer.toml"
    config.write_text(
        ALLOW_LOOPBACK
        + '[bot]\ndatabase = "w.db"\n'
        + "".join(
            f'[[sources]]\nid = "{name}"\nkind = "json"\nurl = "http://127.0.0.1:9/api"\ncookies = "{file}"\n'
            for name, file in (("fresh", "fresh.txt"), ("soon", "soon.txt"), ("missing", "missing.txt"))
        ),
        encoding="utf-8",
    )
    checks = {c.detail.split(":")[0]: c for c in run_checks(config, {}, NOW) if c.name == "cookies"}
    assert checks["fresh"].status == "ok" and "1 cookie for its address" in checks["fresh"].detail
    assert checks["soon"].status == "warn" and "cookie SESSION expires" in checks["soon"].detail
    assert checks["missing"].status == "fail" and "cookies file not found" in checks["missing"].detail
    assert all("v;" not in c.detail and "=v" not in c.detail for c in checks.values())
