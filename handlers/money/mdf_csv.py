"""MDF requests as CSV: `mdf csv` in Slack, `whisperer mdf export|import` in the terminal (a round trip).

An import checks every row and names each bad one by its line; the good rows are kept, nothing else changes.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime

from handlers.money.mdf import AMOUNT, CURRENCY
from handlers.money.settings import STATES, MdfSettings
from handlers.registry import Context, record_id
from handlers.reply import Block, Heading, Mono, Reply, bullets, code_excerpt, note, para, reply
from storage.database import Database
from storage.db import transaction
from storage.programme import money as store
from watchers.facts.dates import parse_day

COLUMNS = ("id", "name", "start", "end", "amount", "currency", "owner", "state", "evidence")


def export_csv(db: Database) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    ticks = store.all_evidence(db)
    for row in store.list_requests(db):
        amount = "" if row["amount"] is None else f"{row['amount']:g}"
        evidence = ";".join(sorted(ticks.get(int(row["id"]), ())))
        writer.writerow(
            [row["id"], row["name"], row["start"], row["end"], amount, row["currency"] or "", row["owner"] or "",
             row["state"], evidence]
        )  # fmt: skip
    return out.getvalue()


@dataclass(frozen=True)
class CsvRow:
    line: int
    id: int | None
    name: str
    start: date
    end: date
    amount: float | None
    currency: str | None
    owner: str | None
    state: str
    evidence: tuple[str, ...]


@dataclass
class Parsed:
    rows: list[CsvRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    fatal: str | None = None


def parse_csv(text: str, settings: MdfSettings) -> Parsed:
    parsed = Parsed()
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in ("name", "start") if c not in header]
    if missing:
        parsed.fatal = (
            f"the header has no {' or '.join(missing)} column; the first line must name the columns: "
            + ",".join(COLUMNS)
        )
        return parsed
    items = {i.id for i in settings.evidence}
    for line, raw in enumerate(reader, start=2):
        cell = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if isinstance(v, str)}
        problems = []
        request_id = record_id(cell.get("id", "")) if cell.get("id") else None
        if cell.get("id") and request_id is None:
            problems.append(f"id '{cell['id']}' is not a number")
        name = cell.get("name", "")
        if not name:
            problems.append("no name")
        start = parse_day(cell.get("start", ""))
        if start is None:
            problems.append(f"start '{cell.get('start', '')}' is not a date (2027-01-20)")
        end = parse_day(cell["end"]) if cell.get("end") else start
        if cell.get("end") and end is None:
            problems.append(f"end '{cell['end']}' is not a date")
        elif start and end and end < start:
            problems.append(f"end {end} is before start {start}")
        amount_text, currency = cell.get("amount", ""), cell.get("currency", "").upper() or None
        amount = float(amount_text.replace(",", "")) if AMOUNT.match(amount_text) else None
        if amount_text and amount is None:
            problems.append(f"amount '{amount_text}' is not a number")
        if currency and not CURRENCY.match(currency):
            problems.append(f"currency '{currency}' is not a three-letter code")
        if currency and not amount_text:
            problems.append(f"currency {currency} with no amount")
        if amount is not None and not currency:
            currency = settings.currency
        state = cell.get("state", "").lower() or "planned"
        if state not in STATES:
            problems.append(f"state '{state}' is not one of {', '.join(STATES)}")
        evidence = tuple(e.strip() for e in cell.get("evidence", "").split(";") if e.strip())
        unknown = [e for e in evidence if e not in items]
        if unknown:
            problems.append(f"unknown evidence {', '.join(unknown)} (items: {', '.join(sorted(items))})")
        if problems:
            parsed.problems.append(f"line {line}: " + "; ".join(problems))
            continue
        assert start is not None and end is not None
        parsed.rows.append(
            CsvRow(line, request_id, name, start, end, amount, currency, cell.get("owner") or None, state, evidence)
        )
    return parsed


def import_rows(db: Database, parsed: Parsed, by: str, now: datetime) -> tuple[int, int]:
    """(added, updated). A row whose id exists updates that request (a changed state is a step by `by`)."""
    added = updated = 0
    with transaction(db):
        for row in parsed.rows:
            found = store.get_request(db, row.id) if row.id else None
            if found is None:
                request_id = store.add_request(
                    db, row.name, row.start, row.end, row.amount, row.currency, row.owner, by, now, row.state, row.id
                )
                added += 1
            else:
                request_id = int(found["id"])
                store.update_request(db, request_id, row.name, row.start, row.end, row.amount, row.currency, row.owner)
                if found["state"] != row.state:
                    store.move_request(db, request_id, str(found["state"]), row.state, by, now, "imported")
                updated += 1
            for item in row.evidence:
                store.tick_evidence(db, request_id, item, by, now)
    return added, updated


def import_reply(parsed: Parsed, added: int, updated: int, file: str) -> Reply:
    if parsed.fatal:
        return reply(Heading(f"Nothing imported from {file}"), para(parsed.fatal))
    blocks: list[Block] = [Heading(f"MDF import from {file}"), para(f"{added} added, {updated} updated.")]
    if parsed.problems:
        blocks.append(
            para(f"{len(parsed.problems)} row{'s' if len(parsed.problems) != 1 else ''} skipped; fix and import again:")
        )
        blocks.append(bullets(*parsed.problems[:50]))
    return reply(*blocks)


def csv_reply(ctx: Context) -> Reply:
    text = export_csv(ctx.db)
    lines = text.count("\n") - 1
    return reply(
        Heading(f"MDF requests as CSV ({lines} request{'s' if lines != 1 else ''})"),
        code_excerpt(text, max_lines=40),
        note(
            "The whole file: ",
            Mono("whisperer mdf export > mdf.csv"),
            " · load one: ",
            Mono("whisperer mdf import mdf.csv"),
        ),
    )
