"""Text from a source is text: it can neither ping @channel nor forge a link, wherever it is shown."""

from __future__ import annotations

import pytest

from bot.slack.render import fallback_text, to_blocks
from handlers.reply import Link, code_excerpt, para, reply
from watchers.reading.feeds import parse_feed

EVIL = "<!channel> <https://evil.example|click> <@U0BOSS> & co"


def feed(title: str, kind: str = "") -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>N</title>'
        f"<item><guid>n1</guid><title{kind}>{title}</title></item></channel></rss>"
    ).encode()


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("&lt;!channel&gt; &lt;https://evil.example|click&gt;", "<!channel> <https://evil.example|click>"),
        ("Tier &lt;Premier&gt; is now Certified Plus", "Tier <Premier> is now Certified Plus"),
        ("Rebates &amp; MDF", "Rebates & MDF"),
        ("&amp;lt;b&amp;gt;Bold&amp;lt;/b&amp;gt; news", "<b>Bold</b> news"),  # escaped twice: a reader shows <b>
    ],
)
def test_feed_titles_keep_their_text(title: str, expected: str) -> None:
    [entry] = parse_feed(feed(title)).entries
    assert entry.title == expected


def test_block_kit_escapes_source_text_everywhere() -> None:
    message = reply(para(EVIL), code_excerpt(f"+{EVIL}\n-old"), para(Link("https://portal.example/x?a=1&b=2", EVIL)))
    rendered = str(to_blocks(message))
    assert "<!channel>" not in rendered and "<@U0BOSS>" not in rendered and "<https://evil" not in rendered
    assert "&lt;!channel&gt; &lt;https://evil.example|click&gt; &lt;@U0BOSS&gt; &amp; co" in rendered
    # our own link stays a link, with its label escaped and no way to close it early
    assert "<https://portal.example/x?a=1&amp;b=2|&lt;!channel&gt; &lt;https://evil.example¦click&gt;" in rendered
    assert fallback_text(message).startswith("&lt;!channel&gt;")


def test_a_link_that_is_not_http_is_shown_as_text() -> None:
    rendered = str(to_blocks(reply(para(Link("javascript:alert(1)", "portal")))))
    assert "<javascript" not in rendered and "portal (javascript:alert(1))" in rendered
