"""The machine summary's one request: an OpenAI-compatible chat completion, under the network policy.

Only this module talks to the `[summary]` endpoint; page text is sent there (the docs say so plainly)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from watchers.fetching.errors import FetchError
from watchers.fetching.network import NetworkPolicy
from watchers.fetching.settings import ChatSettings

if TYPE_CHECKING:  # urllib3 is imported when a summary is asked for: the configuration needs only ChatSettings
    import urllib3

MAX_ANSWER = 64_000  # bytes: a summary is two sentences; anything larger is not one


def chat_client(policy: NetworkPolicy) -> urllib3.PoolManager:
    """A pool whose connections go only where the network policy allows (as every fetch's do)."""
    import urllib3

    from watchers.fetching.guarded import guarded_pools

    pool = urllib3.PoolManager(num_pools=4, maxsize=2, retries=False)
    pool.pool_classes_by_scheme = guarded_pools(policy)
    return pool


def ask_chat(client: urllib3.PoolManager, settings: ChatSettings, system: str, user: str) -> str:
    """The first choice's message content; raises FetchError (timeout, refused, not JSON, no content)."""
    import urllib3

    body = json.dumps(
        {
            "model": settings.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "temperature": 0,
            "max_tokens": 160,
        }
    ).encode()
    headers = {"Content-Type": "application/json"}
    if settings.api_key:
        headers["Authorization"] = f"Bearer {settings.api_key}"
    timeout = urllib3.Timeout(connect=settings.timeout, read=settings.timeout, total=settings.timeout)
    try:
        response = client.request(
            "POST", settings.url, body=body, headers=headers, timeout=timeout, redirect=False, preload_content=False
        )
        try:
            data = response.read(MAX_ANSWER + 1)
        finally:
            response.release_conn()
    except FetchError:  # the network policy refused the address
        raise
    except (urllib3.exceptions.HTTPError, OSError) as exc:  # timeouts, refused connections, resets
        raise FetchError(f"the summary endpoint did not answer ({type(exc).__name__}: {exc})") from None
    if response.status != 200:
        raise FetchError(f"the summary endpoint answered HTTP {response.status}")
    if len(data) > MAX_ANSWER:
        raise FetchError(f"the summary endpoint's answer is larger than {MAX_ANSWER} bytes")
    try:
        content = json.loads(data)["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise FetchError("the summary endpoint's answer is not a chat completion") from None
    if not isinstance(content, str) or not content.strip():
        raise FetchError("the summary endpoint's answer has no text")
    return content
