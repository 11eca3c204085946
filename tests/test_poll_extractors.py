"""Extractors cannot break a poll: one strict feed test, and an extractor that raises is a warning, not a crash."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

from conftest import FAST, NOW, Watch

from bot.cli.main import main
from bot.slack.render import to_text
from handlers.registry import Context, dispatch
from storage.database import Database
from storage.db import transaction
from storage.programme import deadlines
from storage.watching import sources as state
from watchers.facts.extractors import DeadlineFacts, make_extractors
from watchers.poll import poll_sources
from watchers.reading.observe import Observation
from watchers.sources import SourceSpec

# Starts with "{" but is not JSON (an export's banner line): a loose "starts with {" test took it for a feed.
JSON_TEXT = "{ Partner Center export, v2 }\nDeal registration for the Q1 campaign closes on 2026-12-15.\n"


def poll(watch: Watch, extractors: Sequence[object], *specs: SourceSpec, now: datetime = NOW) -> dict[str, object]:
    for spec in specs:
        watch.specs[spec.id] = spec
    with transaction(watch.db):
        state.sync_sources(watch.db, (s.public_dict() for s in watch.specs.values()), now)
    outcomes = poll_sources(
        watch.db,
        list(specs),
        watch.client,
        watch.limiter,
        FAST,
        now,
        extractors=extractors,  # type: ignore[arg-type]
    )
    return {o.source_id: o for o in outcomes}


def test_a_text_file_that_starts_with_a_brace_is_text(tmp_path: Path, capsys: object) -> None:
    """The `{`-text case that used to raise JSONDecodeError out of `whisperer poll`, through the real CLI."""
    export = tmp_path / "export.json"
    export.write_text(JSON_TEXT, encoding="utf-8")
    after = tmp_path / "after.txt"
    after.write_text("Rebate claims are due on 2027-01-31.\n", encoding="utf-8")
    config = tmp_path / "whisperer.toml"
    config.write_text(
        '[bot]\ndatabase = "w.db"\n\n'
        '[[sources]]\nid = "export"\nkind = "file"\nurl = "export.json"\nextract_deadlines = true\n\n'
        '[[sources]]\nid = "zz-after"\nkind = "file"\nurl = "after.txt"\nextract_deadlines = true\n',
        encoding="utf-8",
    )
    assert main(["--config", str(config), "poll"]) == 0
    export.write_text(JSON_TEXT.replace("2026-12-15", "2026-12-22"), encoding="utf-8")
    assert main(["--config", str(config), "poll"]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "Polled 2 sources: 0 changed, 0 failed, 2 new" in out
    assert "✓ export: changed — 1 line added, 1 removed" in out and "Polled 2 sources: 1 changed, 0 failed" in out
    assert main(["--config", str(config), "sources"]) == 0
    listing = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "2 sources, all healthy" in listing and "warning" not in listing
    from storage.db import open_db

    db = open_db(tmp_path / "w.db")
    try:
        due = {(d["source_id"], d["due"]) for d in deadlines.live_deadlines(db)}
    finally:
        db.conn.close()
    assert due == {("export", "2026-12-22"), ("zz-after", "2027-01-31")}  # read as the sentences they are


class Exploding:
    """An extractor with a bug: it writes, then raises halfway."""

    label = "the exploding reader"

    def __call__(
        self,
        db: Database,
        spec: SourceSpec,
        obs: Observation,
        old_text: str | None,
        change_ids: Sequence[int],
        now: datetime,
    ) -> None:
        deadlines.sync_source_deadlines(db, spec.id, [(f"boom:{spec.id}", date(2027, 1, 1), "half-written")], now, None)
        raise ValueError("Expecting value: line 1 column 1 (char 0)")


def test_an_extractor_that_raises_is_the_sources_warning(tmp_path: Path, db: Database) -> None:
    first = tmp_path / "first.txt"
    second = tmp_path / "second.txt"
    first.write_text("Certification renewal closes on 2026-12-15.\n", encoding="utf-8")
    second.write_text("Rebate claims are due on 2027-01-31.\n", encoding="utf-8")
    specs = [
        SourceSpec(id="first", kind="file", url=str(first), extract_deadlines=True),
        SourceSpec(id="second", kind="file", url=str(second), extract_deadlines=True),
    ]
    watch = Watch(db)
    try:
        extractors = [Exploding(), DeadlineFacts()]
        assert {o.status for o in poll(watch, extractors, *specs).values()} == {"new"}  # type: ignore[attr-defined]
        first.write_text("Certification renewal closes on 2026-12-20.\n", encoding="utf-8")
        outcomes = poll(watch, extractors, *specs, now=NOW + timedelta(hours=1))
    finally:
        watch.close()
    changed = outcomes["first"]
    assert changed.status == "changed"  # type: ignore[attr-defined]
    assert "the exploding reader could not read this snapshot (ValueError: Expecting value" in changed.warning  # type: ignore[attr-defined]
    assert "the change itself is kept" in changed.warning  # type: ignore[attr-defined]
    assert len(watch.changes("first")) == 1 and len(watch.alerts("change")) == 1  # the change and its alert stand
    assert watch.snapshot("first") == "Certification renewal closes on 2026-12-20."
    assert outcomes["second"].status == "unchanged"  # type: ignore[attr-defined]  # the next source was polled
    due = {(d["source_id"], d["due"], d["title"]) for d in deadlines.live_deadlines(db)}
    # The exploding extractor's half-write was undone; the deadline reader after it still ran.
    assert ("first", "2026-12-20", "Certification renewal closes on 2026-12-20.") in due
    assert not any(title == "half-written" for _, _, title in due)
    listing = to_text(dispatch(Context(db=db, now=NOW + timedelta(hours=1), tz=NOW.tzinfo), "sources"))  # type: ignore[arg-type]
    assert "warning: the exploding reader could not read this snapshot" in listing
    assert "2 sources, all healthy (2 with a warning)" in listing


def test_real_extractors_ignore_a_json_page_that_is_not_a_feed_snapshot(tmp_path: Path, db: Database) -> None:
    """A tiers or policy page whose text starts with "{" is read as text by every extractor."""
    page = tmp_path / "tiers.txt"
    page.write_text('{"tiers": ["Premier", "Certified Plus"]}\nPolicy v3.2.1\n', encoding="utf-8")
    specs = [
        SourceSpec(id="tiers", kind="file", url=str(page), topic="tiers", extract_deadlines=True),
        SourceSpec(id="policy", kind="file", url=str(page), topic="policy", extract_deadlines=True),
    ]
    watch = Watch(db)
    try:
        extractors = make_extractors("Acme Cloud", "Premier")
        poll(watch, extractors, *specs)
        page.write_text('{"tiers": ["Premier Plus", "Certified Plus"]}\nPolicy v3.3.0\n', encoding="utf-8")
        outcomes = poll(watch, extractors, *specs, now=NOW + timedelta(hours=1))
    finally:
        watch.close()
    assert {o.status for o in outcomes.values()} == {"changed"}  # type: ignore[attr-defined]
    assert all(o.warning is None for o in outcomes.values())  # type: ignore[attr-defined]


class Refusing(Exploding):
    """The same bug, in an extractor that says it has nothing to read here: it is not called."""

    label = "the refusing reader"

    def applies(self, spec: SourceSpec, change_ids: Sequence[int]) -> bool:
        return False


def test_a_failing_extractor_loses_its_own_writes_only_and_one_that_does_not_apply_is_not_run(
    tmp_path: Path, db: Database
) -> None:
    """The extractors share one savepoint; when one raises they run again one savepoint each: the deadline
    reader before it keeps its deadline (written once), the exploding one's half-write is gone."""
    page = tmp_path / "page.txt"
    page.write_text("Certification renewal closes on 2026-12-15.\n", encoding="utf-8")
    spec = SourceSpec(id="page", kind="file", url=str(page), extract_deadlines=True)
    watch = Watch(db)
    try:
        outcome = poll(watch, [DeadlineFacts(), Refusing(), Exploding()], spec)["page"]
    finally:
        watch.close()
    assert outcome.status == "new"  # type: ignore[attr-defined]
    assert outcome.warning.startswith("the exploding reader could not read this snapshot")  # type: ignore[attr-defined]
    assert "refusing" not in outcome.warning  # type: ignore[attr-defined]
    due = [(d["source_id"], d["due"], d["title"]) for d in deadlines.live_deadlines(db)]
    assert due == [("page", "2026-12-15", "Certification renewal closes on 2026-12-15.")]
    assert watch.source("page")["warning"] == outcome.warning  # type: ignore[attr-defined]


