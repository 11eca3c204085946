"""A feed whose items carry only pubDate: read quietly (feedparser warns on its updated→published fallback)."""

from __future__ import annotations

import warnings

from watchers.reading.feeds import parse_feed

FEED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Notices</title>'
    b"<item><guid>n1</guid><title>Policy takes effect on 2027-01-01</title>"
    b"<pubDate>Thu, 26 Nov 2026 02:00:00 GMT</pubDate></item></channel></rss>"
)


def test_pubdate_only_items_parse_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        feed = parse_feed(FEED)
    assert feed.entries[0].updated == "Thu, 26 Nov 2026 02:00:00 GMT"
