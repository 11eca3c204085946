"""kind = "browser" configuration, the browser search order and cookies.txt: no browser needed for any of these."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from browsers import POLICY, Site, poll, spec
from test_browser import DASHBOARD

from bot.cli.doctor import run_checks
from bot.config.loading import ConfigError, load_config
from bot.demo.story import run_demo
from storage.database import Database
from watchers.fetching.browser import Browser, BrowserMissing, browser_cookies, find_browser
from watchers.fetching.http import FetchError
from watchers.fetching.settings import BrowserSettings

BROWSER_SOURCE = """
[[sources]]
id = "dashboard"
kind = "browser"
url = "https://partner.example/dashboard"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "whisperer.toml"
    path.write_text(text, encoding="utf-8")
    return path


def executable(path: Path) -> Path:
    path.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_a_browser_source_and_the_browser_section_are_read(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            '[browser]\nexecutable = "bin/chromium"\npages = 3\n'
            + BROWSER_SOURCE
            + 'wait_for = "#emi"\ntimeout = 45\ncookies = "portal-cookies.txt"\nselector = "main"\n',
        ),
        {},
    )
    assert config.browser == BrowserSettings(executable=str(tmp_path / "bin" / "chromium"), pages=3)
    source = config.sources[0]
    assert (source.kind, source.wait_for, source.timeout) == ("browser", "#emi", 45.0)
    assert source.cookies == str(tmp_path / "portal-cookies.txt")
    assert source.is_remote


def test_defaults_start_nothing(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BROWSER_SOURCE), {})
    assert config.browser == BrowserSettings(executable=None, pages=2)
    assert (config.sources[0].wait_for, config.sources[0].timeout) == (None, 30.0)


@pytest.mark.parametrize(
    ("text", "key", "problem", "fix"),
    [
        ("[browser]\npages = 0\n", "browser.pages", "must be between 1 and 16", "pages = 2"),
        ("[browser]\npagez = 2\n", "browser.pagez", "unknown key", "did you mean 'pages'?"),
        ("[browser]\nexecutable = 3\n", "browser.executable", "expected a string", "executable"),
        (BROWSER_SOURCE + 'wait_for = "div[["\n', "sources[0].wait_for", "invalid CSS selector", "CSS selector"),
        (BROWSER_SOURCE + "timeout = 0\n", "sources[0].timeout", "between 0 and 600", "timeout = 30"),
        (BROWSER_SOURCE + 'timeout = "30s"\n', "sources[0].timeout", "expected a number", "timeout = 30"),
        (
            '[[sources]]\nid = "x"\nkind = "html"\nurl = "https://partner.example/"\nwait_for = "#emi"\n',
            "sources[0].wait_for",
            "only applies to kind = 'browser'",
            "remove wait_for",
        ),
        (
            '[[sources]]\nid = "x"\nkind = "browzer"\nurl = "https://partner.example/"\n',
            "sources[0].kind",
            "unknown kind 'browzer'",
            "did you mean 'browser'?",
        ),
        (
            '[[sources]]\nid = "x"\nkind = "browser"\nurl = "file:///etc/passwd"\n',
            "sources[0].url",
            "is not an http(s) URL",
            "https://",
        ),
    ],
)
def test_browser_config_errors_name_the_key_and_the_fix(
    tmp_path: Path, text: str, key: str, problem: str, fix: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert caught.value.where == f"{path}: {key}"
    assert problem in caught.value.problem
    assert fix in caught.value.fix


def test_the_browser_is_found_in_the_documented_order(tmp_path: Path) -> None:
    configured, from_env = executable(tmp_path / "configured-chrome"), executable(tmp_path / "env-chrome")
    env = {"WHISPERER_BROWSER": str(from_env), "PATH": ""}
    assert find_browser(str(configured), env) == str(configured)
    assert find_browser(None, env) == str(from_env)
    with pytest.raises(BrowserMissing) as caught:
        find_browser(None, {"WHISPERER_BROWSER": str(tmp_path / "gone")})
    assert "WHISPERER_BROWSER" in str(caught.value) and "playwright install chromium" in str(caught.value)


def test_a_cookies_txt_file_becomes_browser_cookies(tmp_path: Path) -> None:
    path = tmp_path / "portal-cookies.txt"
    path.write_text(
        "# Netscape HTTP Cookie File\n"
        "# exported by a browser extension\n\n"
        ".partner.example\tTRUE\t/\tTRUE\t1798761600\tsession\tabc123\n"
        "#HttpOnly_portal.example\tFALSE\t/app\tFALSE\t0\tcsrf\txyz\n",
        encoding="utf-8",
    )
    assert browser_cookies(str(path)) == [
        {
            "name": "session",
            "value": "abc123",
            "domain": ".partner.example",
            "path": "/",
            "secure": True,
            "httpOnly": False,
            "expires": 1798761600.0,
        },
        {"name": "csrf", "value": "xyz", "domain": "portal.example", "path": "/app", "secure": False, "httpOnly": True},
    ]


def test_a_missing_cookies_file_is_a_fetch_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(FetchError) as caught:
        browser_cookies(str(tmp_path / "portal-cookies.txt"))
    assert "portal-cookies.txt" in str(caught.value) and "export" in str(caught.value)


def test_a_missing_browser_is_one_clear_error(db: Database, site: Site, tmp_path: Path) -> None:
    """Runs everywhere: the configured path is checked before anything is launched."""
    site.page("/dashboard.html", DASHBOARD)
    missing = Browser(BrowserSettings(executable=str(tmp_path / "no-such-chromium")), POLICY)
    try:
        outcome = poll(db, missing, spec("dash", site.url("/dashboard.html")))["dash"]
    finally:
        missing.close()
    assert outcome.status == "error"
    error = outcome.error or ""
    assert "[browser] executable" in error and "no-such-chromium" in error
    assert "pip install 'huawei-whisperer[browser]'" in error and "playwright install chromium" in error
    assert "chromium package" in error
    assert site.seen == []  # nothing fetched the page by other means


def test_without_a_browser_the_demo_says_so_in_one_line_and_shows_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WHISPERER_BROWSER", str(tmp_path / "no-chromium-here"))
    lines: list[str] = []
    assert run_demo(keep=str(tmp_path / "demo"), out=lines.append) == 0
    said = [line for line in lines if "dashboard scene is skipped" in line]
    assert len(said) == 1 and "\n" not in said[0].strip()
    assert "WHISPERER_BROWSER" in said[0] and "apt-get install chromium" in said[0]
    out = "\n".join(lines)
    assert "partner-dashboard" not in out  # not configured, so no failures and no alerts about it
    assert "Cross-cloud policy v3.2.1 → v3.3.0" in out and "That's the story." in out


def test_doctor_says_whether_browser_sources_have_a_browser(tmp_path: Path) -> None:
    config = write(tmp_path, f'[browser]\nexecutable = "{tmp_path / "gone"}"\n' + BROWSER_SOURCE)
    now = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    check = next(c for c in run_checks(config, {}, now) if c.name == "browser")
    assert check.status == "fail" and "1 browser source(s)" in check.detail
    assert "playwright install chromium" in check.fix and "apt-get install chromium" in check.fix
    executable(tmp_path / "gone")  # now there is one (a stand-in: doctor checks it exists, not that it renders)
    check = next(c for c in run_checks(config, {}, now) if c.name == "browser")
    assert check.status == "ok" and str(tmp_path / "gone") in check.detail
    html_only = write(tmp_path, '[[sources]]\nid = "x"\nkind = "html"\nurl = "https://partner.example/"\n')
    assert not [c for c in run_checks(html_only, {}, now) if c.name == "browser"]
