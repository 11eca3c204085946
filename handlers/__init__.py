"""Answers to /whisperer subcommands: pure functions of (context, arguments) returning a reply model."""

from __future__ import annotations

# Importing a module registers its subcommands; watching comes first, so help lists help/changes/diff/sources first.
from handlers.watch import changes, admin, importance, ownership  # noqa: F401  # isort: skip
from handlers.money import deals, funds, mdf, settlements, workdays_command  # noqa: F401
from handlers.overview import digest, home  # noqa: F401
from handlers.programme import deadlines, dealreg, glossary, rebates, renewal, tiers  # noqa: F401
from handlers.team import certs, leavers, matrix, plan_view, whatif  # noqa: F401
