"""Migration 4: where alerts cannot go (delivery blocks) and which Slack requests were already handled."""

from __future__ import annotations

from datetime import timedelta

from conftest import NOW

from storage.database import Database
from storage.db import transaction
from storage.migrations import schema_version
from storage.outbox import alerts as outbox
from storage.outbox import delivery as blocks
from storage.outbox.requests import forget_requests_before, remember_request


def test_migration_4_creates_the_tables(db: Database) -> None:
    assert schema_version(db) >= 4
    assert {"delivery_blocks", "handled_requests"} <= set(db.table_names())


def test_a_block_is_new_once_then_updated(db: Database) -> None:
    probe = NOW + timedelta(minutes=15)
    assert blocks.block_target(db, "C1", "not_in_channel", "invite the bot", NOW, probe) is True
    later = NOW + timedelta(minutes=30)
    assert blocks.block_target(db, "C1", "not_in_channel", "invite the bot", probe, later) is False
    [row] = blocks.blocked_targets(db)
    assert (row["since"], row["probe_at"], row["attempts"]) == (
        "2026-11-26T03:00:00+00:00",
        "2026-11-26T03:30:00+00:00",
        2,
    )
    assert blocks.clear_block(db, "C1") is True
    assert blocks.clear_block(db, "C1") is False
    assert blocks.blocked_targets(db) == []


def test_postponed_alerts_are_released_by_clear_blocks(db: Database) -> None:
    with transaction(db):
        for n in range(2):
            outbox.enqueue_alert(db, f"k{n}", "notice", {"text": str(n)}, NOW)
        blocks.block_target(db, "C1", "not_in_channel", "", NOW, NOW + timedelta(minutes=15))
    first, second = outbox.pending_alerts(db)
    with transaction(db):
        outbox.mark_sent(db, second["id"], NOW)
        blocks.postpone_alerts(db, [first["id"], second["id"]], NOW + timedelta(minutes=15))
    assert outbox.due_alerts(db, NOW + timedelta(minutes=1)) == []
    assert [a["next_attempt_at"] for a in outbox.list_alerts(db)] == [
        "2026-11-26T03:00:00+00:00",  # already sent: untouched
        "2026-11-26T03:15:00+00:00",
    ]
    with transaction(db):
        assert blocks.clear_blocks(db, NOW + timedelta(minutes=1)) == 1
    assert [a["key"] for a in outbox.due_alerts(db, NOW + timedelta(minutes=1))] == ["k0"]


def test_a_request_key_is_handled_once_and_forgotten_after_a_day(db: Database) -> None:
    assert remember_request(db, "trigger:1", NOW) is True
    assert remember_request(db, "trigger:1", NOW + timedelta(seconds=3)) is False
    assert remember_request(db, "event:Ev1", NOW + timedelta(hours=2)) is True
    assert forget_requests_before(db, NOW + timedelta(hours=1)) == 1
    assert remember_request(db, "trigger:1", NOW + timedelta(days=1)) is True
    assert remember_request(db, "event:Ev1", NOW + timedelta(days=1)) is False
