"""Politeness: at most [fetch] per_host requests in flight to one host, while other hosts proceed."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from conftest import FAST, FixtureServer, Response, Seen, Watch

from storage.database import Database
from watchers.poll import Outcome
from watchers.sources import SourceSpec


class Gate:
    """A route that holds every request until the test opens it, counting requests in flight per Host header."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.open = threading.Event()
        self.in_flight: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.served = 0

    def __call__(self, seen: Seen) -> Response:
        host = {k.lower(): v for k, v in seen.headers.items()}["host"].split(":")[0]
        with self.changed:
            self.in_flight[host] = self.in_flight.get(host, 0) + 1
            self.peak[host] = max(self.peak.get(host, 0), self.in_flight[host])
            self.changed.notify_all()
        self.open.wait(timeout=10)  # bounded, so a broken limiter fails the test instead of hanging it
        with self.changed:
            self.in_flight[host] -= 1
            self.served += 1
        return Response(body=f"<p>{seen.path}</p>".encode(), headers={"Content-Type": "text/html"})

    def total(self) -> int:
        return sum(self.in_flight.values())


@pytest.mark.parametrize("per_host", [1, 2])
def test_at_most_per_host_requests_reach_one_host(server: FixtureServer, db: Database, per_host: int) -> None:
    gate = Gate()
    port = server.httpd.server_address[1]
    hosts = ("127.0.0.1", "localhost")  # one server, two host names: two hosts as far as politeness goes
    specs = []
    for i in range(4):
        for host in hosts:  # interleaved, so both hosts have work at the front of the queue
            path = f"/p{i}-{host}"
            server.routes[path] = gate
            specs.append(SourceSpec(id=f"p{i}-{host}", kind="html", url=f"http://{host}:{port}{path}"))
    watch = Watch(db, replace(FAST, per_host=per_host, workers=8, read_timeout=10.0))
    outcomes: dict[str, Outcome] = {}
    poller = threading.Thread(target=lambda: outcomes.update(watch.poll(*specs)))
    try:
        poller.start()
        with gate.changed:
            assert gate.changed.wait_for(lambda: gate.total() == per_host * len(hosts), timeout=10), gate.in_flight
            # Both hosts are at their limit now. A leaky limiter would let more in within moments; give it the
            # chance (this wait is expected to time out and asserts nothing by itself).
            gate.changed.wait_for(lambda: max(gate.in_flight.values()) > per_host, timeout=0.3)
            assert gate.in_flight == dict.fromkeys(hosts, per_host)
    finally:
        gate.open.set()
        poller.join(timeout=10)
        watch.close()

    assert not poller.is_alive()
    assert gate.peak == dict.fromkeys(hosts, per_host)
    assert gate.served == len(specs)
    assert {o.status for o in outcomes.values()} == {"new"}
    assert len(outcomes) == len(specs)
