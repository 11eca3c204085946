"""A failing source is a recorded state: clear errors, last good snapshot kept, alerts once after N and on recovery."""

from __future__ import annotations

import http.client
import json
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from conftest import DATA, FAST, NOW, FixtureServer, Response, Watch

from storage.db import stamp
from watchers.sources import SourceSpec

HTML = {"Content-Type": "text/html; charset=utf-8"}
BIG = b"<p>" + b"x" * (FAST.max_bytes + 6_000) + b"</p>"


def page(text: str) -> Response:
    return Response(body=f"<table class='tiers'><tr><td>{text}</td></tr></table>".encode(), headers=HTML)


def test_the_stream_route_really_sends_no_content_length(server: FixtureServer) -> None:
    server.routes["/stream"] = Response(body=BIG, headers=HTML, chunked=True)
    parts = urlsplit(server.url("/stream"))
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        conn.request("GET", "/stream")
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    assert response.getheader("Content-Length") is None
    assert response.getheader("Transfer-Encoding") == "chunked"
    assert body == BIG


def test_failures_are_recorded_while_the_other_sources_poll(
    server: FixtureServer, watch: Watch, tmp_path: Path
) -> None:
    saved, gone = tmp_path / "saved.txt", tmp_path / "gone.txt"
    saved.write_text("Elite: 6%\n", encoding="utf-8")
    gone.write_text("Advanced: 4%\n", encoding="utf-8")
    failing_paths = ["/500", "/slow", "/loop", "/big", "/stream", "/selector"]
    for path in ["/html", *failing_paths]:
        server.routes[path] = page(f"{path} v1")
    server.routes["/feed"] = Response(body=(DATA / "feeds" / "atom-v1.xml").read_bytes(), headers={})
    specs = [
        SourceSpec(id="html-ok", kind="html", url=server.url("/html")),
        SourceSpec(id="feed-ok", kind="feed", url=server.url("/feed")),
        SourceSpec(id="file-ok", kind="file", url=str(saved)),
        *(
            SourceSpec(id=path.strip("/"), kind="html", url=server.url(path), selector="table.tiers")
            for path in failing_paths
        ),
        SourceSpec(id="gone", kind="file", url=str(gone)),
    ]
    first = watch.poll(*specs)
    assert {o.status for o in first.values()} == {"new"}
    good = {spec.id: watch.source(spec.id)["last_hash"] for spec in specs}

    # The healthy sources change; every other source fails in its own way, all in the same poll.
    server.routes["/html"] = page("/html v2")
    server.routes["/feed"] = Response(body=(DATA / "feeds" / "atom-v2.xml").read_bytes(), headers={})
    saved.write_text("Elite: 7%\n", encoding="utf-8")
    server.routes["/500"] = Response(500, b"Traceback (most recent call last): ...")
    server.routes["/slow"] = Response(body=b"<p>too late</p>", headers=HTML, delay=30)  # read_timeout is 5 s
    server.routes["/loop"] = Response(302, headers={"Location": "/loop"})
    server.routes["/big"] = Response(body=BIG, headers=HTML)
    server.routes["/stream"] = Response(body=BIG, headers=HTML, chunked=True)
    server.routes["/selector"] = Response(body=b"<p>The tier table moved to another page.</p>", headers=HTML)
    gone.unlink()
    later = NOW + timedelta(hours=1)

    outcomes = watch.poll(*specs, now=later)

    assert {k: outcomes[k].status for k in ("html-ok", "feed-ok", "file-ok")} == dict.fromkeys(
        ("html-ok", "feed-ok", "file-ok"), "changed"
    )
    errors = {k: o.error for k, o in outcomes.items() if o.status == "error"}
    cap = f"page larger than the {FAST.max_bytes:,}-byte cap"
    assert errors == {
        "500": "HTTP 500 Internal Server Error: the server failed; it will be retried on the next poll",
        "slow": "timed out waiting for the server; raise [fetch] read_timeout if the page is just slow",
        "loop": (
            "too many redirects (more than [fetch] max_redirects allows, probably a loop); "
            "open the URL in a browser and use where it lands"
        ),
        "big": f"{cap} (server announced {len(BIG):,} bytes); raise [fetch] max_bytes or add a selector",
        "stream": f"{cap} (body kept coming); raise [fetch] max_bytes or add a selector",
        "selector": "selector 'table.tiers' matched nothing on the page; fix the source's selector",
        "gone": f"file not found: {gone}; save the page there or fix the source's url",
    }
    for source_id, error in errors.items():
        row = watch.source(source_id)
        assert (row["last_status"], row["last_error"], row["failures"]) == ("error", error, 1), source_id
        assert row["failing_since"] == stamp(later)
        assert row["last_hash"] == good[source_id]  # the last good snapshot is kept …
        assert watch.snapshot(source_id) is not None  # … and still readable
        assert watch.changes(source_id) == []
    assert watch.snapshot("500") == "/500 v1"
    [poll_row] = watch.db.execute("SELECT checked, changed, failed FROM polls ORDER BY id DESC LIMIT 1")
    assert tuple(poll_row) == (len(specs), 3, 7)
    assert watch.alerts("source-failing") == []  # one failure is not yet an outage


