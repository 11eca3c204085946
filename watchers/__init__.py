"""Watching sources: fetching, reading, the facts of a change, recording it."""

__version__ = "0.1.0"  # the release, for the User-Agent; bot/__init__.py and pyproject.toml say the same
