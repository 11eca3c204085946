"""`whisperer doctor`: is everything in place? Config, database, Slack token and scopes, the alerts channel.

Each check says what it found and, when something is wrong, the fix. Secrets are never printed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from http.client import HTTPException
from pathlib import Path
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.cli.cookies import source_findings
from bot.config.loading import Config, ConfigError, MissingConfig, default_config, load_config
from bot.delivery.errors import BLOCKING_FIXES
from bot.process.storage_health import check_lost, check_writable
from bot.slack.app import SlackSettings, make_web_client, slack_settings
from bot.slack.manifest import UPDATE, find_manifest, load_manifest, manifest_problems
from storage.db import StorageUnavailable, open_db, parse_stamp
from storage.migrations import latest_version, schema_version
from storage.outbox import alerts as outbox
from storage.outbox import delivery as blocks
from storage.watching import sources as state
from storage.watching.changes import count_changes
from watchers.fetching.browser import browser_missing, find_browser
from watchers.fetching.network import AddressRefused

REQUIRED_SCOPES = (
    "commands",
    "chat:write",
    "im:write",
    "users:read",
    "users:read.email",
    # Exactly once: a post whose answer was lost (the bot killed mid-post) is looked for in the conversation
    # (conversations.history / .replies, by its metadata key) before it is posted again; a #name is found
    # with conversations.list.
    "channels:history",
    "groups:history",
    "im:history",
    "channels:read",
    "groups:read",
)
WHY_SCOPES = {
    scope: "to check, after a crash mid-post, whether the post reached Slack (so it is not posted twice)"
    for scope in ("channels:history", "groups:history", "im:history", "channels:read", "groups:read")
}
MARKS = {"ok": "✓", "warn": "!", "fail": "✗", "info": "·"}


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | warn | fail | info
    detail: str
    fix: str = ""


ClientFactory = Callable[[str, str], WebClient]


def _client(token: str, api_url: str) -> WebClient:
    return make_web_client(token, api_url, rate_limit_retries=1, timeout=10)


def run_checks(
    config_file: Path, env: Mapping[str, str], now: datetime, make_client: ClientFactory = _client
) -> list[Check]:
    checks: list[Check] = []
    config = _check_config(config_file, env, checks)
    checks.extend(Check("cookies", status, detail, fix) for status, detail, fix in source_findings(config.sources, now))
    _check_network(config, checks)
    _check_browser(config, env, checks)
    _check_database(config, now, checks)
    _check_calendar(config, now, checks)
    settings = _check_tokens(env, checks)
    if settings is not None and settings.bot_token:
        client = make_client(settings.bot_token, settings.api_url)
        if _check_auth(client, settings, checks):
            _check_channel(client, config, checks)
    elif settings is not None and not config.bot.alerts_channel:
        checks.append(
            Check(
                "alerts",
                "fail",
                "no Slack token and no [bot] alerts_channel: change alerts can reach nobody",
                "set [bot] alerts_channel in whisperer.toml and connect Slack (the README's steps); "
                "`whisperer run` in a terminal prints them meanwhile",
            )
        )
    _check_manifest(config_file, settings, checks)
    return checks


def _check_config(path: Path, env: Mapping[str, str], checks: list[Check]) -> Config:
    try:
        config = load_config(path, env)
    except MissingConfig as exc:
        checks.append(Check("config", "fail", f"{exc.where}: {exc.problem}", exc.fix))
        return default_config(env)
    except ConfigError as exc:
        checks.append(Check("config", "fail", f"{exc.where}: {exc.problem}", exc.fix))
        return default_config(env)
    admins = len(config.bot.admins)
    channel = config.bot.alerts_channel or "nowhere (no [bot] alerts_channel)"
    checks.append(
        Check(
            "config",
            "ok",
            f"{path}: {len(config.sources)} sources, alerts to {channel}, {admins} admin{'s' if admins != 1 else ''}",
        )
    )
    if not config.bot.admins:
        checks.append(
            Check(
                "admins",
                "warn",
                "no [bot] admins: nobody can change sources from Slack",
                'add Slack user IDs to [bot] admins, e.g. admins = ["U0123ABC"] (profile → ⋮ → Copy member ID)',
            )
        )
    return config


def _check_browser(config: Config, env: Mapping[str, str], checks: list[Check]) -> None:
    """kind = "browser" sources need a Chromium this machine can start; say which one, or how to get one."""
    count = sum(spec.kind == "browser" for spec in config.sources)
    if not count:
        return
    problem = browser_missing(config.browser, env)
    if problem:
        checks.append(Check("browser", "fail", f"{count} browser source(s), but {problem.split('; ', 1)[0]}", problem))
        return
    found = find_browser(config.browser.executable, env) or "Playwright's own Chromium"
    pages = config.browser.pages
    checks.append(Check("browser", "ok", f"{found} for {count} browser source(s), {pages} pages at once"))


def _check_network(config: Config, checks: list[Check]) -> None:
    """Sources whose URL the network policy refuses outright (no DNS here: the poll checks resolved addresses)."""
    for spec in config.sources:
        if not spec.is_remote:
            continue
        try:
            config.fetch.network.check_target(spec.url)
        except AddressRefused as exc:
            checks.append(Check("network", "fail", f"source {spec.id}: {exc}"))


def _check_database(config: Config, now: datetime, checks: list[Check]) -> None:
    path = config.database

    def report(name: str, status: str, detail: str, fix: str = "") -> None:
        checks.append(Check(name, status, detail, fix))

    if check_lost(path, report):
        return
    if not path.exists():
        checks.append(
            Check("database", "warn", f"{path} does not exist yet", "`whisperer poll` or `whisperer run` creates it")
        )
        return
    try:
        db = open_db(path, upgrade=False)
    except StorageUnavailable as exc:
        checks.append(Check("database", "fail", f"{path}: {exc.problem}", exc.fix))
        return
    except sqlite3.Error as exc:
        checks.append(Check("database", "fail", f"{path}: {exc}", "check the file's permissions, or move it away"))
        return
    try:
        check_writable(db, path, report)
        version, latest = schema_version(db), latest_version()
        counts = outbox.alert_counts(db)
        pending, failed = counts.get("pending", 0), counts.get("failed", 0)
        checks.append(
            Check(
                "database",
                "ok" if version == latest else "warn",
                f"{path}: schema {version}/{latest}, {count_changes(db)} changes, "
                f"outbox {pending} pending, {failed} failed",
                "" if version == latest else "the next `whisperer run` or `poll` migrates it",
            )
        )
        rows = state.list_sources(db)
        failing = [r["id"] for r in rows if r["last_status"] == "error"]
        paused = sum(bool(r["paused"]) for r in rows)
        active = len(rows) - paused
        if rows:
            # Some failing sources are weather; every active one failing means nothing is being watched.
            all_failing = active > 0 and len(failing) >= active
            checks.append(
                Check(
                    "sources",
                    "fail" if all_failing else "warn" if failing else "ok",
                    f"{len(rows)} watched, {paused} paused, "
                    + (f"failing: {', '.join(failing)}" if failing else "none failing")
                    + ("; every active source is failing, so nothing is being watched" if all_failing else ""),
                    "see `whisperer sources` for each error; check the network or the portal cookie" if failing else "",
                )
            )
        oldest = outbox.oldest_pending(db)
        if oldest and (now - parse_stamp(oldest)).total_seconds() > 600:
            checks.append(
                Check(
                    "outbox",
                    "warn",
                    f"the oldest pending alert waits since {oldest}",
                    "is `whisperer run` running? it delivers alerts written by any process",
                )
            )
        try:
            held = blocks.blocked_targets(db)
        except sqlite3.OperationalError:  # schema older than the delivery tables
            held = []
        for row in held:
            checks.append(Check("delivery", "fail", f"alerts to {row['target']} held: {row['error']}", row["fix"]))
    finally:
        db.conn.close()


def _check_calendar(config: Config, now: datetime, checks: list[Check]) -> None:
    """Which calendars count working days, the holiday library's version, and years it does not know yet."""
    from handlers.workdays import CalendarError, library_version

    calendars = config.knowledge.calendars
    try:
        partner, huawei = calendars.partner.label, calendars.huawei.label
        today = now.astimezone(config.bot.tz).date()
        # This year, and next year once deadlines counted today can reach it (the last quarter).
        unknown = [
            (c, y) for c, y in calendars.provisional_years(today, ahead=1) if y == today.year or today.month >= 10
        ]
    except (CalendarError, ImportError) as exc:
        checks.append(Check("calendar", "fail", str(exc), "check [calendar] in whisperer.toml; reinstall the package"))
        return
    detail = f"working days in {partner} and {huawei}, python-holidays {library_version()}"
    if not unknown:
        checks.append(Check("calendar", "ok", detail))
        return
    years = "; ".join(f"{label} {year}" for label, year in unknown)
    checks.append(
        Check(
            "calendar",
            "warn",
            f"{detail}; not yet known: {years}, so deadlines in them are provisional",
            "upgrade python-holidays when the year's holidays are published (China's each November): "
            "pip install --upgrade holidays",
        )
    )


