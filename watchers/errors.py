"""The one exception every fetch failure becomes (shared by the fetcher and the network policy)."""

from __future__ import annotations


class FetchError(Exception):
    """A fetch failed; the message says what happened and, where it can, what to do."""
