"""kind = "json": leaf-per-line snapshots, field-level change summaries, records keyed by id, clear errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import FixtureServer, Response, Watch

from bot.config.loading import ConfigError, load_config
from watchers.reading.jsondoc import JsonError, json_lines, summarise_leaves
from watchers.sources import SourceSpec

JSON = {"Content-Type": "application/json"}

PARTNER: dict[str, Any] = {
    "data": {
        "partner": {"name": "Acme Cloud", "tier": "Premier", "emi": 73.8},
        "incentives": [
            {"id": "mdf", "rate": "3%", "cap": 50000},
            {"id": "rebate", "rate": "4%", "cap": None},
        ],
        "tags": ["csp", "msp"],
    },
    "meta": {"request id": "r-1"},
}


def test_leaves_are_sorted_paths_with_records_keyed_by_id() -> None:
    assert json_lines(json.dumps(PARTNER)) == [
        "data.incentives[id=mdf].cap: 50000",
        "data.incentives[id=mdf].id: mdf",
        "data.incentives[id=mdf].rate: 3%",
        "data.incentives[id=rebate].cap: null",
        "data.incentives[id=rebate].id: rebate",
        "data.incentives[id=rebate].rate: 4%",
        "data.partner.emi: 73.8",
        "data.partner.name: Acme Cloud",
        "data.partner.tier: Premier",
        "data.tags[0]: csp",
        "data.tags[1]: msp",
        'meta["request id"]: r-1',
    ]


def test_reordered_records_give_the_same_snapshot() -> None:
    shuffled = json.loads(json.dumps(PARTNER))
    shuffled["data"]["incentives"].reverse()
    assert json_lines(json.dumps(shuffled)) == json_lines(json.dumps(PARTNER))


def test_select_narrows_with_jsonpath_and_keeps_full_paths() -> None:
    assert json_lines(json.dumps(PARTNER), "$.data.partner") == [
        "data.partner.emi: 73.8",
        "data.partner.name: Acme Cloud",
        "data.partner.tier: Premier",
    ]
    # A filter that picks one record: its path keeps the record's id, not its position.
    assert json_lines(json.dumps(PARTNER), "$.data.incentives[?@.id == 'rebate'].rate") == [
        "data.incentives[id=rebate].rate: 4%"
    ]


def test_invalid_json_names_line_and_column() -> None:
    with pytest.raises(JsonError) as info:
        json_lines('{"data": {\n  "tier": "Premier",\n  "emi": }\n}')
    assert "invalid JSON at line 3, column 10" in str(info.value)


def test_select_matching_nothing_is_an_error_naming_the_keys() -> None:
    with pytest.raises(JsonError) as info:
        json_lines(json.dumps(PARTNER), "$.dataa.partner")
    assert "matched nothing" in str(info.value) and "top-level keys: data, meta" in str(info.value)


def test_summary_reads_old_to_new_per_field() -> None:
    removed = ["data.partner.tier: Premier", "data.old: 1"]
    added = ["data.partner.tier: Certified Plus", "data.new: 2"]
    assert summarise_leaves(added, removed) == (
        "data.partner.tier: Premier → Certified Plus; data.new: 2 (new); data.old: 1 (removed)"
    )


def test_json_source_end_to_end(server: FixtureServer, watch: Watch) -> None:
    server.routes["/api/partner"] = Response(body=json.dumps(PARTNER).encode(), headers=JSON)
    spec = SourceSpec(id="partner-api", kind="json", url=server.url("/api/partner"), select="$.data")

    assert watch.poll(spec)["partner-api"].status == "new"

    # Reordering the incentives is not a change.
    reordered = json.loads(json.dumps(PARTNER))
    reordered["data"]["incentives"].reverse()
    server.routes["/api/partner"] = Response(body=json.dumps(reordered).encode(), headers=JSON)
    assert watch.poll(spec)["partner-api"].status == "unchanged"

    # A field-level change reads old → new.
    reordered["data"]["partner"]["tier"] = "Certified Plus"
    server.routes["/api/partner"] = Response(body=json.dumps(reordered).encode(), headers=JSON)
    outcome = watch.poll(spec)["partner-api"]
    assert outcome.status == "changed"
    assert outcome.summaries == ["data.partner.tier: Premier → Certified Plus"]
    (change,) = watch.changes("partner-api")
    assert "-data.partner.tier: Premier" in change["diff"] and "+data.partner.tier: Certified Plus" in change["diff"]

    # A broken body is a recorded error naming the position; the last good snapshot stands.
    server.routes["/api/partner"] = Response(body=b'{"data": [1, 2,]}', headers=JSON)
    outcome = watch.poll(spec)["partner-api"]
    assert outcome.status == "error"
    assert outcome.error is not None and "line 1, column 16" in outcome.error
    assert "data.partner.tier: Certified Plus" in (watch.snapshot("partner-api") or "")


def test_config_validates_select(tmp_path: Any) -> None:
    config = tmp_path / "whisperer.toml"
    config.write_text(
        '[[sources]]\nid = "api"\nkind = "json"\nurl = "https://portal.example/api"\nselect = "$.data["\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_config(config, env={})
    assert "sources[0].select" in str(info.value) and "invalid JSONPath" in str(info.value)
    config.write_text(
        '[[sources]]\nid = "page"\nkind = "html"\nurl = "https://portal.example/"\nselect = "$.data"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_config(config, env={})
    assert "use selector (CSS)" in str(info.value)
