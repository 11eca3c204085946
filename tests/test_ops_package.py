"""Packaging: the wheel builds without setuptools warnings, installs into a fresh virtualenv and runs the demo
there, so package data (the bundled glossary, the demo portal) cannot go missing unnoticed."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WARNINGS = ("BuildBackendWarning", "SetuptoolsDeprecationWarning", "SetuptoolsWarning", "is absent from the")


def test_the_wheel_builds_cleanly_installs_in_a_fresh_venv_and_runs_the_demo(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-cache-dir", str(ROOT), "-w", str(wheels)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    said = [line for line in (built.stdout + built.stderr).splitlines() if any(w in line for w in WARNINGS)]
    assert said == []
    [wheel] = wheels.glob("huawei_whisperer-*.whl")

    # A fresh venv gets the wheel (no dependencies); the dependencies come from the test run's own
    # site-packages, listed after the venv's own (a plain path: no editable-install hooks come with it).
    target = tmp_path / "venv"
    venv.create(target, with_pip=False)
    python = target / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "WHISPERER_", "PYTHON"))}
    where = subprocess.run(
        [str(python), "-c", "import bot, handlers; print(bot.__file__); print(handlers.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=True,
    ).stdout.split()
    assert all(path.startswith(site) for path in where), where  # the wheel's copy, not the source tree

    demo = subprocess.run(
        [str(target / "bin" / "whisperer"), "demo"], capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env
    )
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "Nobody refreshed anything twice." in demo.stdout
