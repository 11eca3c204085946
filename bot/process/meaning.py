"""The meaning extractor's inputs, from the validated configuration: followed thresholds, dates we track."""

from __future__ import annotations

from datetime import date
from functools import cache, partial

from bot.config.loading import Config
from watchers.facts.gloss import needs_gloss
from watchers.facts.impact import Follower
from watchers.facts.meaning import MeaningFacts


def followers(config: Config) -> tuple[Follower, ...]:
    """Every renewal KPI and rebate criterion whose threshold follows a page."""
    knowledge = config.knowledge
    renewal = knowledge.renewal
    out: list[Follower] = []
    for kpi in renewal.kpis:
        if kpi.follow is None:
            continue
        bound, fallback = ("min", kpi.min) if kpi.min is not None else ("max", kpi.max)
        out.append(
            Follower(
                "kpi",
                kpi.label,
                kpi.metric,
                bound,
                kpi.unit,
                kpi.follow,
                float(fallback or 0),
                renewal.date,
                kpi.consequence,
            )
        )
    for rebate in knowledge.rebates:
        for name, follow in rebate.follows:
            metric = knowledge.metric(name)
            unit = metric.unit if metric else ""
            bound, value = ("min", dict(rebate.min_metrics).get(name))
            if value is None:
                bound, value = "max", dict(rebate.max_metrics).get(name)
            out.append(Follower("rebate", rebate.name, name, bound, unit, follow, float(value or 0)))
    return tuple(out)


def tracked_dates(config: Config) -> tuple[tuple[str, date], ...]:
    knowledge = config.knowledge
    out: list[tuple[str, date]] = []
    if knowledge.renewal.date:
        out.append(("The renewal falls", knowledge.renewal.date))
    for rebate in knowledge.rebates:
        if rebate.claim_opens:
            out.append(("Claims open", rebate.claim_opens))
        if rebate.claim_closes:
            out.append(("Claims close", rebate.claim_closes))
    return tuple(out)


def gloss_terms(config: Config) -> tuple[tuple[str, str], ...]:
    """The glossary's words for term glosses: the bundled glossary's Chinese names, then the configuration's
    (admins' terms are read from the database at each change, and win)."""
    from handlers.programme.terms import bundled

    names = [(alias, term.name) for term in bundled() for alias in term.aliases if needs_gloss(alias)]
    return (*names, *config.knowledge.glossary)


def meaning_facts(config: Config) -> MeaningFacts:
    glossary = cache(partial(gloss_terms, config))  # the bundled glossary is read at the first change, if any
    return MeaningFacts(followers(config), tracked_dates(config), config.partner.tier, glossary)
