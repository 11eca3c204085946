"""The nightly upkeep jobs: a copy of the database ([backup]) and retention ([retention]), by the wall clock.

Both run in the bot's one scheduler at their configured time of day (team time), like the reminder sweep.
"""

from __future__ import annotations

import logging
from datetime import datetime

from apscheduler.triggers.cron import CronTrigger

from bot.config.loading import Config
from bot.process.runtime import Runtime
from bot.process.scheduler import ExtraJob, register_job
from storage.db import db_path
from storage.ops.backups import Backup, BackupError, backup_database
from storage.ops.retention import PruneReport, give_back, prune

log = logging.getLogger("whisperer.upkeep")


def run_backup(runtime: Runtime, now: datetime) -> Backup | None:
    settings = runtime.config.backup
    if settings.dir is None:
        return None
    try:
        copy = backup_database(db_path(runtime.db), settings.dir, now, keep=settings.keep)
    except BackupError as exc:
        log.error("the nightly backup failed: %s. Fix: %s", exc.problem, exc.fix)
        return None
    log.info("backup %s written (%s bytes); %d older copies pruned", copy.path, copy.size, len(copy.pruned))
    return copy


def run_prune(runtime: Runtime, now: datetime) -> PruneReport:
    settings = runtime.config.retention
    report = prune(
        runtime.db,
        now,
        snapshots_days=settings.snapshots_days or None,
        alerts_days=settings.alerts_days or None,
    )
    after = give_back(runtime.db)
    log.info(
        "retention: %d snapshot bodies (%d bytes) and %d alerts pruned; %d bytes free in the file (%s vacuum)",
        report.snapshots,
        report.snapshot_bytes,
        report.alerts,
        after.free_bytes,
        after.auto_vacuum,
    )
    return report


def _at(config: Config, which: str) -> CronTrigger:
    at = config.backup.at if which == "backup" else config.retention.at
    return CronTrigger(hour=at.hour, minute=at.minute, timezone=config.bot.tz)


BACKUP_JOB = register_job(ExtraJob("backup", run_backup, lambda config: _at(config, "backup")))
PRUNE_JOB = register_job(ExtraJob("prune", run_prune, lambda config: _at(config, "prune")))
