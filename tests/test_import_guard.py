"""Light commands import no heavy library: each command runs in a fresh interpreter, which reports the heavy
modules left in sys.modules. A deterministic guard of start-up cost (which modules, never how long)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Slack SDK and Bolt, Playwright, the PDF reader, JSONPath, the calendar writer, the scheduler.
NEVER_FOR_LIGHT = {"slack_sdk", "slack_bolt", "playwright", "pypdfium2", "jsonpath", "icalendar", "apscheduler"}
# sqlite-utils is installed for its command line only: the bot's storage/database.py does not import it.
NEVER_FOR_LIGHT |= {"sqlite_utils"}
# The parsers, the database layer and the HTTP client, besides: `--help` and `--version` need none of them.
NEVER_FOR_HELP = NEVER_FOR_LIGHT | {
    "bs4",
    "soupsieve",
    "lxml",
    "feedparser",
    "sqlite_utils",
    "urllib3",
    "httptools",
    "yaml",
}
PARSERS = {"bs4", "lxml", "feedparser", "jsonpath", "pypdfium2"}
OURS = {"handlers", "storage", "watchers"}

PROBE = """
import json, sys
from bot.cli.main import main
try:
    status = main(sys.argv[1:])
except SystemExit as exc:
    status = exc.code
sys.stdout.flush()
print("\\nLOADED " + json.dumps({"status": status, "modules": sorted(sys.modules)}))
"""


def run(tmp_path: Path, *argv: str) -> tuple[int, set[str]]:
    """The exit status and the top-level packages loaded."""
    status, modules = run_modules(tmp_path, *argv)
    return status, {m.split(".")[0] for m in modules}


def run_modules(tmp_path: Path, *argv: str) -> tuple[int, set[str]]:
    """The exit status and every module loaded, by its full name."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WHISPERER_", "SLACK_"))}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    last = done.stdout.rstrip().rsplit("\n", 1)[-1]
    assert last.startswith("LOADED "), done.stdout + done.stderr
    report = json.loads(last.removeprefix("LOADED "))
    return report["status"], set(report["modules"])


def write_config(tmp_path: Path, *sources: tuple[str, str, str]) -> Path:
    lines = ['[bot]\ndatabase = "guard.db"\n']
    for source_id, kind, path in sources:
        lines.append(f'[[sources]]\nid = "{source_id}"\nkind = "{kind}"\nurl = "{path}"\n')
    config = tmp_path / "whisperer.toml"
    config.write_text("\n".join(lines), encoding="utf-8")
    return config


@pytest.mark.parametrize("argv", [["--help"], ["--version"], [], ["poll", "--help"], ["ask", "--help"]])
def test_help_and_version_import_no_heavy_library_and_none_of_our_packages(tmp_path: Path, argv: list[str]) -> None:
    status, loaded = run(tmp_path, *argv)
    assert status in (0, 2)
    assert loaded & NEVER_FOR_HELP == set()
    if not argv or argv[0].startswith("--"):  # the command table alone: no command module is imported
        assert loaded & OURS == set()


