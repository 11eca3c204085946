"""Answers to /whisperer subcommands: pure functions of (context, arguments) returning a reply model.

Importing this package registers nothing, so config loading (`handlers.settings`) stays light; whatever
dispatches a line calls `handlers.registry.load_commands()` first, which imports every subcommand module.
"""
