"""The one exit-status scheme of every `whisperer` command (the README's "Exit status" lists it)."""

from __future__ import annotations

EXIT_OK = 0  # done
EXIT_FAILED = 1  # the work failed: every source failed to poll, rows not imported, doctor found a problem
EXIT_USAGE = 2  # the command line, the config file or the question was wrong; the message names the fix
EXIT_STORAGE = 3  # the database cannot be used (disk full, read-only, gone); nothing was recorded
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT
