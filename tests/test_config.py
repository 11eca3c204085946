"""whisperer.toml: a valid file becomes one Config; every mistake names the file, the key and the fix."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.config.loading import ConfigError, MissingConfig, load_config

SOURCE = """
[[sources]]
id = "tiers"
kind = "html"
url = "https://partner.example/tiers"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "whisperer.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_full_config_is_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[bot]
database = "data/whisperer.db"
timezone = "Asia/Jakarta"
alerts_channel = "#huawei-partner"
admins = ["U0ADMIN", "W12345"]
failure_alert_after = 5

[partner]
name = "Acme Cloud"
tier = "Premier"
status_expires = 2027-03-31

[fetch]
connect_timeout = 3
read_timeout = 0.5
max_bytes = 100_000
max_redirects = 2
per_host = 1
workers = 4

[[sources]]
id = "portal-incentives"
name = "Incentives"
kind = "html"
url = "${PORTAL}/incentives"
selector = "table.incentives"
tiers_selector = "table.tiers"
topic = "rebate"
every = "6h"
ignore = ['Last refreshed .*', '^Build \\S+$']
unordered = true
channel = "#rebates"
headers = { Cookie = "session=${PORTAL_COOKIE}" }
extract_deadlines = true
lag_days = 3

[[sources]]
id = "saved-export"
kind = "file"
url = "exports/${EXPORT_NAME}.html"
twin = "portal-incentives"
paused = true

