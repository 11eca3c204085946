"""The weekly digest: what it says, when it is queued (once per ISO week), and the three ways to see it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from botserver import CHANNEL, BotServer, text_of, write_config
from conftest import NOW, FixtureServer, Response
from fakeslack import FakeSlack

from bot.cli.main import main
from bot.config.loading import ConfigError, DigestSettings, load_config, parse_config
from bot.delivery.outbox import Pacer, deliver_alerts
from bot.delivery.sinks import SlackSink
from bot.process.digest import DIGEST_JOB, digest_key, queue_digest
from bot.process.runtime import Runtime, make_context, open_runtime, poll
from bot.slack.app import make_web_client
from bot.slack.render import to_text
from handlers.overview.digest import digest
from storage.db import transaction
from storage.outbox import alerts as outbox
from storage.programme import deadlines
from storage.team import certifications as certs
from storage.team import people
from storage.watching import sources as state

PAGE = "<html><body><main><p>{text}</p></main></body></html>"
SOURCES = """
[[sources]]
id = "policy-page"
name = "Cross-cloud policy"
kind = "html"
url = "{url}/policy.html"
selector = "main"
topic = "policy"
every = "1h"

[[sources]]
id = "cert-news"
name = "Certification news"
kind = "html"
url = "{url}/certs.html"
selector = "main"
topic = "certification"
every = "1h"

[[sources]]
id = "broken"
kind = "html"
url = "{url}/broken.html"
topic = "announcement"
every = "1h"
"""
# Monday 2026-11-30 09:30 in Jakarta (UTC+7): digest time with the defaults.
MONDAY = datetime(2026, 11, 30, 2, 30, tzinfo=UTC)
DIGEST_TOML = '\n[digest]\nday = "monday"\ntime = "09:00"\nchannel = "C0DIGEST"\n'


def serve(server: FixtureServer, path: str, text: str) -> None:
    server.routes[path] = Response(200, PAGE.format(text=text).encode(), {"Content-Type": "text/html"})


@pytest.fixture
def runtime(tmp_path: Path, server: FixtureServer) -> Iterator[Runtime]:
    """A week of history: two policy changes, one certification change, a failing source, team data."""
    serve(server, "/policy.html", "growth 20%")
    serve(server, "/certs.html", "exam fee 200")
    server.routes["/broken.html"] = Response(500, b"down")
    config = load_config(write_config(tmp_path, SOURCES.format(url=server.url("")) + DIGEST_TOML), env={})
    rt = open_runtime(config, MONDAY - timedelta(days=8))
    poll(rt, MONDAY - timedelta(days=8))  # first snapshots, and a failure, before the week began
    serve(server, "/policy.html", "growth 25%")
    poll(rt, MONDAY - timedelta(days=3))
    serve(server, "/policy.html", "growth 25%, deal registration 72 hours")
    serve(server, "/certs.html", "exam fee 250")
    poll(rt, MONDAY - timedelta(days=1))
    with transaction(rt.db):
        ana = people.upsert_person(rt.db, "Ana Lima", MONDAY, slack_id="U0ANA")
        budi = people.upsert_person(rt.db, "Budi Santoso", MONDAY, slack_id="U0BUDI")
        for who, name, expires in ((ana, "HCIE-Cloud", date(2027, 1, 15)), (budi, "HCCDE", date(2027, 9, 1))):
            certs.upsert_certification(
                rt.db, who, name, MONDAY, level=name[:4], number=None, passed=None, expires=expires, expires_given=True
            )
        deadlines.add_deadline(rt.db, "d1", date(2026, 12, 7), "Q4 deal registration cut-off", "manual", MONDAY)
        deadlines.add_deadline(rt.db, "d2", date(2027, 2, 1), "Far away", "manual", MONDAY)
    yield rt
    rt.close()


def test_the_digest_says_what_the_week_held(runtime: Runtime) -> None:
    text = to_text(digest(make_context(runtime, MONDAY, operator=True)))
    assert "Weekly digest for Your company · 2026-W49" in text
    assert "Changes this week (3)" in text
    policy, certification = text.index("policy · 2"), text.index("certification · 1")
    assert policy < certification  # topics in their usual order
    assert "Cross-cloud policy" in text and "Certification news" in text
    assert "Deadlines in the next 14 days" in text and "2026-12-07 (in 7 days) — Q4 deal registration cut-off" in text
    assert "Far away" not in text  # beyond 14 days
    assert "Certifications expiring in the next 60 days" in text and "Ana — HCIE-Cloud: 2027-01-15" in text
    assert "Budi" not in text  # expires in nine months
    assert "Renewal" in text and "KPIs met" in text
    assert "Failing sources" in text and "broken" in text and "failing ×" in text


def test_a_quiet_week_says_so(tmp_path: Path) -> None:
    config = parse_config({"bot": {"database": str(tmp_path / "w.db")}}, env={})
    rt = open_runtime(config, MONDAY)
    try:
        text = to_text(digest(make_context(rt, MONDAY, operator=True)))
    finally:
        rt.close()
    assert "Nothing changed on the portal" in text and "all answering" in text


@pytest.mark.parametrize(
    ("local", "due"),
    [
        (datetime(2026, 11, 30, 8, 59), False),  # Monday, before 09:00
        (datetime(2026, 11, 30, 9, 0), True),
        (datetime(2026, 11, 30, 23, 0), True),  # started late on digest day: still this week's digest
        (datetime(2026, 12, 1, 9, 30), False),  # Tuesday: wait for next week
    ],
)
def test_the_digest_is_due_on_its_day_after_its_time(local: datetime, due: bool) -> None:
    tz = load_tz()
    key = digest_key(DigestSettings(), local.replace(tzinfo=tz), tz)
    assert key == ("digest:2026-W49" if due else None)


def load_tz() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Jakarta")


def test_queued_once_per_week_and_posted_once_even_across_restarts(
    runtime: Runtime, tmp_path: Path, fake_slack: FakeSlack
) -> None:
    assert DIGEST_JOB.run(runtime, MONDAY - timedelta(hours=1)) is None  # 08:30: not yet
    assert DIGEST_JOB.run(runtime, MONDAY) == "digest:2026-W49"
    assert DIGEST_JOB.run(runtime, MONDAY + timedelta(minutes=15)) is None  # every 15 minutes: nothing new
    config = runtime.config
    again = open_runtime(config, MONDAY)  # a restart: another process on the same database
    try:
        assert queue_digest(again, MONDAY + timedelta(hours=2)) is None
    finally:
        again.close()
    [row] = [r for r in outbox.list_alerts(runtime.db) if r["kind"] == "digest"]
    assert (row["key"], row["channel"]) == ("digest:2026-W49", "C0DIGEST")
    sink = SlackSink(make_web_client(fake_slack.token, fake_slack.api_url))
    for minutes in (0, 1, 2):
        deliver_alerts(
            runtime.db,
            sink,
            MONDAY + timedelta(minutes=minutes),
            tz=config.bot.tz,
            default_channel=CHANNEL,
            pacer=Pacer(interval=timedelta(0)),
        )
    [post] = fake_slack.posts("C0DIGEST")
    assert "Weekly digest" in text_of(post) and "Changes this week (3)" in text_of(post)
    assert DIGEST_JOB.run(runtime, MONDAY + timedelta(days=7)) == "digest:2026-W50"  # next Monday: the next one


def test_digest_config_is_validated() -> None:
    base: dict[str, Any] = {"bot": {"database": "w.db"}}
    settings = parse_config({**base, "digest": {"day": "Friday", "time": "16:30"}}, env={}).digest
    assert (settings.day, settings.at, settings.channel, settings.enabled) == (4, time(16, 30), None, True)
    assert parse_config({**base, "digest": {"time": time(7, 15)}}, env={}).digest.at == time(7, 15)
    with pytest.raises(ConfigError) as bad_day:
        parse_config({**base, "digest": {"day": "mondey"}}, env={})
    assert bad_day.value.where.endswith("digest.day") and "did you mean 'monday'" in bad_day.value.fix
    with pytest.raises(ConfigError) as bad_time:
        parse_config({**base, "digest": {"time": "9am"}}, env={})
    assert "not a time of day" in bad_time.value.problem and '"09:00"' in bad_time.value.fix
    with pytest.raises(ConfigError) as unknown:
        parse_config({**base, "digest": {"chanel": "#x"}}, env={})
    assert "did you mean 'channel'" in unknown.value.fix
    with pytest.raises(ConfigError) as hours:
        parse_config({"bot": {"database": "w.db", "thread_hours": -1}}, env={})
    assert hours.value.where.endswith("bot.thread_hours")
    assert parse_config({"bot": {"database": "w.db", "thread_hours": 6}}, env={}).bot.thread_hours == 6.0


def test_the_cli_dry_run_prints_it_and_queues_nothing(
    runtime: Runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_file = str(tmp_path / "whisperer.toml")
    assert main(["--config", config_file, "digest", "--dry-run", "--as-of", "2026-11-30"]) == 0
    out = capsys.readouterr().out
    assert "Weekly digest for C0DIGEST, every Monday at 09:00 (Asia/Jakarta) (dry run: nothing queued)" in out
    assert "Changes this week (3)" in out and "Q4 deal registration cut-off" in out
    assert not [r for r in outbox.list_alerts(runtime.db) if r["kind"] == "digest"]
    assert main(["--config", config_file, "digest", "--as-of", "2026-11-30"]) == 0
    assert "Queued the digest for 2026-W49 to C0DIGEST" in capsys.readouterr().out
    assert main(["--config", config_file, "digest", "--as-of", "2026-11-30"]) == 0
    assert "already queued or sent" in capsys.readouterr().out


def test_slash_digest_through_the_signed_endpoint(make_bot: Any, fake_slack: FakeSlack) -> None:
    bot: BotServer = make_bot()
    with transaction(bot.db):
        state.sync_sources(bot.db, [], NOW)
    answer = bot.ask("digest")
    assert answer["response_type"] == "ephemeral"  # on demand: for the asker; the weekly job posts to the channel
    assert "Weekly digest" in text_of(answer) and "Changes this week" in text_of(answer)
    shared = bot.ask("digest share")
    assert shared["response_type"] == "in_channel"


def test_every_run_schedules_the_digest_job(runtime: Runtime, fake_slack: FakeSlack) -> None:
    """`whisperer run` passes every registered job to its one scheduler; the digest's is checked every 15 min."""
    from bot.delivery.sinks import TerminalSink
    from bot.process.connections import Connections
    from bot.process.scheduler import EXTRA_JOBS, Scheduler

    assert DIGEST_JOB in EXTRA_JOBS
    connections = Connections(runtime)
    scheduler = Scheduler(connections, TerminalSink(lambda line: None), extra_jobs=list(EXTRA_JOBS))
    try:
        scheduler.start()
        job = scheduler.job("digest")
        assert job.next_run_time.tzinfo == load_tz() and job.next_run_time.minute % 15 == 0
        assert job.misfire_grace_time == 900
    finally:
        scheduler.shutdown()
        connections.close()
