"""The one exception every fetch failure becomes (shared by the fetcher and the network policy)."""

from __future__ import annotations


class FetchError(Exception):
    """A fetch failed; the message says what happened and, where it can, what to do."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status, when the server answered with an error (401/403: a session)