def _check_tokens(env: Mapping[str, str], checks: list[Check]) -> SlackSettings | None:
    try:
        settings = slack_settings(env)
    except ConfigError as exc:
        checks.append(Check("slack", "fail", f"{exc.where} {exc.problem}", exc.fix))
        return None
    if not settings.bot_token:
        detail = "no SLACK_BOT_TOKEN: `whisperer run` uses terminal mode (alerts print, commands from stdin)"
        checks.append(Check("slack", "info", detail, "to connect Slack, follow the README's steps"))
        return settings
    if not settings.bot_token.startswith("xoxb-"):
        checks.append(
            Check(
                "slack",
                "fail",
                "SLACK_BOT_TOKEN does not look like a bot token (it should start with xoxb-)",
                "copy OAuth & Permissions → Bot User OAuth Token; user (xoxp-) and app (xapp-) tokens do not work",
            )
        )
        return settings
    modes = []
    if settings.app_token:
        modes.append("Socket Mode (SLACK_APP_TOKEN set)")
    if settings.signing_secret:
        modes.append("HTTP mode with `--http` (SLACK_SIGNING_SECRET set)")
    if not modes:
        checks.append(
            Check(
                "slack",
                "fail",
                "SLACK_BOT_TOKEN is set but neither SLACK_APP_TOKEN nor SLACK_SIGNING_SECRET",
                "set SLACK_APP_TOKEN for Socket Mode (or SLACK_SIGNING_SECRET for --http)",
            )
        )
    else:
        checks.append(Check("slack", "ok", "can run in " + " or ".join(modes)))
    return settings


