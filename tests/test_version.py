"""The release is written in two places that must agree: pyproject.toml and the package (CLI, User-Agent)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import bot
import watchers
from watchers.fetching.http import user_agent

ROOT = Path(__file__).resolve().parent.parent


def test_the_package_and_pyproject_name_the_same_release() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert watchers.__version__ == bot.__version__ == project["version"]
    assert user_agent().startswith(f"huawei-whisperer/{project['version']} ")