def test_reading_commands_import_no_slack_browser_pdf_jsonpath_calendar_or_scheduler(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("Tier thresholds\nAdvanced: 3 certified staff\n", encoding="utf-8")
    config = str(write_config(tmp_path, ("notes", "file", "notes.txt")))
    status, loaded = run(tmp_path, "--config", config, "poll")  # leaves one change to read back
    assert status == 0
    for argv in (["sources"], ["changes"], ["diff", "1"], ["ask", "help"], ["ask", "changes"]):
        status, loaded = run(tmp_path, "--config", config, *argv)
        assert status in (0, 2), argv
        assert loaded & NEVER_FOR_LIGHT == set(), argv
        assert "storage" in loaded  # they did open the database: the probe sees a real run


def test_poll_imports_only_the_parsers_of_the_kinds_it_polls(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("Plain text\n", encoding="utf-8")
    (tmp_path / "page.html").write_text("<html><body><main><p>Hello</p></main></body></html>", encoding="utf-8")
    text_only = write_config(tmp_path, ("notes", "file", "notes.txt"))
    status, loaded = run(tmp_path, "--config", str(text_only), "poll")
    assert status == 0
    assert loaded & PARSERS == set()
    assert loaded & NEVER_FOR_LIGHT == set()

    with_html = write_config(tmp_path, ("notes", "file", "notes.txt"), ("page", "file", "page.html"))
    status, loaded = run(tmp_path, "--config", str(with_html), "poll")
    assert status == 0
    assert loaded & PARSERS == {"lxml"}  # a page with a simple selector (or none) is read by lxml alone


def test_poll_imports_no_subcommand_module(tmp_path: Path) -> None:
    """Config loading needs `handlers.settings`, not the package's subcommands: poll answers no /whisperer line."""
    from handlers.registry import COMMAND_MODULES

    (tmp_path / "page.html").write_text("<html><body><main><p>Hello</p></main></body></html>", encoding="utf-8")
    config = write_config(tmp_path, ("page", "file", "page.html"))
    for _ in ("cold", "warm"):
        status, modules = run_modules(tmp_path, "--config", str(config), "poll")
        assert status == 0
        assert modules & {*COMMAND_MODULES, "handlers.registry", "handlers.reply"} == set()  # nor the table
        assert "handlers.settings" in modules  # the probe saw the config loaded
        assert "dotenv" not in modules  # no .env to read


# What a poll of plain pages that records no change never needs: asyncio and the browser's engine (the first
# browser render), the chat client ([summary]), the backup module (a pending migration), the bundled glossary (the
# first change glossed), the cookie jar (a source with a cookies file), and tomllib (toml-rs reads the file;
# tomllib only words a syntax error).
NOT_FOR_A_PLAIN_POLL = {
    "asyncio",
    "http.cookiejar",
    "tomllib",
    "watchers.fetching.browser_engine",
    "watchers.fetching.chat",
    "storage.ops.backups",
    "handlers.programme.terms",
}


def test_a_plain_poll_imports_none_of_what_only_some_sources_or_changes_need(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text("<html><body><main><p>Hello</p></main></body></html>", encoding="utf-8")
    config = write_config(tmp_path, ("page", "file", "page.html"))
    for _ in ("cold", "warm"):
        status, modules = run_modules(tmp_path, "--config", str(config), "poll")
        assert status == 0
        assert "watchers.fetching.browser" in modules  # the probe saw the poll's own imports
        assert modules & NOT_FOR_A_PLAIN_POLL == set()


def test_ask_still_loads_every_subcommand(tmp_path: Path) -> None:
    from handlers.registry import COMMAND_MODULES

    status, modules = run_modules(tmp_path, "ask", "help")
    assert status == 0
    assert set(COMMAND_MODULES) <= modules


def test_a_config_of_simple_selectors_is_checked_without_a_css_parser(tmp_path: Path) -> None:
    lines = ['[bot]\ndatabase = "guard.db"\n']
    for i, selector in enumerate(["main", "div.notice > table", "#rates td, h2"]):
        lines.append(f'[[sources]]\nid = "s{i}"\nkind = "html"\nurl = "https://partner.example/{i}"\n')
        lines.append(f'selector = "{selector}"\n')
    (tmp_path / "whisperer.toml").write_text("\n".join(lines), encoding="utf-8")
    status, loaded = run(tmp_path, "--config", str(tmp_path / "whisperer.toml"), "sources")
    assert status == 0
    assert loaded & {"soupsieve", "bs4"} == set()


@pytest.mark.parametrize(
    "selector", ["main", "div.notice > table", "#rates td", "table.a.b", "*", "h1, h2", "ul li + li", ".x", "#a.b"]
)
def test_the_selectors_checked_without_soupsieve_are_ones_soupsieve_accepts(selector: str) -> None:
    import soupsieve

    from watchers.reading.html import _SIMPLE_SELECTOR

    assert re.fullmatch(_SIMPLE_SELECTOR, selector)
    soupsieve.compile(selector)


@pytest.mark.parametrize("selector", ["div.", "#1a", ">a", "a >", "a,", "a[", "p::"])
def test_a_broken_selector_still_fails_with_the_css_parsers_reason(selector: str) -> None:
    from watchers.reading.html import SelectorError, check_selector

    with pytest.raises(SelectorError):
        check_selector(selector)


def test_help_order_holds_when_a_subcommand_module_was_imported_first() -> None:
    """The digest job imports its handler before anything dispatches; help still lists watching first."""
    probe = (
        "import json, handlers.team.matrix, handlers.overview.digest\n"
        "from handlers.registry import COMMAND_MODULES, load_commands\n"
        "print(json.dumps([[n, c.handler.__module__] for n, c in load_commands().items()]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    table = json.loads(done.stdout)
    from handlers.registry import COMMAND_MODULES

    assert [name for name, _ in table[:4]] == ["help", "changes", "diff", "sources"]
    modules = [module for _, module in table]
    assert sorted(modules, key=COMMAND_MODULES.index) == modules
