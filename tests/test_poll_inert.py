"""Source text is inert everywhere: no escapes in the terminal, no control characters or formatting in Slack."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from botserver import CHANNEL, write_config
from conftest import NOW, FixtureServer, Response
from fakeslack import FakeSlack

from bot.cli.main import main
from bot.delivery.outbox import deliver_alerts
from bot.delivery.sinks import SlackSink, TerminalSink
from bot.process.runtime import open_runtime, poll
from bot.slack.app import make_web_client
from bot.slack.render import plain, to_blocks
from handlers.reply import Strong, para, reply
from storage.db import open_db
from watchers.reading.inert import inert

ESC_RED, BEL, RLO = "\x1b[31m", "\x07", "\u202e"
OSC8 = "\x1b]8;;https://evil.example/login\x1b\\Click here\x1b]8;;\x1b\\"
HOSTILE = f"{ESC_RED}Renew now{BEL} {OSC8} {RLO}gnp.exe\x1b[0m \x9b2J"
BAD = ("\x1b", "\x07", "\u202e", "\x9b", "evil.example")
HTML = {"Content-Type": "text/html; charset=utf-8"}
RSS = {"Content-Type": "application/rss+xml"}

SOURCES = """
[[sources]]
id = "portal"
name = "Partner portal"
kind = "html"
url = "{url}/portal.html"