def test_one_failing_alert_per_outage_and_one_recovered_alert(server: FixtureServer, watch: Watch) -> None:
    server.routes["/flaky"] = page("Elite rebate: 6%")
    server.routes["/steady"] = page("Advanced rebate: 4%")
    flaky = SourceSpec(id="flaky", kind="html", url=server.url("/flaky"), channel="#partner-alerts")
    steady = SourceSpec(id="steady", kind="html", url=server.url("/steady"))
    watch.poll(flaky, steady)
    good_hash = watch.source("flaky")["last_hash"]

    server.routes["/flaky"] = Response(503, b"maintenance")
    history = []
    for hour in range(1, 6):
        outcome = watch.poll(flaky, steady, now=NOW + timedelta(hours=hour))["flaky"]
        history.append((outcome.status, outcome.failures, len(watch.alerts("source-failing"))))

    assert history == [("error", 1, 0), ("error", 2, 0), ("error", 3, 1), ("error", 4, 1), ("error", 5, 1)]
    [failing] = watch.alerts("source-failing")
    assert failing["source_id"] == "flaky"
    assert failing["channel"] == "#partner-alerts"
    assert failing["created_at"] == stamp(NOW + timedelta(hours=3))
    assert json.loads(failing["payload"]) == {
        "source_id": "flaky",
        "failures": 3,
        "error": "HTTP 503 Service Unavailable: the server failed; it will be retried on the next poll",
    }
    row = watch.source("flaky")
    assert row["failures"] == 5
    assert row["failing_since"] == stamp(NOW + timedelta(hours=1))
    assert row["last_hash"] == good_hash
    assert watch.snapshot("flaky") == "Elite rebate: 6%"
    assert watch.source("steady")["failures"] == 0

    server.routes["/flaky"] = page("Elite rebate: 6%")
    recovered = watch.poll(flaky, steady, now=NOW + timedelta(hours=6))["flaky"]
    watch.poll(flaky, steady, now=NOW + timedelta(hours=7))

    assert recovered.status == "unchanged"
    [alert] = watch.alerts("source-recovered")
    assert alert["source_id"] == "flaky"
    assert json.loads(alert["payload"]) == {
        "source_id": "flaky",
        "failures": 5,
        "since": stamp(NOW + timedelta(hours=1)),
    }
    row = watch.source("flaky")
    assert (row["failures"], row["failing_since"], row["last_error"]) == (0, None, None)
    assert len(watch.alerts("source-failing")) == 1
    assert watch.changes("flaky") == []

    # A second outage is a new story: one more failing alert, one more recovered alert.
    server.routes["/flaky"] = Response(500, b"")
    for hour in range(8, 12):
        watch.poll(flaky, now=NOW + timedelta(hours=hour))
    server.routes["/flaky"] = page("Elite rebate: 6%")
    watch.poll(flaky, now=NOW + timedelta(hours=12))

    assert len(watch.alerts("source-failing")) == 2
    assert len(watch.alerts("source-recovered")) == 2
    assert all(a["source_id"] == "flaky" for a in watch.alerts())  # steady never alerted


