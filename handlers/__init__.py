"""Answers to /whisperer subcommands: pure functions of (context, arguments) returning a reply model."""

from __future__ import annotations

from handlers import (  # noqa: F401  (importing registers the subcommands)
    admin,
    deadlines,
    dealreg,
    digest,
    glossary,
    home,
    importance,
    knowledge,
    leavers,
    matrix,
    ownership,
    people,
    plan_view,
    rebates,
    renewal,
    watching,
    whatif,
)
from handlers.money import deals, funds, mdf, settlements, workdays_command  # noqa: F401