[[sources]]
id = "notices"
name = "Partner notices"
kind = "feed"
url = "{url}/feed.xml"
"""


def html(extra: str) -> bytes:
    return f"<html><body><p>Partner tiers</p><p>{extra}</p></body></html>".encode()


def rss(title: str) -> bytes:
    item = f"<item><guid>n1</guid><title>{title}</title></item>" if title else ""
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>N</title>{item}</channel></rss>'.encode()


@pytest.fixture
def config_path(tmp_path: Path, server: FixtureServer) -> Iterator[Path]:
    server.routes["/portal.html"] = Response(200, html("Premier"), HTML)
    server.routes["/feed.xml"] = Response(200, rss(""), RSS)
    yield write_config(tmp_path, SOURCES.format(url=server.url("")))


def test_escapes_in_a_page_never_reach_the_terminal_or_slack(
    config_path: Path, server: FixtureServer, fake_slack: FakeSlack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config_path), "poll"]) == 0
    server.routes["/portal.html"] = Response(200, html(HOSTILE), HTML)
    assert main(["--config", str(config_path), "poll"]) == 0
    assert main(["--config", str(config_path), "changes"]) == 0
    assert main(["--config", str(config_path), "diff", "1"]) == 0
    out = capsys.readouterr().out
    assert "+Renew now Click here gnp.exe" in out  # the words stay, the machinery goes
    for bad in BAD:
        assert bad not in out, repr(bad)

    # Terminal-mode alerts and Slack posts get the same text.
    from bot.config.loading import load_config

    config = load_config(config_path, env={})
    later = datetime.now(UTC) + timedelta(minutes=1)  # the CLI polled with the real clock
    rt = open_runtime(config, later)
    try:
        printed: list[str] = []
        deliver_alerts(rt.db, TerminalSink(printed.append), later, tz=config.bot.tz, default_channel=CHANNEL)
        assert "Renew now Click here gnp.exe" in "\n".join(printed)
        assert not any(bad in line for line in printed for bad in BAD)
        rt.db.execute("UPDATE alerts SET status = 'pending'")  # once more, to Slack this time
        sink = SlackSink(make_web_client(fake_slack.token, fake_slack.api_url))
        deliver_alerts(rt.db, sink, later, tz=config.bot.tz, default_channel=CHANNEL)
    finally:
        rt.close()
    payloads = json.dumps([call.args for call in fake_slack.calls_to("chat.postMessage")], ensure_ascii=False)
    assert "Renew now Click here gnp.exe" in payloads
    for bad in BAD:
        assert bad not in payloads, repr(bad)


def test_a_page_cannot_format_itself_in_slack(config_path: Path, server: FixtureServer, fake_slack: FakeSlack) -> None:
    from bot.config.loading import load_config

    config = load_config(config_path, env={})
    rt = open_runtime(config, NOW)
    try:
        poll(rt, NOW)
        title = "*Your account is suspended* _today_ ~or not~ `rm -rf`"
        server.routes["/feed.xml"] = Response(200, rss(title), RSS)
        poll(rt, NOW + timedelta(minutes=30))
        sink = SlackSink(make_web_client(fake_slack.token, fake_slack.api_url))
        deliver_alerts(rt.db, sink, NOW + timedelta(minutes=31), tz=config.bot.tz, default_channel=CHANNEL)
    finally:
        rt.close()
    [post] = fake_slack.posts(CHANNEL)
    sections = [b["text"]["text"] for b in post["blocks"] if b["type"] == "section"]
    # Everything Slack parses as mrkdwn: the fallback text, sections and context lines (code blocks format nothing).
    parsed = [post["text"], *(s for s in sections if not s.startswith("```"))]
    parsed += [e["text"] for b in post["blocks"] if b["type"] == "context" for e in b["elements"]]
    for marked in ("*Your account is suspended*", "_today_", "~or not~", "`rm -rf`"):
        assert not any(marked in text for text in parsed), marked  # never a pair of markers around the words
    summary = next(s for s in sections if "Your account is suspended" in s)
    assert summary.replace("\u200b", "") == "New entry: '*Your account is suspended* _today_ ~or not~ `rm -rf`'"
    assert "*Partner notices*" in sections[0]  # our own emphasis still works


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("*bold*", "\u200b*\u200bbold\u200b*\u200b"),
        ("snake_case_id", "snake_case_id"),  # inside a word an underscore formats nothing: left copyable
        ("_italic_", "\u200b_\u200bitalic\u200b_\u200b"),
        ("> quoted\n> twice", "\u200b&gt; quoted\n\u200b&gt; twice"),
        ("<!channel> & co", "&lt;!channel&gt; &amp; co"),
    ],
)
def test_plain_neutralises_markers(text: str, shown: str) -> None:
    assert plain(text) == shown


def test_our_strong_survives_source_text_inside_it() -> None:
    [block] = to_blocks(reply(para(Strong("Premier*"), " is now ", Strong("*Certified* Plus"))))
    text = block["text"]["text"]
    assert text.startswith("*Premier\u200b*\u200b*") and text.endswith("Plus*")


def test_inert_keeps_words_newlines_tabs_and_right_to_left_marks() -> None:
    assert inert("a\tb\nc \u200fשלום") == "a\tb\nc \u200fשלום"
    assert inert(f"x{OSC8}y") == "xClick herey"
    assert inert("\x1b]0;owned\x07title") == "title"
    assert inert("unended \x1b]8;;https://evil.example\nnext line") == "unended \nnext line"


def serve_once(reason: bytes) -> tuple[socket.socket, threading.Thread]:
    """A server whose HTTP reason phrase carries escapes (http.server will not send such a line)."""
    listener = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        for _ in range(3):  # one per poll below
            conn, _addr = listener.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 503 " + reason + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    return listener, thread


def test_an_http_reason_phrase_cannot_write_into_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listener, thread = serve_once(b"\x1b]8;;https://evil.example\x1b\\Unavailable\x1b]8;;\x1b\\\x07\x1b[2J")
    try:
        port = listener.getsockname()[1]
        path = write_config(tmp_path, f'[[sources]]\nid = "down"\nkind = "html"\nurl = "http://127.0.0.1:{port}/"\n')
        for _ in range(3):
            assert main(["--config", str(path), "poll"]) == 1  # the only source failed
        assert main(["--config", str(path), "sources"]) == 0
    finally:
        thread.join(timeout=10)
        listener.close()
    out = capsys.readouterr().out
    assert "HTTP 503 Unavailable" in out and "failing ×3" in out
    for bad in BAD:
        assert bad not in out, repr(bad)
    db = open_db(tmp_path / "whisperer.db")
    try:
        [error] = [r[0] for r in db.execute("SELECT last_error FROM sources").fetchall()]
        payload = json.loads(db.execute("SELECT payload FROM alerts WHERE kind = 'source-failing'").fetchone()[0])
    finally:
        db.conn.close()
    assert error.startswith("HTTP 503 Unavailable") and payload["error"] == error  # stored inert, too
