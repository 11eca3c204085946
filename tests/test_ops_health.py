"""/livez, /readyz and /metrics over real HTTP from a real `whisperer run`: in HTTP mode on the Slack server,
in Socket Mode on `[ops] listen`; `whisperer health` beside it; readiness lost when the database is deleted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from botserver import CHANNEL, write_config
from conftest import FixtureServer, Response
from fakeslack import APP_TOKEN, SECRET, FakeSlack
from fakesocket import SocketServer, SocketSlack
from prometheus_client.parser import text_string_to_metric_families
from test_slack_process import PAGE, Bot, clean_env, setup_change, wait_until

from bot.cli.main import main


@pytest.fixture
def bots() -> Iterator[list[Bot]]:
    started: list[Bot] = []
    yield started
    for bot in started:
        bot.close()


def metrics(base: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, parsed back with prometheus_client's own parser."""
    response = httpx.get(f"{base}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        assert family.name.startswith("whisperer_"), family.name
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def with_news(server: FixtureServer, config: Path) -> None:
    """A second source the cron polls never saw. The running bot polls it after its jitter (0-5 minutes); should
    that be within the test, the answer is held until the server stops: it never succeeds while the test looks."""
    server.routes["/news.html"] = Response(200, PAGE.format("1.0").encode(), {"Content-Type": "text/html"}, delay=600)
    with config.open("a", encoding="utf-8") as handle:
        handle.write(f'\n[[sources]]\nid = "news"\nkind = "html"\nurl = "{server.url("/news.html")}"\nevery = "1h"\n')


def health(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    status = main(["--config", str(config), "health"])
    return status, capsys.readouterr().out


def test_http_mode_serves_probes_and_metrics_and_readiness_follows_the_database(
    tmp_path: Path,
    server: FixtureServer,
    fake_slack: FakeSlack,
    bots: list[Bot],
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = setup_change(tmp_path, server)
    with_news(server, config)  # no success yet, whenever its jitter lets it be polled
    status, out = health(config, capsys)
    assert status == 1 and "FAIL scheduler: no `whisperer run` is running" in out and out.endswith("not ready\n")

    env = clean_env(SLACK_BOT_TOKEN=fake_slack.token, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=fake_slack.api_url)
    bot = Bot(["--config", str(config), "run", "--http", "--port", "0"], tmp_path, env)
    bots.append(bot)
    base = bot.line(r"Health and metrics: (http://127\.0\.0\.1:\d+)/livez").group(1)

    live = httpx.get(f"{base}/livez", timeout=10)
    assert live.status_code == 200 and live.text.startswith("ok   heartbeat")
    ready = httpx.get(f"{base}/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    assert "ok   schema: version" in ready.text and "ok   scheduler: running" in ready.text
    assert ready.text.endswith("ready\n")
    assert httpx.post(f"{base}/readyz", timeout=10).status_code == 405
    assert httpx.get(f"{base}/slack/events", timeout=10).status_code == 404  # still Bolt's below

    fake_slack.wait_for(lambda: fake_slack.posts(CHANNEL), 20)
    seen = wait_until(
        lambda: (m := metrics(base)).get(("whisperer_alerts_sent_total", (("outcome", "sent"),))) == 1 and m,
        what="the delivery counted",
    )
    assert seen[("whisperer_outbox_depth", ())] == 0
    assert seen[("whisperer_database_size_bytes", ())] > 0
    assert seen[("whisperer_alerts_sent_total", (("outcome", "failed"),))] == 0
    assert seen[("whisperer_poll_runs_total", (("outcome", "error"),))] == 0
    assert seen[("whisperer_scheduler_missed_jobs_total", ())] == 0
    assert ("whisperer_poll_duration_seconds_count", ()) in seen
    assert ("whisperer_source_last_success_timestamp_seconds", (("source", "policy"),)) in seen
    assert ("whisperer_source_last_success_timestamp_seconds", (("source", "news"),)) not in seen  # never checked
    [build] = [labels for name, labels in seen if name == "whisperer_build_info"]
    assert dict(build)["version"]
    status, out = health(config, capsys)
    assert status == 0 and out.endswith("\nready\n"), out

    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"whisperer.db{suffix}").unlink(missing_ok=True)
    gone = httpx.get(f"{base}/readyz", timeout=10)
    assert gone.status_code == 503
    assert "FAIL database" in gone.text and "deleted" in gone.text and gone.text.endswith("not ready\n")
    assert httpx.get(f"{base}/livez", timeout=10).status_code == 200  # alive: a restart would not bring it back
    status, out = health(config, capsys)
    assert status == 1 and "FAIL database" in out

    assert bot.stop() == 0


@pytest.fixture
def socket_server() -> Iterator[SocketServer]:
    server = SocketServer()
    yield server
    server.stop()


def test_socket_mode_serves_probes_on_ops_listen(
    tmp_path: Path, server: FixtureServer, socket_server: SocketServer, bots: list[Bot]
) -> None:
    fake = SocketSlack(socket_server).start()
    try:
        config = write_config(tmp_path, extra='[ops]\nlisten = "127.0.0.1:0"\n')
        env = clean_env(SLACK_BOT_TOKEN=fake.token, SLACK_APP_TOKEN=APP_TOKEN, SLACK_API_URL=fake.api_url)
        bot = Bot(["--config", str(config), "run"], tmp_path, env)
        bots.append(bot)
        bot.line("Socket Mode: connected")
        base = bot.line(r"Health and metrics: (http://127\.0\.0\.1:\d+)/livez").group(1)
        ready = wait_until(
            lambda: (r := httpx.get(f"{base}/readyz", timeout=10)).status_code == 200 and r,
            what="/readyz ready in Socket Mode",
        )
        assert "ok   socket: last heard from Slack" in ready.text
        assert httpx.get(f"{base}/livez", timeout=10).status_code == 200
        assert ("whisperer_outbox_depth", ()) in metrics(base)
        assert httpx.get(f"{base}/slack/events", timeout=10).status_code == 404
        assert bot.stop() == 0
    finally:
        fake.stop()


def test_ops_listen_is_validated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, extra='[ops]\nlisten = "everywhere:99999"\n')
    assert main(["--config", str(config), "sources"]) == 2
    err = capsys.readouterr().err
    assert "ops.listen" in err and "no valid TCP port" in err and "127.0.0.1:9464" in err
