"""The weekly digest job: on `[digest] day` after `time` (team timezone) queue handlers/overview/digest.py's reply once.

The job runs every 15 minutes and is idempotent: the outbox key names the ISO week (`digest:2026-W49`), so a
restart, a second run on the same day or a reload never posts twice, and a bot started late on digest day
still posts that day's digest. The message is composed when queued and stored with the row.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime, tzinfo

from apscheduler.triggers.cron import CronTrigger

from bot.config.loading import DigestSettings
from bot.process.runtime import Runtime, make_context
from bot.process.scheduler import ExtraJob, register_job
from bot.slack.render import to_text
from handlers.overview.digest import digest, week_label
from handlers.reply import Reply
from handlers.reply_codec import encode
from storage.db import transaction
from storage.outbox import alerts as outbox
from storage.team import reminders as queue

KIND = "digest"


def digest_key(settings: DigestSettings, now: datetime, tz: tzinfo) -> str | None:
    """The outbox key of the digest due at `now`, or None when none is due (not the day, or too early)."""
    if not settings.enabled:
        return None
    local = now.astimezone(tz)
    if local.weekday() != settings.day or local.time() < settings.at:
        return None
    return f"{KIND}:{week_label(local.date())}"


def build_digest(runtime: Runtime, now: datetime) -> Reply:
    return digest(make_context(runtime, now, operator=True))


def queue_digest(runtime: Runtime, now: datetime, *, force: bool = False) -> str | None:
    """Queue this week's digest if it is due and not queued yet; returns its key when it was added."""
    config = runtime.config
    key = digest_key(config.digest, now, config.bot.tz)
    if key is None:
        if not force:
            return None
        key = f"{KIND}:{week_label(now.astimezone(config.bot.tz).date())}"
    if queue.existing_alert_keys(runtime.db, [key]):
        return None  # already queued (or sent) this week: the usual case for the job's later runs
    message = build_digest(runtime, now)
    with transaction(runtime.db):
        added = outbox.enqueue_alert(
            runtime.db,
            key,
            KIND,
            {"reply": encode(message), "week": key.removeprefix(f"{KIND}:")},
            now,
            channel=config.digest.channel,
        )
    return key if added else None


def run_digest_job(runtime: Runtime, now: datetime) -> object:
    return queue_digest(runtime, now)


DIGEST_JOB = register_job(
    ExtraJob(
        "digest",
        run_digest_job,
        lambda config: CronTrigger(minute="*/15", timezone=config.bot.tz),
        misfire_grace=900,
    )
)


def run_cli(args: argparse.Namespace, runtime: Runtime, now: datetime, out: Callable[[str], None] = print) -> int:
    """`whisperer digest [--dry-run]`: the digest as text, or queued now (once per week, like the job)."""
    config = runtime.config
    where = config.digest.channel or config.bot.alerts_channel or "the alerts channel"
    if args.dry_run:
        schedule = (
            f"every {config.digest.day_name.capitalize()} at {config.digest.at:%H:%M} ({config.bot.timezone})"
            if config.digest.enabled
            else "off ([digest] enabled = false)"
        )
        out(f"Weekly digest for {where}, {schedule} (dry run: nothing queued)\n")
        out(to_text(build_digest(runtime, now)))
        return 0
    key = queue_digest(runtime, now, force=True)
    week = week_label(now.astimezone(config.bot.tz).date())
    if key is None:
        out(f"This week's digest ({week}) is already queued or sent; nothing added.")
    else:
        out(f"Queued the digest for {week} to {where}; it goes out with the next delivery (`whisperer run`).")
    return 0
