"""The one scheduler: a job per active source (jitter, coalescing, misfire grace), delivery, reloads, extras."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from botserver import CHANNEL, write_config
from conftest import FixtureServer, Response
from fakeslack import FakeSlack

from bot.config.loading import load_config
from bot.delivery.sinks import SlackSink, TerminalSink
from bot.process.connections import Connections
from bot.process.runtime import Runtime, make_context, open_runtime
from bot.process.scheduler import EXTRA_JOBS, ExtraJob, Scheduler, daily, jitter_for, register_job
from bot.process.service import REMINDER_SWEEP
from bot.slack.app import make_web_client
from handlers.registry import dispatch
from storage.db import transaction
from storage.outbox import alerts as outbox
from storage.outbox.requests import remember_request
from storage.team import certifications, people
from storage.watching import changes as store
from storage.watching import sources as state

SOURCES = """
[[sources]]
id = "{a}"
kind = "html"
url = "https://portal.example/a"
every = "1h"

[[sources]]
id = "b"
kind = "html"
url = "https://portal.example/b"
every = "6h"
"""


def source_table(source_id: str, url: str, every: str) -> str:
    return f'[[sources]]\nid = "{source_id}"\nkind = "html"\nurl = "{url}"\nselector = "main"\nevery = "{every}"\n'


@pytest.fixture
def make_scheduler(tmp_path: Path) -> Iterator[Callable[..., Scheduler]]:
    made: list[tuple[Scheduler, Connections, Runtime]] = []

    def make(sources: str = SOURCES.format(a="a"), sink: Any = None, **kwargs: Any) -> Scheduler:
        config = load_config(write_config(tmp_path, sources), env={})
        runtime = open_runtime(config, datetime.now(UTC))
        connections = Connections(runtime)
        scheduler = Scheduler(connections, sink or TerminalSink(lambda line: None), **kwargs)
        made.append((scheduler, connections, runtime))
        return scheduler

    yield make
    for scheduler, connections, runtime in made:
        scheduler.shutdown()
        connections.close()
        runtime.close()


def test_a_job_per_source_with_jitter_coalescing_and_misfire_grace(make_scheduler: Callable[..., Scheduler]) -> None:
    scheduler = make_scheduler()
    scheduler.start()
    assert scheduler.job_ids() == ["deliver", "housekeeping", "poll:a", "poll:b"]
    job = scheduler.job("poll:a")
    assert job.coalesce is True  # a laptop waking after a night polls once, not once per missed slot
    assert job.max_instances == 1
    assert job.misfire_grace_time == 3600
    assert job.trigger.interval == timedelta(hours=1)
    assert job.trigger.jitter == 300
    assert scheduler.job("poll:b").misfire_grace_time == 6 * 3600
    assert scheduler.job("deliver").trigger.interval == timedelta(seconds=1)
    assert (jitter_for(60), jitter_for(1800), jitter_for(1)) == (6, 180, None)


def test_the_first_poll_follows_the_last_check(make_scheduler: Callable[..., Scheduler]) -> None:
    scheduler = make_scheduler()
    db = scheduler.connections.base.db
    checked = datetime.now(UTC) - timedelta(minutes=10)
    with transaction(db):
        state.mark_checked(db, ["a"], checked, "unchanged")
    scheduler.start()
    due_a = scheduler.job("poll:a").next_run_time
    assert checked + timedelta(hours=1) <= due_a <= checked + timedelta(hours=1, seconds=300)
    due_b = scheduler.job("poll:b").next_run_time  # never checked: soon
    assert due_b <= datetime.now(UTC) + timedelta(seconds=1 + 300)


def test_jobs_follow_source_commands(make_scheduler: Callable[..., Scheduler]) -> None:
    scheduler = make_scheduler()
    scheduler.start()
    runtime = scheduler.connections.runtime()
    now = datetime.now(UTC)
    for line in ("source add news feed https://portal.example/feed.xml 30m", "source pause a"):
        reply = dispatch(make_context(runtime, now, operator=True), line)
        assert reply.effects == ("reload-sources",)
        scheduler.sync_jobs()
    assert scheduler.job_ids() == ["deliver", "housekeeping", "poll:b", "poll:news"]
    assert scheduler.job("poll:news").trigger.interval == timedelta(minutes=30)
    dispatch(make_context(runtime, now, operator=True), "source resume a")
    changes = scheduler.sync_jobs()
    assert changes.added == ["a"] and not changes.removed
    assert not scheduler.sync_jobs()  # idempotent


def test_housekeeping_picks_up_sources_added_elsewhere_and_forgets_old_requests(
    make_scheduler: Callable[..., Scheduler],
) -> None:
    scheduler = make_scheduler()
    scheduler.start()
    db = scheduler.connections.base.db
    now = datetime.now(UTC)
    dispatch(make_context(scheduler.connections.runtime(), now, operator=True), "source add news html https://e.com/n")
    remember_request(db, "trigger:old", now - timedelta(days=2))
    remember_request(db, "trigger:new", now)
    scheduler.housekeeping_job()  # what runs every minute
    assert "poll:news" in scheduler.job_ids()
    assert remember_request(db, "trigger:old", now) is True  # forgotten
    assert remember_request(db, "trigger:new", now) is False


def test_reload_follows_the_config_and_keeps_it_when_broken(
    tmp_path: Path, make_scheduler: Callable[..., Scheduler], caplog: pytest.LogCaptureFixture
) -> None:
    scheduler = make_scheduler()
    scheduler.start()
    config_file = tmp_path / "whisperer.toml"
    write_config(tmp_path, SOURCES.format(a="c").replace('"6h"', '"2h"'))
    assert scheduler.reload() is True
    assert scheduler.job_ids() == ["deliver", "housekeeping", "poll:b", "poll:c"]
    assert scheduler.job("poll:b").trigger.interval == timedelta(hours=2)
    assert scheduler.job("poll:b").misfire_grace_time == 7200
    config_file.write_text(config_file.read_text() + "\n[bot.oops]\n", encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="whisperer.scheduler"):
        assert scheduler.reload() is False
    assert "keeping the running configuration" in caplog.text
    assert scheduler.job_ids() == ["deliver", "housekeeping", "poll:b", "poll:c"]


def test_extra_jobs_run_daily_in_the_team_timezone(make_scheduler: Callable[..., Scheduler]) -> None:
    seen: list[tuple[str, datetime]] = []
    sweep = daily("reminders", lambda runtime, now: seen.append((runtime.config.bot.timezone, now)), at=time(9, 0))
    scheduler = make_scheduler(extra_jobs=[sweep])
    scheduler.start()
    job = scheduler.job("reminders")
    assert job.next_run_time.tzinfo == ZoneInfo("Asia/Jakarta")
    assert (job.next_run_time.hour, job.next_run_time.minute) == (9, 0)
    assert job.misfire_grace_time == 6 * 3600
    job.func(*job.args)  # what the scheduler calls at 09:00
    assert seen and seen[0][0] == "Asia/Jakarta"
    before = list(EXTRA_JOBS)
    try:
        register_job(ExtraJob("reminders", lambda runtime, now: None, lambda config: None))
        register_job(sweep)
        assert [j for j in EXTRA_JOBS if j.id == "reminders"] == [sweep]
    finally:
        EXTRA_JOBS[:] = before


def test_a_scheduled_poll_posts_a_change_exactly_once(
    make_scheduler: Callable[..., Scheduler], server: FixtureServer, fake_slack: FakeSlack
) -> None:
    page = "<html><body><main>Tier: {}</main></body></html>"
    server.routes["/tiers.html"] = Response(200, page.format("Premier").encode(), {"Content-Type": "text/html"})
    sink = SlackSink(make_web_client(fake_slack.token, fake_slack.api_url))
    scheduler = make_scheduler(source_table("tiers", server.url("/tiers.html"), "1s"), sink=sink)
    db = scheduler.connections.base.db
    scheduler.start()
    fake_slack.wait_for(lambda: (state.get_source(db, "tiers") or {}).get("last_status") == "new")
    server.routes["/tiers.html"] = Response(200, page.format("Certified Plus").encode(), {"Content-Type": "text/html"})
    [post] = fake_slack.wait_for(lambda: fake_slack.posts(CHANNEL))
    assert "Certified Plus" in str(post["blocks"])
    fake_slack.wait_for(lambda: [a for a in outbox.list_alerts(db) if a["status"] == "sent"])
    checks = len(server.requests_to("/tiers.html"))
    fake_slack.wait_for(lambda: len(server.requests_to("/tiers.html")) > checks)  # polls go on, quietly
    scheduler.shutdown()
    assert len(fake_slack.posts()) == 1
    [change] = store.list_changes(db)
    assert [a["key"] for a in outbox.list_alerts(db)] == [f"change:{change['id']}"]


def test_the_bot_runs_the_reminder_sweep_hourly_and_it_queues_each_dm_once(
    make_scheduler: Callable[..., Scheduler],
) -> None:
    clock = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 09:00 in Jakarta
    scheduler = make_scheduler(extra_jobs=[REMINDER_SWEEP], clock=lambda: clock)
    db = scheduler.connections.base.db
    with transaction(db):
        person = people.upsert_person(db, "Dewi", clock, slack_id="U0DEWI")
        certifications.upsert_certification(
            db, person, "HCIE-Cloud", clock, level="HCIE", number=None, passed=None,
            expires=date(2026, 12, 3), expires_given=True,
        )  # fmt: skip
    scheduler.start()
    job = scheduler.job("reminders")
    assert job.next_run_time.tzinfo == ZoneInfo("Asia/Jakarta") and job.next_run_time.minute == 5
    job.func(*job.args)  # what the scheduler calls at :05
    job.func(*job.args)  # an hour later: nothing new
    dms = [a for a in outbox.list_alerts(db) if a["user_id"] == "U0DEWI"]
    assert [a["key"] for a in dms] == ["cert-reminder:1:2026-12-03:7"]
