"""Shared helpers for the partner-knowledge tests: a config file, polls at a given time, `whisperer ask`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pytest
from conftest import FixtureServer, Response

from bot.cli.main import main
from bot.config.loading import load_config
from bot.process.runtime import open_runtime, poll
from watchers.poll import Outcome

BASE = """
[bot]
database = "whisperer.db"
timezone = "Asia/Jakarta"
alerts_channel = "#partner"
admins = ["U0ADMIN"]

[partner]
name = "Acme Cloud"
tier = "Premier"
status_expires = 2027-03-31

[fetch]
allow_private = ["127.0.0.1"]  # the test server's address, allowed explicitly
"""


def html(body: str, charset: str = "utf-8") -> Response:
    page = f'<html><head><meta charset="{charset}"></head><body><main>{body}</main></body></html>'
    return Response(200, page.encode(charset), {"Content-Type": "text/html"})


def tier_table(*names: str) -> Response:
    rows = "".join(f"<tr><td>{i}</td><td>{n}</td></tr>" for i, n in enumerate(names, start=1))
    return html(f"<table class='tiers'><tr><th>Level</th><th>Tier</th></tr>{rows}</table><p>Views: 12</p>")


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "whisperer.toml"
    path.write_text(BASE + text, encoding="utf-8")
    return path


def source(server: FixtureServer, source_id: str, path: str, topic: str, extra: str = "") -> str:
    return f"""
[[sources]]
id = "{source_id}"
kind = "html"
url = "{server.url(path)}"
topic = "{topic}"
selector = "main"
{extra}
"""


def poll_at(config_path: Path, now: datetime, source_ids: Sequence[str] | None = None) -> list[Outcome]:
    """A poll at a chosen moment, through the same runtime the CLI builds."""
    runtime = open_runtime(load_config(config_path, env={}), now)
    try:
        return poll(runtime, now, source_ids)
    finally:
        runtime.close()


def run(capsys: pytest.CaptureFixture[str], config_path: Path, *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["--config", str(config_path), *argv])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def ask(
    capsys: pytest.CaptureFixture[str],
    config_path: Path,
    text: str,
    as_of: str | None = None,
    user: str | None = None,
) -> str:
    argv = ["ask", text]
    if as_of:
        argv += ["--as-of", as_of]
    if user:
        argv += ["--user", user]
    _code, out = run(capsys, config_path, *argv)
    return out
