"""The machine summary's words, pure: what is asked of the model, and its answer made inert.

The answer is only ever text: no mentions, no links, no Slack markup, at most two sentences' worth."""

from __future__ import annotations

import hashlib
import re

from watchers.reading.inert import inert

SYSTEM = (
    "You summarise changes on Huawei Cloud partner-programme pages for a partner company's team. "
    "Answer in English, in one or two plain sentences: what changed, with its numbers and dates. "
    "Translate Chinese or other languages. No markup, no links, no greetings."
)
MAX_DIFF = 6000  # characters of the diff sent; the head of a long diff says what moved
MAX_SUMMARY = 400

_URL = re.compile(r"(?i)\b(?:[a-z][a-z0-9+.-]*://|www\.|mailto:)\S*")
_DOMAIN = re.compile(r"(?i)\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:[a-z]{2,24})\b(?:/\S*)?")
_MENTION = re.compile(r"(?i)[@!](?=(?:channel|here|everyone|subteam|[UW][A-Z0-9]{6,})\b)")
_MARKUP = re.compile(r"[<>`*_~|]")


def diff_key(diff: str) -> str:
    """The cache key: one summary per diff (the same diff on two alerts is asked about once)."""
    return hashlib.sha256(diff.encode()).hexdigest()


def prompt(source: str, summary: str, diff: str) -> str:
    return f"Source: {source}\nWhat the bot saw: {summary}\nThe diff (- before, + now):\n{diff[:MAX_DIFF]}"


def inert_summary(text: str) -> str:
    """The model's answer as plain, harmless text: links and domains dropped, mentions and markup defused, short."""
    text = inert(text)
    text = _URL.sub("(link removed)", text)
    text = _DOMAIN.sub(lambda m: m.group(0) if _looks_numeric(m.group(0)) else "(link removed)", text)
    text = _MENTION.sub("", text)
    text = _MARKUP.sub("", text)
    text = " ".join(text.split())
    return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 1].rstrip() + "…"


def _looks_numeric(token: str) -> bool:
    """ "v3.3.0", "73.8" and "e.g" are not domains."""
    return not re.search(r"\.[a-z]{2,}", token, re.IGNORECASE) or token[:1].isdigit()
