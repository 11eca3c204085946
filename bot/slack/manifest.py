"""The Slack app manifest (manifest.yml): does it declare what the code needs?

Slack only shows an app's settings to an app configuration token, which the bot does not have; the manifest the
app was created from is the next best witness. `whisperer doctor` reads it and names what is missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from bot.slack.app import COMMAND, EVENTS_PATH
from bot.slack.interactions import ADD_DEADLINE

MANIFEST = "manifest.yml"
EVENTS = ("app_home_opened",)
UPDATE = "paste the fix into Slack app settings → App Manifest (or recreate the app from manifest.yml), then save"


def find_manifest(config_file: Path) -> Path | None:
    """manifest.yml next to the config file (where the repository keeps both)."""
    candidate = config_file.parent / MANIFEST
    return candidate if candidate.is_file() else None


def load_manifest(path: Path) -> Mapping[str, Any]:
    """The manifest as data; ValueError with the reason if it is not a YAML mapping."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(str(exc).splitlines()[0]) from exc
    if not isinstance(data, Mapping):
        raise ValueError("it is not a YAML mapping (display_information:, features:, …)")
    return data


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def manifest_problems(data: Mapping[str, Any], scopes: Iterable[str], socket_mode: bool | None) -> list[str]:
    """Each way the manifest falls short of what the code uses, as a sentence naming the setting to fix."""
    problems: list[str] = []
    commands = [c.get("command") for c in _get(data, "features", "slash_commands") or [] if isinstance(c, Mapping)]
    if COMMAND not in commands:
        problems.append(f"features.slash_commands has no {COMMAND}")
    granted = set(_get(data, "oauth_config", "scopes", "bot") or [])
    missing = [s for s in scopes if s not in granted]
    if missing:
        problems.append(f"oauth_config.scopes.bot lacks {', '.join(missing)}")
    events = set(_get(data, "settings", "event_subscriptions", "bot_events") or [])
    if not set(EVENTS) <= events:
        problems.append("settings.event_subscriptions.bot_events lacks app_home_opened (the Home tab)")
    if _get(data, "settings", "interactivity", "is_enabled") is not True:
        problems.append("settings.interactivity.is_enabled is not true: buttons, forms and the shortcut do nothing")
    shortcuts = _get(data, "features", "shortcuts") or []
    if not any(isinstance(s, Mapping) and s.get("callback_id") == ADD_DEADLINE for s in shortcuts):
        problems.append(f"features.shortcuts has no global shortcut with callback_id {ADD_DEADLINE} (Add a deadline)")
    manifest_socket = _get(data, "settings", "socket_mode_enabled") is True
    if not manifest_socket:
        for where in (("settings", "interactivity"), ("settings", "event_subscriptions")):
            url = str(_get(data, *where, "request_url") or "")
            if not url.endswith(EVENTS_PATH):
                problems.append(f"{'.'.join(where)}.request_url should be https://<your host>{EVENTS_PATH}")
    if socket_mode is True and not manifest_socket:
        problems.append("SLACK_APP_TOKEN is set but settings.socket_mode_enabled is not true")
    return problems
