"""Cron mode: `whisperer poll --ping URL` (healthchecks-style) and `--metrics-file` (textfile collector)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from botserver import write_config
from conftest import FixtureServer, Response
from prometheus_client.parser import text_string_to_metric_families

from bot.cli.main import main

PAGE = b"<html><body><main>Cross-cloud policy v3.2.1</main></body></html>"


class PingServer:
    """A healthchecks-style endpoint on 127.0.0.1: records each ping's method, path and body."""

    def __init__(self) -> None:
        self.pings: list[tuple[str, str, str]] = []
        pings = self.pings

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8") if length else ""
                pings.append((self.command, self.path, body))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"OK")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}/ping/abc-123"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def pinger() -> Iterator[PingServer]:
    ping = PingServer()
    yield ping
    ping.stop()


def samples(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(path.read_text(encoding="utf-8")):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_poll_pings_start_then_success_or_fail_and_writes_a_metrics_file(
    tmp_path: Path, server: FixtureServer, pinger: PingServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.routes["/policy.html"] = Response(200, PAGE, {"Content-Type": "text/html"})
    sources = f'[[sources]]\nid = "policy"\nkind = "html"\nurl = "{server.url("/policy.html")}"\nevery = "1h"\n'
    config = write_config(tmp_path, sources)
    metrics_file = tmp_path / "whisperer.prom"

    argv = ["--config", str(config), "poll", "--ping", pinger.url, "--metrics-file", str(metrics_file)]
    assert main(argv) == 0
    assert "first snapshot stored" in capsys.readouterr().out  # the poll still prints as usual
    assert [(m, p) for m, p, _ in pinger.pings] == [("POST", "/ping/abc-123/start"), ("POST", "/ping/abc-123")]
    assert pinger.pings[1][2].startswith("exit status 0\n") and "Polled 1 source" in pinger.pings[1][2]

    found = samples(metrics_file)
    assert found[("whisperer_poll_runs_total", (("outcome", "new"),))] == 1
    assert found[("whisperer_poll_runs_total", (("outcome", "error"),))] == 0
    assert found[("whisperer_poll_duration_seconds_count", ())] == 1
    assert found[("whisperer_outbox_depth", ())] == 0
    assert found[("whisperer_last_poll_timestamp_seconds", ())] > 0
    assert ("whisperer_source_last_success_timestamp_seconds", (("source", "policy"),)) in found

    # The only source fails: exit status 1, and the ping goes to /fail with it.
    server.routes["/policy.html"] = Response(500, b"down")
    pinger.pings.clear()
    assert main(argv) == 1
    assert [p for _, p, _ in pinger.pings] == ["/ping/abc-123/start", "/ping/abc-123/fail"]
    assert pinger.pings[1][2].startswith("exit status 1\n") and "1 failed" in pinger.pings[1][2]
    failed = samples(metrics_file)
    assert failed[("whisperer_poll_runs_total", (("outcome", "error"),))] == 1
    # a failing source keeps its series (an alert on its age keeps firing), at no later than its failures began
    last = ("whisperer_source_last_success_timestamp_seconds", (("source", "policy"),))
    assert found[last] <= failed[last] <= failed[("whisperer_last_poll_timestamp_seconds", ())]


def test_a_ping_that_cannot_be_sent_does_not_change_the_exit_status(
    tmp_path: Path, server: FixtureServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.routes["/policy.html"] = Response(200, PAGE, {"Content-Type": "text/html"})
    sources = f'[[sources]]\nid = "policy"\nkind = "html"\nurl = "{server.url("/policy.html")}"\nevery = "1h"\n'
    config = write_config(tmp_path, sources)
    assert main(["--config", str(config), "poll", "--ping", server.url("/nowhere")]) == 0
    err = capsys.readouterr().err
    assert "the ping to" in err and "/nowhere/start was answered HTTP 501" in err  # GET-only server: said, nothing else


def test_metrics_file_in_a_missing_folder_is_a_clear_error(
    tmp_path: Path, server: FixtureServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.routes["/policy.html"] = Response(200, PAGE, {"Content-Type": "text/html"})
    sources = f'[[sources]]\nid = "policy"\nkind = "html"\nurl = "{server.url("/policy.html")}"\nevery = "1h"\n'
    config = write_config(tmp_path, sources)
    target = tmp_path / "no-such-folder" / "whisperer.prom"
    assert main(["--config", str(config), "poll", "--metrics-file", str(target)]) == 2
    err = capsys.readouterr().err
    assert "cannot write --metrics-file" in err and "folder you can write to" in err