TIER_PAGE = "Partner tiers\nRegistered\nSilver\nGold\nPremier\nPolicy version 3.2, updated 2026-11-01.\n"


def test_the_readers_that_do_not_apply_would_have_written_nothing(db: Database) -> None:
    """`applies` is a promise: for another topic and no change, calling the reader writes not one row."""
    from bot.config.loading import default_config
    from bot.process.meaning import meaning_facts
    from watchers.facts.follow import Follow
    from watchers.facts.impact import Follower
    from watchers.facts.meaning import MeaningFacts
    from watchers.recording.levels import ChangeLevels

    text = TIER_PAGE + "Claims close on 2026-12-15. At least 40% year on year.\n"
    follower = Follower("kpi", "Growth", None, "min", "%", Follow("elsewhere", r"at least (\d+)%"), 30.0)
    readers = [
        *make_extractors("Acme Cloud", "Premier"),
        meaning_facts(default_config({})),
        MeaningFacts(followers=(follower,)),
        ChangeLevels(),
    ]
    obs = Observation("ok", text=text, readable=text)
    with transaction(db):
        state.sync_sources(db, [SourceSpec(id="page", kind="file", url="page.txt").public_dict()], NOW)
    for topic in ("general", "pricing"):
        spec = SourceSpec(id="page", kind="file", url="page.txt", topic=topic)
        for reader in readers:
            assert not reader.applies(spec, [])  # type: ignore[attr-defined]
            before = db.conn.total_changes
            with transaction(db):
                reader(db, spec, obs, TIER_PAGE, [], NOW)  # type: ignore[operator]
            assert db.conn.total_changes == before, reader
    for topic in ("tiers", "policy", "deadlines"):  # and each reads what its topic holds
        spec = SourceSpec(id="page", kind="file", url="page.txt", topic=topic)
        assert [type(r).__name__ for r in readers if r.applies(spec, [])] == [  # type: ignore[attr-defined]
            {"tiers": "TierFacts", "policy": "PolicyFacts", "deadlines": "DeadlineFacts"}[topic]
        ]
        before = db.conn.total_changes
        with transaction(db):
            for reader in readers:
                reader(db, spec, obs, None, [], NOW)  # type: ignore[operator]
        assert db.conn.total_changes > before, topic
