"""A `file` source must be a regular file, and is read at most max_bytes whatever its size claims."""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import FAST, Watch

from watchers.fetching.http import FetchError, read_file
from watchers.sources import SourceSpec


def file_source(source_id: str, path: Path | str) -> SourceSpec:
    return SourceSpec(id=source_id, kind="file", url=str(path))


def test_a_fifo_is_refused_without_waiting_for_a_writer(watch: Watch, tmp_path: Path) -> None:
    fifo = tmp_path / "export.html"
    os.mkfifo(fifo)
    notes = tmp_path / "notes.txt"
    notes.write_text("Elite rebate: 6%\n", encoding="utf-8")
    errors: list[str] = []

    def read() -> None:
        try:
            read_file(str(fifo), 1000)
        except FetchError as exc:
            errors.append(str(exc))

    reader = threading.Thread(target=read)
    reader.start()
    reader.join(timeout=60)
    if reader.is_alive():  # it blocked in open(): release it so the test run can end, then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(timeout=10)
        pytest.fail("reading a FIFO source blocked")
    assert errors and "is a named pipe (FIFO), not a file" in errors[0]
    watch.poll(file_source("pipe", fifo), file_source("n", notes))
    assert watch.source("pipe")["last_status"] == "error"
    assert "is a named pipe (FIFO), not a file" in watch.source("pipe")["last_error"]
    assert watch.snapshot("n") == "Elite rebate: 6%"  # the next source was polled


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_dev_zero_is_refused(watch: Watch, tmp_path: Path) -> None:
    link = tmp_path / "innocent.txt"
    link.symlink_to("/dev/zero")
    watch.poll(file_source("zero", "/dev/zero"), file_source("link", link))
    for source_id in ("zero", "link"):
        row = watch.source(source_id)
        assert row["last_status"] == "error" and "is a device, not a file" in row["last_error"], row


def test_directories_and_sockets_are_refused(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="is a directory; point the source at one file"):
        read_file(str(tmp_path), 1000)
    path = tmp_path / "s.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(str(path))
        with pytest.raises(FetchError, match="is a socket, not a file"):
            read_file(str(path), 1000)
    finally:
        listener.close()


def test_a_regular_file_is_read_and_capped(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_bytes(b"x" * 1000)
    assert read_file(str(page), 1000).body == b"x" * 1000
    with pytest.raises(FetchError, match="file is 1,000 bytes"):
        read_file(str(page), 999)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_the_cap_holds_when_the_size_lies() -> None:
    assert os.stat("/proc/self/status").st_size == 0  # a regular file that says it is empty
    with pytest.raises(FetchError, match="100-byte cap"):
        read_file("/proc/self/status", 100)
    assert len(read_file("/proc/self/status", replace(FAST).max_bytes).body) > 100
