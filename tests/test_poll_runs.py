"""The poll hands its threads runs of consecutive sources; every source once, in order, and runs stay short."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from watchers.fetching.http import host_key
from watchers.poll import RUN_LENGTH, _runs
from watchers.sources import SourceSpec


def specs(n: int) -> list[SourceSpec]:
    return [SourceSpec(id=f"s{i}", kind="html", url=f"http://127.0.0.1:1/{i}") for i in range(n)]


@pytest.mark.parametrize(("n", "workers"), [(0, 1), (1, 8), (7, 2), (40, 8), (2000, 2), (20001, 8)])
def test_every_source_once_in_order(n: int, workers: int) -> None:
    given = specs(n)
    runs = list(_runs(given, workers))
    assert [s.id for run in runs for s in run] == [s.id for s in given]
    assert all(1 <= len(run) <= RUN_LENGTH for run in runs)


def test_a_small_poll_gives_each_thread_single_sources() -> None:
    assert [len(run) for run in _runs(specs(20), 8)] == [1] * 20


def test_runs_are_never_shorter_than_the_requests_a_thread_keeps_out() -> None:
    assert [len(run) for run in _runs(specs(7), 2, lanes=2)] == [2, 2, 2, 1]
    assert {len(run) for run in _runs(specs(2000), 2, lanes=2)} == {RUN_LENGTH}


def test_a_large_poll_is_fetched_in_runs() -> None:
    runs = list(_runs(specs(2000), 2))
    assert len(runs) == 125 and {len(run) for run in runs} == {RUN_LENGTH}


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/p/1.html",
        "HTTPS://Portal.Example.com?x=1",
        "https://a.example#frag",
        "http://user:pw@Host.example:1/x",
        "http://[::1]:80/x",
        "https://partner.huaweicloud.example",
        "file:///srv/pages/x.html",
        "/srv/pages/x.html",
        "mailto:someone@example.com",
    ],
)
def test_the_politeness_key_is_urlsplits_netloc(url: str) -> None:
    assert host_key(url) == urlsplit(url).netloc.lower()
