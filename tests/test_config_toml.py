"""Reading whisperer.toml: toml-rs reads it as tomllib does (values, types, what is refused), and every error
message is still tomllib's."""

from __future__ import annotations

import math
import tomllib
from datetime import datetime, time
from pathlib import Path
from typing import Any

import pytest

from bot.config.loading import ConfigError, load_config, read_toml

ROOT = Path(__file__).resolve().parent.parent

MULTILINE = 'multi = """\nfirst\nsecond"""\n' + "multi_literal = '''\nraw \\d{1,3}'''\n"
EVERY_CONSTRUCT = (
    MULTILINE
    + r"""
int = 42
negative = -17
zero = -0
hex = 0xDEAD_BEEF
octal = 0o755
binary = 0b1101
big = 9_223_372_036_854_775_807
float = 3.1415
exponent = -2e-3
small = 6.626e-34
underscored = 1_000.5
infinite = -inf
not_a_number = nan
yes = true
basic = "tab\there, é, \u00e9, \U0001F600"
literal = 'C:\Users\nodejs\templates'
utc = 1979-05-27T07:32:00Z
offset = 1979-05-27T00:32:00-07:00
fraction = 1979-05-27T00:32:00.999999+05:30
space = 1979-05-27 07:32:00Z
local_datetime = 1979-05-27T07:32:00.5
local_date = 2027-03-31
local_time = 07:32:00
local_time_fraction = 00:32:00.999999
array = [1, 2, 3,]
mixed = [1, "a", 2.0, [1], { x = 1 }]
inline = { x = 1, y = { z = "q" } }
"quoted key" = 1
dotted.key.here = 2

[bot]
admins = ["U0ADMIN"]

[[sources]]
id = "portal"
headers = { Authorization = "Bearer ${TOKEN}" }

[[sources.metrics]]
name = "emi"
zones = { red = 60, yellow = 70.5 }

[[sources]]
id = "second"
"""
)


def same(ours: Any, theirs: Any, where: str = "") -> None:
    """Equal, and of the same types all the way down (a timezone of the same class, not only the same offset)."""
    assert type(ours) is type(theirs), where
    if isinstance(ours, dict):
        assert list(ours) == list(theirs), where
        for key in ours:
            same(ours[key], theirs[key], f"{where}.{key}")
    elif isinstance(ours, list):
        assert len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            same(a, b, f"{where}[{i}]")
    elif isinstance(ours, float) and math.isnan(theirs):
        assert math.isnan(ours), where
    else:
        assert ours == theirs, where
        if isinstance(ours, datetime | time):
            assert type(ours.tzinfo) is type(theirs.tzinfo), where
            assert repr(ours) == repr(theirs), where  # what an error message quoting the value shows


def test_every_construct_reads_as_tomllib_reads_it() -> None:
    same(read_toml(EVERY_CONSTRUCT, "whisperer.toml"), tomllib.loads(EVERY_CONSTRUCT))


DATA = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("tests/data/**/*.toml"))
SHIPPED = ["whisperer.example.toml", "pyproject.toml", *DATA]


@pytest.mark.parametrize("name", SHIPPED)
def test_the_shipped_toml_files_read_as_tomllib_reads_them(name: str) -> None:
    text = (ROOT / name).read_text(encoding="utf-8")
    same(read_toml(text, name), tomllib.loads(text))


def test_the_toml_examples_in_the_docs_read_as_tomllib_reads_them() -> None:
    blocks = [
        block.split("```", 1)[0]
        for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
        for block in doc.read_text(encoding="utf-8").split("```toml\n")[1:]
    ]
    assert blocks
    for block in blocks:
        try:
            expected = tomllib.loads(block)
        except tomllib.TOMLDecodeError:  # a fragment shown with "…": refused by both
            with pytest.raises(ConfigError):
                read_toml(block, "docs")
            continue
        same(read_toml(block, "docs"), expected)


NOT_TOML_1_0 = {
    "unclosed table header": "[bot\n",
    "a key twice": "a = 1\na = 2\n",
    "a table twice": "[a]\nb = 1\n[a]\nc = 2\n",
    "no such second": "at = 00:00:60\n",
    # TOML 1.1 syntax: accepted by newer parsers, refused by tomllib here, so refused by us too.
    "trailing comma in an inline table": "t = { a = 1, }\n",
    "newline in an inline table": "t = { a = 1,\n b = 2 }\n",
    "escape \\e": 'k = "\\e"\n',
    "escape \\x": 'k = "\\x41"\n',
    "time without seconds": "at = 07:32\n",
    "datetime without seconds": "at = 1979-05-27T07:32Z\n",
    "a byte-order mark": "\ufeffa = 1\n",
}


@pytest.mark.parametrize("text", NOT_TOML_1_0.values(), ids=NOT_TOML_1_0.keys())
def test_what_tomllib_refuses_is_refused_with_its_message(tmp_path: Path, text: str) -> None:
    path = tmp_path / "whisperer.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(tomllib.TOMLDecodeError) as expected:
        tomllib.loads(text)

    with pytest.raises(ConfigError) as caught:
        load_config(path, {})

    assert caught.value.where == str(path)
    assert caught.value.problem == f"not valid TOML ({expected.value})"
    assert caught.value.fix == "fix the syntax at the line shown"


def test_a_file_that_is_not_utf8_still_says_so(tmp_path: Path) -> None:
    path = tmp_path / "whisperer.toml"
    path.write_bytes(b'[partner]\nname = "Caf\xe9"\n')

    with pytest.raises(ConfigError) as caught:
        load_config(path, {})

    assert (caught.value.problem, caught.value.fix) == ("not UTF-8 text", "save the file as UTF-8")
