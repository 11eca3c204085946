"""Benchmark: what a cold poll pass spends per new page once it has the bytes, in one process, stage by stage.

    python bench/record.py [--pages 2000] [--rounds 3] [--digest]

The pages are bench/pageserver.py's BODY, read as bench/poll.py's sources read them (kind = "html",
selector = "main"); each is observed (decode, parse, text, normalise) and then recorded into a fresh database
with the bot's extractors, in batches as watchers/poll.py writes them. No network: bench/poll.py times fetching.
--digest prints a hash of every table after the pass, to check that a faster pass still writes the same rows.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pageserver import BODY  # noqa: E402

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
VOLATILE = {"schema_migrations"}  # when each migration ran: the wall clock


def config_text(pages: int) -> str:
    lines = ['[bot]\ndatabase = "bench.db"\n\n[fetch]\nallow_private = ["127.0.0.1"]\n']
    for i in range(pages):
        url = f"http://127.0.0.1:9/p/{i}.html"  # never fetched
        lines.append(f'[[sources]]\nid = "p{i}"\nkind = "html"\nurl = "{url}"\nselector = "main"\n')
    return "\n".join(lines)


def digest(db: Any) -> str:
    """A hash of every row of every table, in a stable order."""
    h = hashlib.sha256()
    names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    for name in names:
        if name in VOLATILE:
            continue
        for row in db.execute(f'SELECT * FROM "{name}" ORDER BY 1, 2'):
            h.update(repr((name, row)).encode())
    return h.hexdigest()[:16]


def one_round(folder: Path, bodies: list[bytes], show_digest: bool) -> dict[str, tuple[float, float]]:
    """Each stage over every page, timed apart (the later stages on what the earlier ones made): wall and CPU."""
    from bot.config.loading import load_config
    from bot.process.runtime import open_runtime
    from watchers.fetching.http import Fetched
    from watchers.poll import WRITE_BATCH, record_batch
    from watchers.reading import fasthtml
    from watchers.reading.decode import decode_body
    from watchers.reading.normalise import normalise_lines
    from watchers.reading.observe import safe_observe

    (folder / "whisperer.toml").write_text(config_text(len(bodies)), encoding="utf-8")
    config = load_config(folder / "whisperer.toml", {})
    runtime = open_runtime(config, NOW)
    db, specs = runtime.db, list(config.sources)
    fetched = [
        Fetched(False, body, "text/html", f'"p{i}"', None, spec.url)
        for i, (spec, body) in enumerate(zip(specs, bodies, strict=True))
    ]
    took: dict[str, tuple[float, float]] = {}
    clock = (time.perf_counter(), time.process_time())

    def lap(name: str) -> None:
        nonlocal clock
        now = (time.perf_counter(), time.process_time())
        took[name] = (now[0] - clock[0], now[1] - clock[1])
        clock = now

    texts = [decode_body(f.body, f.content_type).text for f in fetched]
    lap("decode")
    roots = [fasthtml.parse_document(text) for text in texts]
    lap("parse_document")
    xpath = fasthtml.selector_xpath("main")
    lines = [fasthtml.text_lines(xpath(root)[0]) for root in roots]
    lap("select + text_lines")
    for page in lines:
        normalise_lines(page)
    lap("normalise_lines")
    observed = [safe_observe(spec, f) for spec, f in zip(specs, fetched, strict=True)]
    lap("observe (all of the above)")
    pairs = list(zip(specs, observed, strict=True))
    for start in range(0, len(pairs), WRITE_BATCH):  # as watchers/poll.py writes a cold pass
        record_batch(db, pairs[start : start + WRITE_BATCH], NOW, extractors=runtime.extractors)
    lap("record (batched)")
    if show_digest:
        print(f"digest {digest(db)}")
    runtime.close()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--digest", action="store_true", help="print a hash of the database after the pass")
    args = parser.parse_args()
    n = args.pages
    bodies = [BODY.format(i=i, v=1, s=0).encode() for i in range(n)]
    stages: dict[str, list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-record-") as tmp:
        for round_no in range(args.rounds):
            folder = Path(tmp) / str(round_no)
            folder.mkdir()
            for name, seconds in one_round(folder, bodies, args.digest and round_no == 0).items():
                stages.setdefault(name, []).append(seconds)
    observed, recorded = stages["observe (all of the above)"], stages["record (batched)"]
    stages["observe + record"] = [(a[0] + b[0], a[1] + b[1]) for a, b in zip(observed, recorded, strict=True)]
    # On a shared machine the CPU time is the steadier figure: other processes lengthen the wall time only.
    print(f"bench/record.py: {n} new pages, {args.rounds} rounds: medians per page")
    for name, rounds in stages.items():
        wall = statistics.median(r[0] for r in rounds) / n * 1e6
        cpu = statistics.median(r[1] for r in rounds) / n * 1e6
        print(f"  {name:<28} {wall:7.1f} µs wall  {cpu:7.1f} µs CPU")


if __name__ == "__main__":
    main()
