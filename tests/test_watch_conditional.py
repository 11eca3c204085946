"""Conditional GETs: the server's own ETag and Last-Modified go back verbatim, and a 304 costs nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from conftest import NOW, FixtureServer, Response, Seen, Watch

from storage.db import stamp
from watchers.fetching.http import Fetched
from watchers.reading.observe import body_key, observe
from watchers.sources import SourceSpec

HTML = "text/html; charset=utf-8"


def lower(seen: Seen) -> dict[str, str]:
    return {k.lower(): v for k, v in seen.headers.items()}


@dataclass
class ConditionalPage:
    """A page that answers 304 only when both validators come back byte for byte."""

    body: bytes
    etag: str | None = 'W/"tiers-v1-5f3a"'
    last_modified: str | None = "Wed, 25 Nov 2026 08:00:00 GMT"
    answered_304: int = 0

    def __call__(self, seen: Seen) -> Response:
        sent = lower(seen)
        if (self.etag or self.last_modified) and (
            sent.get("if-none-match") == self.etag and sent.get("if-modified-since") == self.last_modified
        ):
            self.answered_304 += 1
            return Response(304, headers={"ETag": self.etag} if self.etag else {})
        headers = {"Content-Type": HTML}
        if self.etag:
            headers["ETag"] = self.etag
        if self.last_modified:
            headers["Last-Modified"] = self.last_modified
        return Response(body=self.body, headers=headers)


def test_validators_go_back_exactly_and_a_304_adds_no_rows(server: FixtureServer, watch: Watch) -> None:
    page = ConditionalPage(b"<table><tr><td>Elite</td><td>96 hours</td></tr></table>")
    server.routes["/tiers"] = page
    spec = SourceSpec(id="tiers", kind="html", url=server.url("/tiers"))

    assert watch.poll(spec)["tiers"].status == "new"
    first = lower(server.requests_to("/tiers")[0])
    assert "if-none-match" not in first and "if-modified-since" not in first
    row = watch.source("tiers")
    assert (row["etag"], row["last_modified"]) == (page.etag, page.last_modified)
    before = {t: watch.count(t) for t in ("snapshots", "changes", "alerts")}
    hash_before = row["last_hash"]

    for hour in (1, 2):
        outcome = watch.poll(spec, now=NOW + timedelta(hours=hour))["tiers"]
        assert outcome.status == "not_modified"

    conditional = [lower(s) for s in server.requests_to("/tiers")[1:]]
    assert [(c.get("if-none-match"), c.get("if-modified-since")) for c in conditional] == [
        ('W/"tiers-v1-5f3a"', "Wed, 25 Nov 2026 08:00:00 GMT")
    ] * 2
    assert page.answered_304 == 2
    assert {t: watch.count(t) for t in ("snapshots", "changes", "alerts")} == before
    row = watch.source("tiers")
    assert row["last_status"] == "not_modified"
    assert row["last_checked"] == stamp(NOW + timedelta(hours=2))
    assert row["last_hash"] == hash_before
    assert (row["etag"], row["last_modified"]) == (page.etag, page.last_modified)
    totals = watch.db.execute("SELECT SUM(checked), SUM(changed), SUM(failed), SUM(not_modified) FROM polls")
    assert tuple(totals.fetchone()) == (3, 0, 0, 2)  # three polls, two of them answered by a 304


def test_new_validators_replace_the_old_ones(server: FixtureServer, watch: Watch) -> None:
    page = ConditionalPage(b"<p>Elite rebate: 6%</p>")
    server.routes["/rebates"] = page
    spec = SourceSpec(id="rebates", kind="html", url=server.url("/rebates"))
    watch.poll(spec)

    page.body, page.etag, page.last_modified = (
        b"<p>Elite rebate: 7%</p>",
        '"rebates-v2"',
        "Thu, 26 Nov 2026 01:00:00 GMT",
    )
    changed = watch.poll(spec, now=NOW + timedelta(hours=1))["rebates"]
    again = watch.poll(spec, now=NOW + timedelta(hours=2))["rebates"]

    assert changed.status == "changed"
    assert again.status == "not_modified"
    last = lower(server.requests_to("/rebates")[-1])
    assert (last["if-none-match"], last["if-modified-since"]) == ('"rebates-v2"', "Thu, 26 Nov 2026 01:00:00 GMT")


def test_only_the_validators_the_server_gave_are_sent(server: FixtureServer, watch: Watch) -> None:
    dated = ConditionalPage(b"<p>dated</p>", etag=None)
    plain = ConditionalPage(b"<p>plain</p>", etag=None, last_modified=None)
    server.routes["/dated"] = dated
    server.routes["/plain"] = plain
    specs = (
        SourceSpec(id="dated", kind="html", url=server.url("/dated")),
        SourceSpec(id="plain", kind="html", url=server.url("/plain")),
    )
    watch.poll(*specs)

    outcomes = watch.poll(*specs, now=NOW + timedelta(hours=1))

    assert outcomes["dated"].status == "not_modified"
    assert outcomes["plain"].status == "unchanged"
    dated_sent = lower(server.requests_to("/dated")[-1])
    assert dated_sent["if-modified-since"] == "Wed, 25 Nov 2026 08:00:00 GMT"
    assert "if-none-match" not in dated_sent
    plain_sent = lower(server.requests_to("/plain")[-1])
    assert "if-none-match" not in plain_sent and "if-modified-since" not in plain_sent


def test_a_new_url_forgets_the_old_validators(server: FixtureServer, watch: Watch) -> None:
    server.routes["/old"] = ConditionalPage(b"<p>Elite rebate: 6%</p>")
    server.routes["/new"] = ConditionalPage(b"<p>Elite rebate: 6%</p>")
    watch.poll(SourceSpec(id="rebates", kind="html", url=server.url("/old")))

    moved = watch.poll(SourceSpec(id="rebates", kind="html", url=server.url("/new")), now=NOW + timedelta(hours=1))

    assert moved["rebates"].status == "unchanged"
    sent = lower(server.requests_to("/new")[0])
    assert "if-none-match" not in sent and "if-modified-since" not in sent


def test_the_same_bytes_from_a_server_without_validators_are_not_parsed_again(
    server: FixtureServer, watch: Watch
) -> None:
    page = b"<html><body><main><p>Deal registration: 72 hours</p></main></body></html>"
    server.routes["/plain"] = Response(body=page, headers={"Content-Type": HTML})  # no ETag, no Last-Modified
    spec = SourceSpec(id="plain", kind="html", url=server.url("/plain"), selector="main")
    assert watch.poll(spec)["plain"].status == "new"
    snapshots = watch.count("snapshots")

    assert watch.poll(spec, now=NOW + timedelta(hours=1))["plain"].status == "unchanged"
    row = watch.source("plain")
    assert (row["last_status"], row["last_checked"]) == ("unchanged", stamp(NOW + timedelta(hours=1)))
    assert watch.count("snapshots") == snapshots and watch.changes("plain") == []

    # New reading rules make the same bytes worth reading again: an ignore pattern is not a change.
    relaxed = SourceSpec(id="plain", kind="html", url=spec.url, selector="main", ignore=(r"\d+ hours",))
    assert watch.poll(relaxed, now=NOW + timedelta(hours=2))["plain"].status == "unchanged"
    assert watch.snapshot("plain") == "Deal registration:"
    server.routes["/plain"] = Response(body=page.replace(b"72", b"96"), headers={"Content-Type": HTML})
    assert watch.poll(relaxed, now=NOW + timedelta(hours=3))["plain"].status == "unchanged"  # ignored
    server.routes["/plain"] = Response(body=page.replace(b"Deal", b"Opportunity"), headers={"Content-Type": HTML})
    assert watch.poll(relaxed, now=NOW + timedelta(hours=4))["plain"].status == "changed"


def test_observe_skips_parsing_only_for_the_same_bytes_under_the_same_rules() -> None:
    spec = SourceSpec(id="p", kind="html", url="https://portal.example/p", selector="table.none")
    fetched = Fetched(False, b"<p>no table here</p>", "text/html", None, None, spec.url)
    first = observe(spec, fetched)
    assert first.status == "error" and "matched nothing" in (first.error or "")
    key = body_key(spec, fetched)
    # The same bytes under the same rules are not parsed at all (parsing would fail again).
    assert observe(spec, fetched, previous_body=key).status == "same_bytes"
    fixed = SourceSpec(id="p", kind="html", url=spec.url, selector="p")
    assert observe(fixed, fetched, previous_body=key).text == "no table here"
