"""How the partner-knowledge paths scale: a CSV import, the reminder sweep and the answers, for a big team.

Run with `.venv/bin/python bench/knowledge.py [PEOPLE]` (default 2000 people, two certifications each).
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bot.config.loading import load_config
from bot.process.reminders import run_reminder_sweep
from bot.process.runtime import make_context, open_runtime
from handlers.registry import dispatch
from handlers.team.certificates import import_certs, parse_cert_csv

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
LEVELS = ("HCIE-Cloud", "HCCDE", "HCIP-Cloud Service Solutions Architect", "HCIA-AI")


def timed(label: str, fn: Callable[[], object]) -> None:
    start = time.perf_counter()
    fn()
    print(f"{label:<44} {1000 * (time.perf_counter() - start):8.1f} ms")


def main(people: int) -> None:
    rows = ["name,email,slack_id,certification,passed"]
    for i in range(people):
        for k in range(2):
            passed = date(2023, 12, 1) + timedelta(days=(i * 7 + k * 180) % 1000)
            rows.append(f"Person {i},p{i}@acme.example,U{i:07d},{LEVELS[(i + k) % len(LEVELS)]},{passed}")
    text = "\n".join(rows) + "\n"
    with tempfile.TemporaryDirectory() as workdir:
        config_file = Path(workdir) / "whisperer.toml"
        config_file.write_text('[bot]\ntimezone = "Asia/Jakarta"\n[partner]\nstatus_expires = 2027-03-31\n')
        runtime = open_runtime(load_config(config_file, env={}), NOW)
        try:
            settings = runtime.config.knowledge.certifications
            print(f"{people} people, {2 * people} certifications")
            timed("certs import (parse + write)", lambda: import_certs(runtime.db, parse_cert_csv(text, settings), NOW))
            timed(
                "certs import again (all updates)",
                lambda: import_certs(runtime.db, parse_cert_csv(text, settings), NOW),
            )
            timed("reminder sweep, dry run", lambda: run_reminder_sweep(runtime, NOW, dry_run=True))
            timed("reminder sweep (queues the DMs)", lambda: run_reminder_sweep(runtime, NOW))
            timed("reminder sweep again (nothing new)", lambda: run_reminder_sweep(runtime, NOW))
            ctx = make_context(runtime, NOW, operator=True)
            for line in ("deadlines", "renewal", "certs expiring", "whatis ROMA"):
                timed(f"/whisperer {line}", lambda line=line: dispatch(ctx, line))
        finally:
            runtime.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
