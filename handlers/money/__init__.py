"""Money in working days: the working-days check, MDF requests, rebate settlements and gated funds.

Importing a module registers its subcommands; handlers/__init__.py imports them all.
"""