[renewal]
consequence = "Provisional until Q3"
""",
    )
    env = {"PORTAL": "https://partner.example", "PORTAL_COOKIE": "abc123", "EXPORT_NAME": "tiers"}

    config = load_config(path, env)

    assert config.path == path
    assert config.database == tmp_path / "data" / "whisperer.db"  # relative to the config file
    assert (config.bot.timezone, config.bot.alerts_channel) == ("Asia/Jakarta", "#huawei-partner")
    assert config.bot.admins == ("U0ADMIN", "W12345")
    assert config.bot.failure_alert_after == 5
    assert (config.partner.name, config.partner.tier, config.partner.status_expires) == (
        "Acme Cloud",
        "Premier",
        date(2027, 3, 31),
    )
    assert config.fetch.connect_timeout == 3.0 and isinstance(config.fetch.connect_timeout, float)
    assert (config.fetch.read_timeout, config.fetch.max_bytes, config.fetch.max_redirects) == (0.5, 100_000, 2)
    assert (config.fetch.per_host, config.fetch.workers) == (1, 4)
    portal = config.source("portal-incentives")
    assert portal is not None
    assert portal.url == "https://partner.example/incentives"
    assert portal.headers == (("Cookie", "session=abc123"),)
    assert "abc123" not in repr(portal)  # cookies stay out of logs
    assert (portal.selector, portal.tiers_selector, portal.topic, portal.every) == (
        "table.incentives",
        "table.tiers",
        "rebate",
        6 * 3600,
    )
    assert portal.ignore == ("Last refreshed .*", r"^Build \S+$")
    assert portal.unordered and portal.extract_deadlines and portal.lag_days == 3
    assert portal.channel == "#rebates"
    export = config.source("saved-export")
    assert export is not None
    assert export.url == str(tmp_path / "exports" / "tiers.html")
    assert (export.kind, export.twin, export.paused, export.every, export.topic) == (
        "file",
        "portal-incentives",
        True,
        1800,
        "announcement",
    )
    assert config.knowledge.renewal.consequence == "Provisional until Q3"


def test_defaults_when_sections_are_left_out(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, SOURCE), {})

    assert config.database == tmp_path / "whisperer.db"
    assert config.bot.timezone == "UTC" and config.bot.failure_alert_after == 3
    assert config.fetch.per_host == 2 and config.fetch.max_redirects == 5
    [source] = config.sources
    assert (source.every, source.topic, source.ignore, source.selector) == (1800, "announcement", (), None)


def test_whisperer_db_overrides_the_database_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[bot]\ndatabase = "whisperer.db"\n' + SOURCE)
    elsewhere = tmp_path / "elsewhere" / "w.db"

    config = load_config(path, {"WHISPERER_DB": str(elsewhere)})

    assert config.database == elsewhere


def test_the_example_config_loads() -> None:
    example = Path(__file__).parent.parent / "whisperer.example.toml"
    if not example.exists():
        pytest.skip("no whisperer.example.toml in this checkout")
    config = load_config(example, {})
    assert config.sources
    assert len({s.id for s in config.sources}) == len(config.sources)


# (name, file text, env, key as named in the message, the problem, the fix)
ERRORS: list[tuple[str, str, dict[str, str], str, str, str]] = [
    (
        "unknown key, did you mean",
        SOURCE + 'selecter = "table"\n',
        {},
        "sources[0].selecter",
        "unknown key",
        "did you mean 'selector'?",
    ),
    (
        "unknown key in [bot]",
        '[bot]\ntimezon = "UTC"\n',
        {},
        "bot.timezon",
        "unknown key",
        "did you mean 'timezone'?",
    ),
    (
        "unknown key with nothing close",
        "[fetch]\nbananas = 3\n",
        {},
        "fetch.bananas",
        "unknown key",
        "known keys: allow_private, connect_timeout, max_bytes, max_redirects, per_host, read_timeout, "
        "total_timeout, workers",
    ),
    ("unknown section", "[fetchh]\nread_timeout = 1\n", {}, "fetchh", "unknown section", "did you mean [fetch]?"),
    (
        "unknown kind",
        SOURCE.replace('kind = "html"', 'kind = "htm"'),
        {},
        "sources[0].kind",
        "unknown kind 'htm'",
        "did you mean 'html'? use one of: html, feed, file",
    ),
    (
        "bad every",
        SOURCE + 'every = "often"\n',
        {},
        "sources[0].every",
        "'often' is not an interval",
        'use a number and a unit: "30m", "6h", "1d"',
    ),
    (
        "zero every",
        SOURCE + 'every = "0m"\n',
        {},
        "sources[0].every",
        "'0m' is not an interval",
        'use a number and a unit: "30m", "6h", "1d"',
    ),
    (
        "duplicate id",
        SOURCE + SOURCE,
        {},
        "sources[1].id",
        "duplicate source id 'tiers' (also sources[0])",
        "give every source its own id",
    ),
    (
        "invalid CSS selector",
        SOURCE + 'selector = "div["\n',
        {},
        "sources[0].selector",
        "invalid CSS selector 'div['",
        'write a CSS selector such as "table"',
    ),
    (
        "invalid tiers selector",
        SOURCE + 'tiers_selector = "table >> td"\n',
        {},
        "sources[0].tiers_selector",
        "invalid CSS selector 'table >> td'",
        'write a CSS selector such as "table"',
    ),
    (
        "invalid regex",
        SOURCE + "ignore = ['(unclosed']\n",
        {},
        "sources[0].ignore",
        "invalid regular expression '(unclosed'",
        "escape special characters such as ( [ . * with a backslash",
    ),
    (
        "missing ${VAR} in url",
        SOURCE.replace('"https://partner.example/tiers"', '"${PORTAL_URL}/tiers"'),
        {},
        "sources[0].url",
        "${PORTAL_URL} is not set in the environment",
        "set PORTAL_URL in the environment or in .env (see .env.example)",
    ),
    (
        "missing ${VAR} in a header",
        SOURCE + 'headers = { Cookie = "${PORTAL_COOKIE}" }\n',
        {"PORTAL_URL": "unused"},
        "sources[0].headers.Cookie",
        "${PORTAL_COOKIE} is not set in the environment",
        "set PORTAL_COOKIE in the environment or in .env",
    ),
    (
        "bad URL",
        SOURCE.replace("https://partner.example/tiers", "partner.example/tiers"),
        {},
        "sources[0].url",
        "'partner.example/tiers' is not an http(s) URL",
        "write the full address, https://… included",
    ),
    (
        "ftp URL",
        SOURCE.replace("https://", "ftp://"),
        {},
        "sources[0].url",
        "is not an http(s) URL",
        "write the full address",
    ),
    (
        "bad timezone",
        '[bot]\ntimezone = "Asia/Jakartaa"\n',
        {},
        "bot.timezone",
        "unknown timezone 'Asia/Jakartaa'",
        'use an IANA name such as "Asia/Jakarta"',
    ),
    (
        "bad admin id",
        '[bot]\nadmins = ["alice"]\n',
        {},
        "bot.admins",
        "'alice' is not a Slack user ID",
        "use IDs like U0ADMIN",
    ),
    (
        "every as a number",
        SOURCE + "every = 30\n",
        {},
        "sources[0].every",
        "expected a string, found a whole number 30",
        'every = "30m"',
    ),
    (
        "unordered as a string",
        SOURCE + 'unordered = "yes"\n',
        {},
        "sources[0].unordered",
        "expected true or false, found a string 'yes'",
        "write unordered as true or false",
    ),
    (
        "read_timeout as a string",
        '[fetch]\nread_timeout = "fast"\n',
        {},
        "fetch.read_timeout",
        "expected a number, found a string 'fast'",
        "write read_timeout as a number",
    ),
    (
        "failure_alert_after as a boolean",
        "[bot]\nfailure_alert_after = true\n",
        {},
        "bot.failure_alert_after",
        "expected a whole number",
        "write failure_alert_after as a whole number",
    ),
    (
        "ignore as a string",
        SOURCE + "ignore = 'Build .*'\n",
        {},
        "sources[0].ignore",
        "expected a list, found a string 'Build .*'",
        "write ignore as a list",
    ),
    (
        "ignore with a number in it",
        SOURCE + "ignore = ['Build', 42]\n",
        {},
        "sources[0].ignore",
        "expected a list of strings, found 42",
        "quote each item",
    ),
    (
        "header value not a string",
        SOURCE + "headers = { X-Tier = 3 }\n",
        {},
        "sources[0].headers.X-Tier",
        "expected a string, found 3",
        "quote the value",
    ),
    (
        "status_expires quoted",
        '[partner]\nstatus_expires = "2027-03-31"\n',
        {},
        "partner.status_expires",
        "expected a date (2027-03-31, unquoted), found a string '2027-03-31'",
        "write status_expires as a date (2027-03-31, unquoted)",
    ),
    (
        "missing id",
        '[[sources]]\nkind = "html"\nurl = "https://x.example/"\n',
        {},
        "sources[0].id",
        "is required",
        "id",
    ),
    (
        "invalid id",
        SOURCE.replace('id = "tiers"', 'id = "Partner Tiers"'),
        {},
        "sources[0].id",
        "'Partner Tiers' is not a valid id",
        "use lowercase letters, digits",
    ),
    (
        "unknown topic",
        SOURCE + 'topic = "polcy"\n',
        {},
        "sources[0].topic",
        "unknown topic 'polcy'",
        "did you mean 'policy'?",
    ),
    (
        "twin names nothing",
        SOURCE + 'twin = "nope"\n',
        {},
        "sources[0].twin",
        "no source has id 'nope'",
        "name another source's id",
    ),
    (
        "per_host zero",
        "[fetch]\nper_host = 0\n",
        {},
        "fetch.per_host",
        "must be greater than zero",
        "per_host",
    ),
    (
        "max_redirects too high",
        "[fetch]\nmax_redirects = 9\n",
        {},
        "fetch.max_redirects",
        "must be between 0 and 5",
        "max_redirects",
    ),
    (
        "failure_alert_after zero",
        "[bot]\nfailure_alert_after = 0\n",
        {},
        "bot.failure_alert_after",
        "must be at least 1",
        "failure_alert_after",
    ),
    ("sources as a table", '[sources]\nid = "x"\n', {}, "sources", "expected [[sources]] tables", "[[sources]]"),
    ("[[bot]] instead of [bot]", '[[bot]]\ntimezone = "UTC"\n', {}, "bot", "expected a table", "[bot]"),
    ("a feature section of the wrong shape", "renewal = 3\n", {}, "renewal", "expected a table", "[renewal]"),
    ("not TOML", "[bot\n", {}, "", "not valid TOML", "fix the syntax at the line shown"),
]


@pytest.mark.parametrize(("name", "text", "env", "key", "problem", "fix"), ERRORS, ids=[e[0] for e in ERRORS])
def test_config_errors_name_the_file_the_key_and_the_fix(
    tmp_path: Path, name: str, text: str, env: dict[str, str], key: str, problem: str, fix: str
) -> None:
    path = write(tmp_path, text)

    with pytest.raises(ConfigError) as caught:
        load_config(path, env)

    error = caught.value
    assert error.where.startswith(str(path)), error.where
    assert error.where == (f"{path}: {key}" if key else str(path))
    assert problem in error.problem
    assert error.fix, f"{name}: no fix offered"
    assert fix in error.fix
    assert str(error) == f"{error.where}: {error.problem}; {error.fix}"


def test_a_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    path = tmp_path / "whisperer.toml"

    with pytest.raises(MissingConfig) as caught:
        load_config(path, {})

    assert caught.value.where == str(path)
    assert "cp whisperer.example.toml whisperer.toml" in caught.value.fix
    assert "WHISPERER_CONFIG" in caught.value.fix


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the CLI from an empty directory with none of our variables set (no .env, no WHISPERER_*)."""
    for name in ("WHISPERER_DB", "WHISPERER_CONFIG", "PORTAL_URL", "PORTAL_COOKIE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(("name", "text", "env", "key", "problem", "fix"), ERRORS, ids=[e[0] for e in ERRORS])
def test_the_cli_exits_2_with_the_message_on_stderr(
    clean_env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    text: str,
    env: dict[str, str],
    key: str,
    problem: str,
    fix: str,
) -> None:
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    path = write(clean_env, text)

    code = main(["--config", str(path), "poll"])

    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.startswith("whisperer: configuration error\n")
    assert str(path) in err
    assert key in err and problem in err
    assert fix in err.split("\n  fix: ", 1)[1]
    assert not (clean_env / "whisperer.db").exists()  # nothing was created


@pytest.mark.parametrize("argv", [["poll"], ["sources"], ["--config", "missing.toml", "poll"]])
def test_the_cli_without_a_config_file_says_how_to_make_one(
    clean_env: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code = main(argv)

    err = capsys.readouterr().err
    assert code == 2
    assert "no configuration file here" in err
    assert "fix: create one with `cp whisperer.example.toml whisperer.toml`" in err


URLS = [
    "https://partner.example/tiers",
    "http://127.0.0.1:8080/p/1.html?x=1#top",
    "https://user:pw@host.example:8443/a%20b/[1]?q={x}",
    "HTTPS://partner.example/",  # urlsplit lowercases the scheme
    "http://[::1]:8080/",
    "http://[::1/",  # urlsplit refuses an unclosed bracket
    "http:///no-host",
    "http://?q",
    "http://#frag",
    "https://\tpartner.example/",  # urlsplit drops tabs
    "https://partner.example/a b",
    "https://bücher.example/",
    "ftp://partner.example/",
    "partner.example/tiers",
    "https:/partner.example",
]


@pytest.mark.parametrize("url", URLS)
def test_a_source_url_is_accepted_exactly_when_urlsplit_finds_an_http_address(tmp_path: Path, url: str) -> None:
    """The one-regex check for plain URLs is a shortcut, never a different rule."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.netloc)
    except ValueError:
        valid = False
    path = write(tmp_path, f'[[sources]]\nid = "s"\nkind = "html"\nurl = "{url}"\n')

    if valid:
        assert load_config(path, {}).sources[0].url == url
    else:
        with pytest.raises((ConfigError, ValueError)):
            load_config(path, {})
