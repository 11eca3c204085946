"""Slack's documented Block Kit limits: the checker finds each breach, and nothing the bot builds has one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config.loading import load_config
from bot.demo.story import run_demo
from bot.process.digest import build_digest
from bot.process.runtime import Runtime, make_context, open_runtime
from bot.slack.app import home_view, response_for
from bot.slack.limits import check_blocks, check_message, check_view, text_length
from bot.slack.render import fallback_text, to_blocks
from bot.slack.views import FORMS, diff_view, form_view, result_view
from handlers.alerting.compose import compose_alert
from handlers.overview.home import home
from handlers.registry import dispatch, load_commands
from handlers.reply import Bullets, Code, Heading, Note, Reply, bullets, para, reply
from storage.db import transaction
from storage.outbox import alerts as outbox
from storage.programme import deadlines
from storage.team import certifications as certs
from storage.team import people
from storage.watching import changes as store
from storage.watching import sources as state

DEMO_NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(text: str = "Go", action_id: str = "go", value: str = "1") -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": action_id, "value": value}


# ── the checker catches each documented limit (so the tests below can fail) ──


@pytest.mark.parametrize(
    ("blocks", "surface", "expected"),
    [
        ([section("x")] * 51, "message", "51 blocks (limit 50)"),
        ([section("x")] * 101, "home", "101 blocks (limit 100)"),
        ([section("x")] * 101, "modal", "101 blocks (limit 100)"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "message", "header text is 151"),
        ([{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}], "message", "must be plain_text"),
        ([section("s" * 3001)], "message", "section text is 3001 characters (limit 3000)"),
        ([{"type": "actions", "elements": [button(text="b" * 76)]}], "message", "button text is 76"),
        ([{"type": "actions", "elements": [button(action_id="a" * 256)]}], "message", "action_id is 256"),
        ([{"type": "actions", "elements": [button(value="v" * 2001)]}], "message", "value is 2001"),
        ([{"type": "actions", "elements": [button(), button()]}], "message", "share an action_id"),
        ([{"type": "actions", "elements": []}], "message", "needs at least one element"),
        ([section("x") | {"accessory": button(text="b" * 80)}], "message", "button text is 80"),
        ([section("t" * 2900)] * 5, "message", "14500 characters of block text"),
        ([{"type": "sectoin", "text": {"type": "mrkdwn", "text": "x"}}], "message", "unknown block type 'sectoin'"),
        ([{"type": "input", "label": {"type": "plain_text", "text": "x"}, "element": {}}], "message", "input blocks"),
        ([{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}], "message", "11 elements"),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}], "message", "field 0"),
    ],
)
def test_the_checker_names_each_breach(blocks: list[dict[str, Any]], surface: str, expected: str) -> None:
    problems = check_blocks(blocks, surface)
    assert any(expected in p for p in problems), problems


def test_views_have_their_own_limits() -> None:
    long_title = {"type": "modal", "title": {"type": "plain_text", "text": "A title far longer than 24"}, "blocks": []}
    assert any("title is 26 characters (limit 24)" in p for p in check_view(long_title))
    form = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Add a deadline"},
        "blocks": [
            {"type": "input", "label": {"type": "plain_text", "text": "Date"}, "element": {"type": "datepicker"}}
        ],
    }
    assert any("needs a submit button" in p for p in check_view(form))
    assert check_view({**form, "submit": {"type": "plain_text", "text": "Add"}}) == []
    assert check_view({"type": "home", "blocks": [section("x")] * 100}) == []
    assert any("unknown type" in p for p in check_view({"type": "page", "blocks": []}))
    assert any("fallback text" in p for p in check_message({"text": "t" * 4001, "blocks": []}))
    assert check_message({"text": "hello"}) == []
    with pytest.raises(ValueError, match="unknown surface"):
        check_blocks([], "dialog")


# ── the renderer keeps oversized replies inside the limits ──


def test_the_renderer_fits_oversized_replies() -> None:
    huge = reply(
        Heading("H" * 400),
        para("p" * 5000),
        Bullets(tuple((f"item {i} " + "x" * 400,) for i in range(300))),
        Code("&<>" * 3000, more=5),
        *(para(f"paragraph {i}") for i in range(60)),
        Note(("see /whisperer help",)),
    )
    blocks = to_blocks(huge)
    assert check_message({"text": fallback_text(huge), "blocks": blocks}) == []
    assert "left out to fit Slack's limits" in blocks[-2]["text"]["text"]
    assert blocks[-1]["type"] == "context"  # the closing hint survives the cut
    home_blocks = to_blocks(reply(*(para(f"p{i}") for i in range(150))), "home")
    assert len(home_blocks) == 100 and check_blocks(home_blocks, "home") == []


def test_a_long_code_block_keeps_its_fences_and_counts_what_it_drops() -> None:
    text = "\n".join(f"+line {i} & <b>" for i in range(400))
    [block] = to_blocks(reply(Code(text, more=10)))
    body = block["text"]["text"]
    assert body.startswith("```") and body.endswith("```") and len(body) <= 3000
    assert "more lines" in body and int(body.rsplit("… ", 1)[1].split()[0]) > 10


# ── everything the bot builds, from a demo database and from a crowded one ──


def every_command_reply(rt: Runtime, now: datetime) -> Iterator[tuple[str, Reply]]:
    for user, operator in (("U0ADMIN", False), ("U0DEWI", False), (None, True)):
        ctx = make_context(rt, now, user_id=user, operator=operator)
        for cmd in load_commands().values():
            for example in cmd.examples:  # writes too: their confirmations and refusals are replies as well
                yield f"{user or 'terminal'}: /whisperer {example}", dispatch(ctx, example)
            yield f"{user}: /whisperer help {cmd.name}", dispatch(ctx, f"help {cmd.name}")


def every_message(rt: Runtime, now: datetime) -> Iterator[tuple[str, dict[str, Any]]]:
    """(label, payload) for every message and view the bot would send from this database."""
    tz = rt.config.bot.tz
    for row in outbox.list_alerts(rt.db, limit=10_000):
        message = compose_alert(rt.db, row, tz)
        if message is not None:
            yield f"alert #{row['id']} ({row['kind']})", {"text": fallback_text(message), "blocks": to_blocks(message)}
    for label, answer in every_command_reply(rt, now):
        yield label, response_for(answer, share=False)
    for user in [None, "U0NOBODY", *(p["slack_id"] for p in people.list_people(rt.db) if p["slack_id"])]:
        yield f"home of {user}", home_view(home(make_context(rt, now, user_id=user)))
    digest = build_digest(rt, now)
    yield "digest", {"text": fallback_text(digest), "blocks": to_blocks(digest)}
    # Modals: every form, the whole-diff pages of the latest changes, and a form's answer shown in its modal.
    for form in FORMS:
        yield f"form {form}", form_view(form, "U0ADMIN", {"cert": 1, "number": "N" * 64, "channel": "C0X"})
    ctx = make_context(rt, now, user_id="U0ADMIN")
    for row in store.list_changes(rt.db, limit=20):
        for page in (1, 2):
            yield f"diff modal #{row['id']} p{page}", diff_view(dispatch(ctx, f"diff {row['id']} {page}"), row["id"])
    yield "form answer", result_view("Add a deadline", dispatch(ctx, "deadlines 3660"))


def assert_within_limits(rt: Runtime, now: datetime) -> int:
    checked = 0
    failures: dict[str, list[str]] = {}
    for label, payload in every_message(rt, now):
        problems = check_view(payload) if payload.get("type") in ("home", "modal") else check_message(payload)
        if problems:
            failures[label] = problems
        checked += 1
    assert failures == {}
    return checked


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("demo")
    assert run_demo(keep=str(workdir), out=lambda line: None) == 0
    return workdir


def test_everything_built_from_the_demo_database_is_within_limits(demo_db: Path) -> None:
    rt = open_runtime(load_config(demo_db / "whisperer.toml", env={}), DEMO_NOW)
    try:
        kinds = {row["kind"] for row in outbox.list_alerts(rt.db, limit=10_000)}
        assert {"change", "tier-renamed", "policy-version", "cert-reminder"} <= kinds  # every alert kind is there
        assert assert_within_limits(rt, DEMO_NOW) > 100
    finally:
        rt.close()


def test_everything_built_from_a_crowded_database_is_within_limits(demo_db: Path, tmp_path: Path) -> None:
    """Hundreds of changes with long diffs and names, deadlines, certifications and failing sources."""
    rt = open_runtime(load_config(demo_db / "whisperer.toml", env={"WHISPERER_DB": str(tmp_path / "c.db")}), DEMO_NOW)
    try:
        crowd(rt)
        assert assert_within_limits(rt, DEMO_NOW) > 100
    finally:
        rt.close()


def crowd(rt: Runtime) -> None:
    now = DEMO_NOW - timedelta(days=2)
    long_name = "Huawei Cloud Partner Network " * 12
    with transaction(rt.db):
        specs = [
            {
                "id": f"src-{i}",
                "name": long_name,
                "kind": "html",
                "url": f"https://example.com/{i}",
                "topic": topic,
                "every": 3600,
            }
            for i, topic in enumerate(("policy", "tiers", "announcement", "certification", "rebate") * 8)
        ]
        state.sync_sources(rt.db, specs, now, origin="slack")
        for spec in specs:
            state.record_failure(rt.db, spec["id"], now, "connection refused & <reset> " * 40)
            for j in range(8):
                diff = "\n".join(f"+{'&<>' * 30} line {k}" for k in range(300))
                change_id = store.add_change(
                    rt.db,
                    spec["id"],
                    now + timedelta(minutes=j),
                    kind="page",
                    summary="s" * 500,
                    diff=diff,
                    old_hash=None,
                    new_hash=None,
                    added=300,
                    removed=0,
                )
                outbox.enqueue_alert(
                    rt.db,
                    f"change:{change_id}",
                    "change",
                    {"change_id": change_id, "source_id": spec["id"], "summary": "s"},
                    now,
                    source_id=spec["id"],
                    change_id=change_id,
                )
        for i in range(80):
            person = people.upsert_person(rt.db, f"Person {i} " + "N" * 100, now, slack_id=f"U0P{i:03d}")
            certs.upsert_certification(
                rt.db,
                person,
                "HCIE-" + "Cloud" * 40,
                now,
                level="HCIE",
                number="N" * 50,
                passed=None,
                expires=date(2026, 12, 1) + timedelta(days=i),
                expires_given=True,
            )
            deadlines.add_deadline(
                rt.db, f"crowd:{i}", date(2026, 11, 27) + timedelta(days=i % 20), "Deadline " + "T" * 300, "manual", now
            )
    assert text_length(to_blocks(reply(bullets("x")))) == 3
