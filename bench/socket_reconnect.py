"""How soon does Socket Mode replace a dead connection? A benchmark, not a test (the goal: within 10 s).

Our tuned slack_sdk client (bot/slack/app.py `make_socket_handler`) against the local Socket Mode server of
the tests: the connection goes silent (nothing answered, nothing closed: a NAT timeout, a pulled cable), or its
TCP connection is dropped with no close frame. Prints the time from the death to the next connection.

    .venv/bin/python bench/socket_reconnect.py [--trials 3]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the fake Slack and the Socket Mode server live with the tests

from fakeslack import APP_TOKEN, SECRET  # noqa: E402
from fakesocket import SocketServer, SocketSlack  # noqa: E402

from bot.config.loading import load_config  # noqa: E402
from bot.process.connections import Connections  # noqa: E402
from bot.process.runtime import open_runtime  # noqa: E402
from bot.slack.answers import AnswerPool  # noqa: E402
from bot.slack.app import PING_INTERVAL, build_app, make_socket_handler, make_web_client  # noqa: E402

GOAL = 10.0
WAIT = 60.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3, help="deaths of each kind")
    args = parser.parse_args()
    logging.disable(logging.ERROR)  # slack_sdk logs each failed ping on a dropped connection: expected here

    with tempfile.TemporaryDirectory(prefix="whisperer-bench-") as tmp:
        workdir = Path(tmp)
        (workdir / "whisperer.toml").write_text('[bot]\ndatabase = "bench.db"\nalerts_channel = "C0ALERTS"\n')
        server = SocketServer()
        fake = SocketSlack(server).start()
        runtime = open_runtime(load_config(workdir / "whisperer.toml", env={}), datetime.now(UTC))
        connections = Connections(runtime)
        answers = AnswerPool()
        app = build_app(connections, make_web_client(fake.token, fake.api_url), SECRET, pool=answers)
        handler = make_socket_handler(app, APP_TOKEN)
        handler.connect()  # type: ignore[no-untyped-call]
        figures: dict[str, list[float]] = {"silent": [], "dropped": []}
        try:
            server.wait_for(lambda: server.connections, WAIT)
            for _ in range(args.trials):
                for kind, kill in (("silent", server.go_silent), ("dropped", server.drop)):
                    before = len(server.connections)
                    died = kill()
                    server.wait_for(lambda before=before: len(server.connections) > before, WAIT)
                    figures[kind].append(server.connections[-1].opened_at - died)
        finally:
            handler.close()  # type: ignore[no-untyped-call]
            answers.shutdown()
            connections.close()
            runtime.close()
            fake.stop()
            server.stop()

    print(f"Socket Mode, ping every {PING_INTERVAL:g} s: from a dead connection to the next one ({args.trials} each)")
    for kind, seconds in figures.items():
        verdict = "within" if max(seconds) <= GOAL else "OVER"
        print(
            f"  {kind:<8} median {statistics.median(seconds):5.1f} s   max {max(seconds):5.1f} s   "
            f"({verdict} the {GOAL:g} s goal)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
