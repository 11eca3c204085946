"""The process's side-effect objects, built once by the CLI and handed to everything else."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config.loading import Config, ConfigError
from bot.config.sources import parse_source
from bot.process.meaning import meaning_facts
from storage.database import Database
from storage.db import open_db, transaction
from storage.watching import sources as state
from watchers.facts.extractors import make_extractors
from watchers.fetching.browser import Browser
from watchers.fetching.http import Client, HostLimiter, make_client
from watchers.poll import Extractor, Outcome, poll_sources
from watchers.recording.levels import ChangeLevels
from watchers.sources import SourceSpec, digest_of, format_every

if TYPE_CHECKING:
    from handlers.registry import Context


@dataclass
class Runtime:
    config: Config
    db: Database
    client: Client
    limiter: HostLimiter
    extractors: Sequence[Extractor] = field(default=())
    browser: Browser | None = None  # started on the first kind = "browser" source, then kept for the process

    def close(self) -> None:
        if self.browser is not None:
            self.browser.close()
        self.client.clear()
        self.db.conn.close()


def open_runtime(config: Config, now: datetime) -> Runtime:
    db = open_db(config.database)
    runtime = Runtime(config, db, make_client(config.fetch), HostLimiter(config.fetch.per_host))
    extractors = make_extractors(config.partner.name, config.partner.tier)
    # Meaning after the tier reader (a rename of our tier is an impact), before the deadline reader resyncs the
    # dates; levels come last: they read what every other reader found in the same poll.
    runtime.extractors = [
        *extractors[:1],
        meaning_facts(config),
        *extractors[1:],
        ChangeLevels(config.importance, config.partner.tier),
    ]
    # Nothing starts until a browser source is polled; its pages obey the same network policy as every fetch.
    runtime.browser = Browser(config.browser, config.fetch.network)
    if config.path is not None:
        sync_config_sources(runtime, now)
    return runtime


def sync_config_sources(runtime: Runtime, now: datetime) -> int:
    """The config's sources into the database; only those whose definition changed are written. Returns how many.

    One digest of the whole set comes first: when the database holds that very set (nothing was edited since the
    last sync, here or in the database), no definition is compared one by one."""
    sources = runtime.config.sources
    whole = digest_of(sources)
    if state.synced_set(runtime.db, "config") == whole:
        return 0
    keyed = ((s.id, s.digest(), s.public_dict) for s in sources)
    with transaction(runtime.db):
        written = state.sync_keyed(runtime.db, keyed, now, origin="config")
        state.mark_synced_set(runtime.db, "config", whole)
    return written


def slack_sources(runtime: Runtime) -> list[SourceSpec]:
    """Sources added with `/whisperer source add`, kept in the database."""
    specs = []
    base = runtime.config.path.parent if runtime.config.path else Path.cwd()
    for data in state.stored_specs(runtime.db, "slack"):
        keep = {k: data[k] for k in ("id", "kind", "url", "topic", "name", "selector", "channel") if data.get(k)}
        keep["every"] = format_every(int(data.get("every", 1800)))
        try:
            specs.append(parse_source("database", f"sources[{data['id']}]", keep, os.environ, base))
        except ConfigError:
            continue
    return specs


def active_sources(runtime: Runtime) -> list[SourceSpec]:
    """Every source that should be polled: the config's and Slack's, minus paused ones."""
    paused = state.paused_ids(runtime.db)
    configured = list(runtime.config.sources)
    ids = {s.id for s in configured}
    specs = configured + [s for s in slack_sources(runtime) if s.id not in ids]
    return [s for s in specs if s.id not in paused]


def poll(
    runtime: Runtime, now: datetime, source_ids: Sequence[str] | None = None, origin: str = "poll"
) -> list[Outcome]:
    if source_ids:
        known = {s.id: s for s in [*runtime.config.sources, *slack_sources(runtime)]}
        specs = [known[i] for i in source_ids if i in known]
    else:
        specs = active_sources(runtime)
    return poll_sources(
        runtime.db,
        specs,
        runtime.client,
        runtime.limiter,
        runtime.config.fetch,
        now,
        failure_threshold=runtime.config.bot.failure_alert_after,
        extractors=runtime.extractors,
        origin=origin,
        alert_limit=runtime.config.bot.alert_limit,
        admins=runtime.config.bot.admins,
        browser=runtime.browser,
    )


def make_context(runtime: Runtime, now: datetime, user_id: str | None = None, operator: bool = False) -> Context:
    from handlers.registry import Context  # here: the poll pass answers no /whisperer line

    config = runtime.config
    return Context(
        db=runtime.db,
        now=now,
        tz=config.bot.tz,
        user_id=user_id,
        admins=config.bot.admins,
        operator=operator,
        partner={
            "name": config.partner.name,
            "tier": config.partner.tier,
            "status_expires": config.partner.status_expires,
        },
        sections=config.sections,
        sources=config.sources,
        alerts_channel=config.bot.alerts_channel,
        knowledge=config.knowledge,
        network=config.fetch.network,
    )