def _check_manifest(config_file: Path, settings: SlackSettings | None, checks: list[Check]) -> None:
    """The app manifest declares the command, scopes, events, interactivity and the shortcut the code uses."""
    path = find_manifest(config_file)
    if path is None:
        detail = "no manifest.yml next to the config: the app's Slack settings cannot be compared"
        checks.append(Check("manifest", "info", detail))
        return
    try:
        data = load_manifest(path)
    except ValueError as exc:
        checks.append(Check("manifest", "fail", f"{path.name}: {exc}", "fix the YAML (the repository's copy is valid)"))
        return
    socket_mode = bool(settings.app_token) if settings is not None else None
    problems = manifest_problems(data, REQUIRED_SCOPES, socket_mode)
    if problems:
        checks.append(Check("manifest", "fail", f"{path.name}: " + "; ".join(problems), UPDATE))
    else:
        checks.append(Check("manifest", "ok", f"{path.name}: command, scopes, Home, interactivity, shortcut"))


def _slack_call(call: Callable[[], Any], api_url: str) -> tuple[Any, str | None]:
    try:
        return call(), None
    except SlackApiError as exc:
        return exc.response, str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
    except (URLError, OSError, HTTPException) as exc:
        return None, f"cannot reach {api_url} ({getattr(exc, 'reason', exc)})"


