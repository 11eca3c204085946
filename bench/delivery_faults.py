"""Does one bad channel slow the others? A benchmark, not a test.

The real scheduler and delivery pool post to the local fake Slack: one channel drains a backlog while a
second hangs and a third answers 429 with Retry-After. Prints the healthy channel's pace, how many calls the
stuck ones got, and the shortest gap between a 429 answer and the next call to that channel (it must not be
shorter than Retry-After).

    .venv/bin/python bench/delivery_faults.py [--alerts 10] [--retry-after 2]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the fake Slack lives with the tests

from fakeslack import FakeSlack  # noqa: E402

from bot.config.loading import load_config  # noqa: E402
from bot.delivery.sinks import SlackSink  # noqa: E402
from bot.process.connections import Connections  # noqa: E402
from bot.process.runtime import open_runtime  # noqa: E402
from bot.process.scheduler import Scheduler  # noqa: E402
from bot.slack.app import make_web_client  # noqa: E402
from storage.db import transaction  # noqa: E402
from storage.outbox import alerts as outbox  # noqa: E402

GOOD, HUNG, LIMITED = "C0GOOD", "C0HUNG", "C0LIMITED"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, default=10, help="alerts queued per channel")
    parser.add_argument("--retry-after", type=int, default=2)
    args = parser.parse_args()
    fake = FakeSlack().start()
    with tempfile.TemporaryDirectory() as tmp:
        config_file = Path(tmp) / "whisperer.toml"
        config_file.write_text(f'[bot]\ndatabase = "whisperer.db"\nalerts_channel = "{GOOD}"\n', encoding="utf-8")
        runtime = open_runtime(load_config(config_file, env={}), datetime.now(UTC))
        now = datetime.now(UTC)
        with transaction(runtime.db):
            for i in range(args.alerts):
                for channel in (GOOD, HUNG, LIMITED):
                    key = f"{channel}:{i}"
                    outbox.enqueue_alert(runtime.db, key, "notice", {"text": f"#{i}"}, now, channel=channel)
        fake.channel_mode(HUNG, "hang")
        fake.channel_mode(LIMITED, "429", retry_after=args.retry_after)
        client = make_web_client(fake.token, fake.api_url, rate_limit_retries=0, timeout=30)
        connections = Connections(runtime)
        scheduler = Scheduler(connections, SlackSink(client))
        started = time.monotonic()
        scheduler.start()
        try:
            fake.wait_for(lambda: len(fake.posts(GOOD)) == args.alerts, timeout=120)
            took = time.monotonic() - started
        finally:
            fake.channel_mode(HUNG, None)
            scheduler.shutdown()
            connections.close()
            runtime.close()
            fake.stop()

    def calls(channel: str) -> list[Any]:
        return [c for c in fake.calls_to("chat.postMessage") if c.args.get("channel") == channel]

    gaps = [b.at - a.answered for a, b in itertools.pairwise(calls(LIMITED)) if a.answered]
    print(f"healthy channel: {args.alerts} posts in {took:.1f} s ({args.alerts / took:.2f} posts/s; pace is ~1/s)")
    print(f"hung channel:    {len(calls(HUNG))} call(s) in flight, nothing piled up behind it")
    print(
        f"429 channel:     {len(calls(LIMITED))} calls; shortest gap after a 429 answer "
        f"{min(gaps) if gaps else float('nan'):.2f} s (Retry-After {args.retry_after} s)"
    )


if __name__ == "__main__":
    main()
