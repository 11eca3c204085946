"""A real small filesystem for storage-fault tests: a tmpfs mounted under tmp_path that tests fill or make read-only.

Mounting needs root (CI containers and this project's test machines run as root); elsewhere the tests skip.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


class SmallDisk:
    """A 4 MB tmpfs: `fill()` takes every free byte, `free()` gives them back, `read_only()`/`writable()` remount."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.filler = path / "filler.bin"

    def fill(self) -> None:
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            for chunk in (65536, 4096, 512, 1):  # down to the last byte, so not even one page fits
                with contextlib.suppress(OSError):
                    while True:
                        os.write(fd, b"\0" * chunk)
        finally:
            os.close(fd)

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def _mount(self, *options: str) -> None:
        subprocess.run(["mount", "-o", ",".join(("remount", *options)), str(self.path)], check=True)

    def read_only(self) -> None:
        self._mount("ro")

    def writable(self) -> None:
        self._mount("rw")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield SmallDisk(mount_point)
    finally:
        # lazy: a connection a failed test left open must not keep the mount (and tmp_path) alive
        subprocess.run(["umount", "-l", str(mount_point)], check=False)
