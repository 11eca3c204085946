from __future__ import annotations

from bot.cli.main import main


def test_version_and_no_command(capsys: object) -> None:
    assert main([]) == 2