def _check_auth(client: WebClient, settings: SlackSettings, checks: list[Check]) -> bool:
    response, problem = _slack_call(client.auth_test, settings.api_url)
    if problem:
        fix = BLOCKING_FIXES.get(problem, "check the network, or SLACK_API_URL if you set it")
        checks.append(Check("token", "fail", f"auth.test: {problem}", fix))
        return False
    checks.append(Check("token", "ok", f"auth.test: the bot is @{response.get('user')} in {response.get('team')}"))
    headers = {str(k).lower(): v for k, v in (response.headers or {}).items()}
    granted_text = headers.get("x-oauth-scopes")
    if isinstance(granted_text, list):
        granted_text = ",".join(granted_text)
    if granted_text is not None:
        granted = {s.strip() for s in str(granted_text).split(",")}
        missing = [s for s in REQUIRED_SCOPES if s not in granted]
        if missing:
            checks.append(
                Check(
                    "scopes",
                    "fail",
                    f"missing {', '.join(missing)}"
                    + "".join(
                        f"; {scope} is needed {WHY_SCOPES[scope]}" for scope in missing[:1] if scope in WHY_SCOPES
                    ),
                    "add them under OAuth & Permissions (or recreate the app from manifest.yml), then reinstall",
                )
            )
        else:
            checks.append(Check("scopes", "ok", ", ".join(REQUIRED_SCOPES)))
    return True


def _check_channel(client: WebClient, config: Config, checks: list[Check]) -> None:
    channel = config.bot.alerts_channel
    if not channel:
        checks.append(
            Check(
                "alerts channel",
                "warn",
                "none configured: change alerts have nowhere to go",
                "set [bot] alerts_channel in whisperer.toml (a channel ID like C0123ABC, or #name)",
            )
        )
        return
    if not config.bot.admins:
        checks.append(
            Check(
                "alerts channel",
                "warn",
                f"{channel}: not checked (that needs an admin to show a private test note to)",
                "add your Slack user ID to [bot] admins",
            )
        )
        return
    admin = config.bot.admins[0]
    _, problem = _slack_call(
        lambda: client.chat_postEphemeral(
            channel=channel, user=admin, text="Huawei Whisperer doctor: I can post in this channel."
        ),
        client.base_url,
    )
    if problem is None:
        checks.append(Check("alerts channel", "ok", f"{channel}: the bot can post (a private note went to {admin})"))
    elif problem == "user_not_in_channel":
        checks.append(
            Check(
                "alerts channel",
                "warn",
                f"{channel}: reachable, but admin {admin} is not a member, so the test note was not shown",
                f"join {channel}, then run doctor again",
            )
        )
    else:
        fix = BLOCKING_FIXES.get(problem, "see the Slack error above").format(target=channel)
        checks.append(Check("alerts channel", "fail", f"{channel}: {problem}", fix))


def print_checks(checks: list[Check], out: Callable[[str], None] = print) -> int:
    """Print one line per check (and its fix); returns 1 if any check failed, else 0."""
    width = max(len(c.name) for c in checks)
    for check in checks:
        out(f"{MARKS[check.status]} {check.name.ljust(width)}  {check.detail}")
        if check.fix and check.status in ("warn", "fail"):
            out(f"  {' ' * width}  fix: {check.fix}")
    failed = sum(c.status == "fail" for c in checks)
    warned = sum(c.status == "warn" for c in checks)
    if failed:
        out(f"\n{failed} problem{'s' if failed != 1 else ''} to fix.")
    elif warned:
        out(f"\nNothing blocking; {warned} warning{'s' if warned != 1 else ''} worth a look.")
    else:
        out("\nAll good.")
    return 1 if failed else 0
