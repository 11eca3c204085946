"""The settings of the fetchers that are heavy to import (the browser, the chat endpoint), kept apart from them:
loading the config builds these without importing asyncio or an HTTP client."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class BrowserSettings:
    """The [browser] section."""

    executable: str | None = None
    pages: int = 2


@dataclass(frozen=True)
class ChatSettings:
    """[summary]: where the endpoint is, which model, its key (from the environment) and the timeout."""

    url: str
    model: str
    api_key: str = field(default="", repr=False)
    timeout: float = 10.0
