"""The opportunity ledger as CSV: exported whole, imported row by row (bad rows named by line, good rows kept).

`whisperer deals export FILE.csv` then `whisperer deals import FILE.csv` into another database gives the same
ledger; importing a file twice adds nothing the second time (a deal with the same customer, origin, state and
start is already there).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo
from typing import Any

from handlers.csvtable import read_table
from handlers.money.deal_rules import CURRENCIES, ORIGINS, STATES, local_day, parse_amount
from handlers.reply import Block, Reply, bullets, note, para, reply
from storage.database import Database
from storage.db import transaction
from storage.programme import deals as store
from watchers.facts.dates import parse_day

COLUMNS = ("id", "customer", "origin", "state", "since", "rfp", "value", "currency", "owner")
_REQUIRED = ("customer",)


@dataclass(frozen=True)
class DealRow:
    line: int
    customer: str
    origin: str
    state: str
    since: date | None
    rfp: datetime | None
    value: float | None
    currency: str | None
    owner: str | None


@dataclass
class DealImport:
    rows: list[DealRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "line 7: …; fix"
    ignored_columns: list[str] = field(default_factory=list)
    fatal: str | None = None
    added: int = 0
    already: int = 0


def export_deals(db: Database, tz: tzinfo) -> str:
    """Every deal, oldest first, in the columns `import` reads."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for deal in reversed(store.list_deals(db)):
        rfp = datetime.fromisoformat(str(deal["rfp"])).astimezone(tz) if deal.get("rfp") else None
        value = deal.get("value")
        writer.writerow(
            [
                deal["id"],
                deal["customer"],
                deal["origin"],
                deal["state"],
                local_day(str(deal["state_at"]), tz).isoformat(),
                rfp.strftime("%Y-%m-%dT%H:%M") if rfp else "",
                "" if value is None else (f"{value:.0f}" if value == int(value) else f"{value}"),
                deal.get("currency") or "",
                deal.get("owner") or "",
            ]
        )
    return out.getvalue()


def _row(line: int, v: dict[str, str], tz: tzinfo) -> DealRow:
    customer = v.get("customer", "")
    if not customer:
        raise ValueError("no customer; every row needs the customer's name")
    origin = (v.get("origin") or "partner").lower()
    if origin not in ORIGINS:
        raise ValueError(f"origin '{v['origin']}' is not one of {', '.join(ORIGINS)}; use one of those")
    state = (v.get("state") or {"partner": "draft", "huawei": "offered", "prereg": "preregistered"}[origin]).lower()
    if state not in STATES:
        raise ValueError(f"state '{v['state']}' is not a deal state; use one of {', '.join(STATES)}")
    since = None
    if v.get("since"):
        since = parse_day(v["since"])
        if since is None:
            raise ValueError(f"since '{v['since']}' is not a date; write it as 2026-12-01")
    rfp = None
    if v.get("rfp"):
        try:
            rfp = datetime.fromisoformat(v["rfp"])
        except ValueError:
            day = parse_day(v["rfp"])
            if day is None:
                raise ValueError(
                    f"rfp '{v['rfp']}' is not a date; write it as 2027-01-15 or 2027-01-15T14:00"
                ) from None
            rfp = datetime.combine(day, time(0, 0))
        rfp = rfp if rfp.tzinfo else rfp.replace(tzinfo=tz)
    value = None
    if v.get("value"):
        value = parse_amount(v["value"])
        if value is None or value <= 0:
            raise ValueError(f"value '{v['value']}' is not an amount; write it as 120000 (no currency sign)")
    currency = (v.get("currency") or "").upper() or None
    if currency and currency not in CURRENCIES:
        raise ValueError(f"currency '{v['currency']}' is not one I know; use a code such as USD, CNY, IDR")
    if currency and value is None:
        raise ValueError(f"currency {currency} has no value; fill in the value column or clear the currency")
    return DealRow(line, customer, origin, state, since, rfp, value, currency, v.get("owner") or None)


def parse_deal_csv(text: str, tz: tzinfo) -> DealImport:
    """Pure: every good row, and for every bad one its line number, the problem and the fix."""
    result = DealImport()
    table = read_table(text, lambda h: h.strip().lower() if h.strip().lower() in COLUMNS else None)
    if table is None:
        result.fatal = f"the file is empty; the first line must name the columns: {', '.join(COLUMNS)}"
        return result
    if "customer" not in table.columns:
        result.fatal = f"the header has no customer column; name the columns: {', '.join(COLUMNS)}"
        return result
    result.ignored_columns = table.ignored
    for line, values in table.rows():
        try:
            result.rows.append(_row(line, values, tz))
        except ValueError as exc:
            result.problems.append(f"line {line}: {exc}")
    return result


def import_deals(db: Database, parsed: DealImport, now: datetime, tz: tzinfo, by: str) -> DealImport:
    """Add the good rows in one transaction; a deal already in the ledger is counted, not doubled."""
    with transaction(db):
        existing: set[tuple[Any, ...]] = {
            (d["customer_key"], d["origin"], d["state"], local_day(str(d["state_at"]), tz))
            for d in store.list_deals(db)
        }
        for row in parsed.rows:
            began = datetime.combine(row.since, time(12, 0), tz) if row.since else now
            key = (store.customer_key(row.customer), row.origin, row.state, began.astimezone(tz).date())
            if key in existing:
                parsed.already += 1
                continue
            existing.add(key)
            store.add_deal(
                db,
                row.customer,
                row.origin,
                row.state,
                now,
                rfp=row.rfp,
                value=row.value,
                currency=row.currency,
                owner=row.owner,
                by=by,
                at=began,
            )
            parsed.added += 1
    return parsed


def import_reply(result: DealImport, file_name: str) -> Reply:
    if result.fatal:
        return reply(para(f"✗ {file_name}: {result.fatal}. Nothing was imported."))
    blocks: list[Block] = [
        para(
            f"{file_name}: {result.added} deal{'s' if result.added != 1 else ''} added"
            + (f", {result.already} already in the ledger" if result.already else "")
            + (
                f", {len(result.problems)} row{'s' if len(result.problems) != 1 else ''} skipped"
                if result.problems
                else ""
            )
            + "."
        )
    ]
    if result.problems:
        blocks.append(bullets(*result.problems[:50]))
        blocks.append(note("Fix those rows and import the file again: the rows already added are not doubled."))
    if result.ignored_columns:
        blocks.append(
            note(f"Ignored columns: {', '.join(result.ignored_columns)} (the columns: {', '.join(COLUMNS)}).")
        )
    return reply(*blocks)
