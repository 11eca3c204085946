"""Money in working days: the working-days check, MDF requests, rebate settlements and gated funds."""

from __future__ import annotations

from handlers.money import deals, workdays_command  # noqa: F401  (importing registers the subcommands)
