"""docs/operations.md documents the data-safety commands, and its configuration examples are valid."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from bot.cli.main import build_parser
from bot.config.loading import parse_config

ROOT = Path(__file__).parent.parent
PAGE = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("command", ["backup DIR", "restore FILE", "prune --dry-run", "prune --vacuum", "db status"])
def test_each_command_is_documented_and_exists(command: str) -> None:
    name = command.split()[0]
    assert f"whisperer {name}" in PAGE
    build_parser().parse_args(command.split())


def test_the_configuration_examples_are_valid(tmp_path: Path) -> None:
    blocks = re.findall(r"```toml\n(.*?)```", PAGE, re.S)
    data: dict[str, object] = {}
    for block in blocks:
        data.update(tomllib.loads(block))
    assert set(data) == {"backup", "retention", "ops"}
    config = parse_config(data, {}, "whisperer.toml", tmp_path)
    assert config.ops.listen is not None
    assert config.backup.dir == tmp_path / "backups" and config.backup.keep == 7
    assert (config.retention.snapshots_days, config.retention.alerts_days) == (90, 180)


def test_the_growth_figures_are_filled_in() -> None:
    assert "GROWTH_FIGURES" not in PAGE
    assert "bench/growth.py" in PAGE