def test_recovery_by_a_304_is_a_recovery(server: FixtureServer, watch: Watch) -> None:
    etag = '"rebates-v1"'
    outage = {"on": False}

    def route(seen: object) -> Response:
        if outage["on"]:
            return Response(502, b"bad gateway")
        headers = {k.lower(): v for k, v in getattr(seen, "headers", {}).items()}
        if headers.get("if-none-match") == etag:
            return Response(304, headers={"ETag": etag})
        return Response(body=b"<p>Elite rebate: 6%</p>", headers={**HTML, "ETag": etag})

    server.routes["/rebates"] = route
    spec = SourceSpec(id="rebates", kind="html", url=server.url("/rebates"))
    watch.poll(spec)
    outage["on"] = True
    for hour in (1, 2, 3):
        watch.poll(spec, now=NOW + timedelta(hours=hour))
    assert watch.source("rebates")["etag"] == etag  # validators survive the outage
    outage["on"] = False

    outcome = watch.poll(spec, now=NOW + timedelta(hours=4))["rebates"]

    assert outcome.status == "not_modified"
    assert len(watch.alerts("source-failing")) == 1
    assert len(watch.alerts("source-recovered")) == 1
    row = watch.source("rebates")
    assert (row["last_status"], row["failures"], row["last_error"]) == ("not_modified", 0, None)


def test_a_short_blip_below_the_threshold_alerts_nobody(server: FixtureServer, watch: Watch) -> None:
    server.routes["/blip"] = page("Elite")
    spec = SourceSpec(id="blip", kind="html", url=server.url("/blip"))
    watch.poll(spec)
    server.routes["/blip"] = Response(500, b"")
    watch.poll(spec, now=NOW + timedelta(hours=1))
    watch.poll(spec, now=NOW + timedelta(hours=2))
    assert watch.source("blip")["failures"] == 2
    server.routes["/blip"] = page("Elite")

    assert watch.poll(spec, now=NOW + timedelta(hours=3))["blip"].status == "unchanged"
    assert watch.alerts() == []
    assert watch.source("blip")["failures"] == 0


def test_the_threshold_is_configurable(server: FixtureServer, watch: Watch) -> None:
    server.routes["/down"] = Response(500, b"")
    spec = SourceSpec(id="down", kind="html", url=server.url("/down"))

    watch.poll(spec, threshold=1)
    watch.poll(spec, now=NOW + timedelta(hours=1), threshold=1)

    [alert] = watch.alerts("source-failing")
    assert json.loads(alert["payload"])["failures"] == 1


def test_a_bug_while_recording_one_source_fails_that_source_alone(server: FixtureServer, watch: Watch) -> None:
    """A poll writes its results in batches; a source whose recording raises (here a JSON string holding a lone
    surrogate, which no snapshot can store) is that source's failure, and the batch's other sources are kept."""
    plain = {"Content-Type": "application/json"}
    server.routes["/a.json"] = Response(body=b'{"tier": "Gold"}', headers=plain)
    server.routes["/broken.json"] = Response(body=b'{"tier": "\\ud800 Gold"}', headers=plain)
    server.routes["/c.json"] = Response(body=b'{"tier": "Silver"}', headers=plain)
    specs = [SourceSpec(id=name, kind="json", url=server.url(f"/{name}.json")) for name in ("a", "broken", "c")]
    outcomes = watch.poll(*specs)
    assert {name: o.status for name, o in outcomes.items()} == {"a": "new", "broken": "error", "c": "new"}
    assert "unexpected UnicodeEncodeError while recording" in (outcomes["broken"].error or "")
    assert watch.snapshot("a") == "tier: Gold" and watch.snapshot("c") == "tier: Silver"
    broken = watch.source("broken")
    assert (broken["failures"], broken["last_hash"], broken["last_status"]) == (1, None, "error")
    assert watch.count("snapshots") == 2 and watch.count("changes") == 0
