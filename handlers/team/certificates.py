"""Certification records: one row validated (CSV line or `cert add`), expiry dates, and the CSV import."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from handlers.csvtable import read_table
from handlers.reply import Block, Reply, Strong, bullets, error, para
from handlers.settings import LEVELS, CertificationSettings, level_of
from storage.database import Database
from storage.db import transaction
from storage.team import certifications as certs
from storage.team import departures, people
from watchers.facts.dates import parse_day

SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
DATE_FIX = "write it as YYYY-MM-DD, e.g. 2024-01-31 (31 January 2024 works too)"


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)


def expiry_for(settings: CertificationSettings, level: str, passed: date) -> date:
    return add_years(passed, settings.years_for(level))


def days_left(expires: str | date, today: date) -> int:
    day = date.fromisoformat(expires) if isinstance(expires, str) else expires
    return (day - today).days


def status_text(left: int) -> str:
    if left < 0:
        return f"EXPIRED {-left} day{'s' if left != -1 else ''} ago"
    if left == 0:
        return "EXPIRES TODAY"
    return f"in {left} day{'s' if left != 1 else ''}"


def first_name(name: str) -> str:
    return name.split()[0] if name.split() else name


_COLUMNS = {
    "name": ("name", "person", "holder", "full name", "engineer"),
    "email": ("email", "e-mail", "mail"),
    "slack_id": ("slack id", "slack", "slack user", "slack user id", "user id", "member id"),
    "tz": ("tz", "timezone", "time zone"),
    "certification": ("certification", "cert", "certificate", "certification name"),
    "level": ("level",),
    "number": ("number", "cert number", "certificate number", "certification number", "no"),
    "passed": ("passed", "passed on", "date passed", "issued", "issued on", "lab exam date"),
    "expires": ("expires", "expiry", "expires on", "expiry date", "valid until"),
    "bound": ("bound", "huawei id bound", "id bound", "binding"),
}
_YES = ("yes", "y", "true", "1", "bound")
_NO = ("no", "n", "false", "0", "unbound")
_REQUIRED = ("name", "certification")


@dataclass(frozen=True)
class CertRow:
    line: int
    name: str
    email: str | None
    slack_id: str | None
    tz: str | None
    certification: str
    level: str
    number: str | None
    passed: date | None
    expires: date
    expires_given: bool
    bound: bool | None = None  # the `bound` column: HUAWEI ID bound to the partner account; None = not given


@dataclass
class CsvImport:
    rows: list[CertRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "line 7: …; fix"
    ignored_columns: list[str] = field(default_factory=list)  # headers that are none of ours (typos, extras)
    fatal: str | None = None  # the whole file is unreadable (no header, missing column)
    added: int = 0
    updated: int = 0
    people_added: int = 0


def _column(header: str) -> str | None:
    key = " ".join(header.strip().lower().replace("_", " ").replace("-", " ").split())
    for column, names in _COLUMNS.items():
        if key in names or key.replace(" ", "") in (n.replace(" ", "") for n in names):
            return column
    return None


COLUMN_NAMES = "name, email, slack_id, tz, certification, level, number, passed, expires, bound"


def parse_cert_csv(text: str, settings: CertificationSettings, today: date | None = None) -> CsvImport:
    """Pure: every good row, and for every bad one its line number, the problem and the fix.

    With `today`, a `passed` date after it is a problem (a typo in the year, usually)."""
    result = CsvImport()
    table = read_table(text, _column)
    if table is None:
        result.fatal = "the file is empty; the first line must name the columns: name, certification, passed"
        return result
    header, columns = table.header, table.columns
    missing = [c for c in _REQUIRED if c not in columns]
    if missing or ("passed" not in columns and "expires" not in columns):
        need = missing + ([] if "passed" in columns or "expires" in columns else ["passed (or expires)"])
        seen = f" (found: {', '.join(h.strip() for h in header)})" if table.ignored else ""
        result.fatal = f"the header has no {' or '.join(need)} column{seen}; name the columns: {COLUMN_NAMES}"
        return result
    result.ignored_columns = table.ignored
    for line, values in table.rows():
        try:
            result.rows.append(cert_row(line, values, settings, today))
        except ValueError as exc:
            result.problems.append(f"line {line}: {exc}")
    return result


def cert_row(line: int, v: dict[str, str], settings: CertificationSettings, today: date | None = None) -> CertRow:
    name, certification = v.get("name", ""), v.get("certification", "")
    if not name:
        raise ValueError("the name is empty; fill in the person's name")
    if not certification:
        raise ValueError("the certification is empty; write its name, e.g. HCIE-Cloud Service Solutions Architect")
    email = v.get("email") or None
    if email and not EMAIL.match(email):
        raise ValueError(f"email {email!r} is not an email address; fix it or leave the cell empty")
    slack_id = v.get("slack_id") or None
    if slack_id and not SLACK_ID.match(slack_id):
        raise ValueError(
            f"slack_id {slack_id!r} is not a Slack user ID; use IDs like U0ANA123 "
            "(profile → ⋮ → Copy member ID) or leave the cell empty"
        )
    tz = v.get("tz") or None
    if tz:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"tz {tz!r} is not a timezone; use an IANA name such as Asia/Jakarta") from None
    level = (v.get("level") or level_of(certification)).strip()
    if level.upper() in LEVELS:
        level = level.upper()
    elif level.lower() == "other":
        level = "other"
    else:
        raise ValueError(f"level {level!r} is unknown; use one of {', '.join(LEVELS)} or other")
    passed = _day(v, "passed")
    expires = _day(v, "expires")
    if passed and today and passed > today:
        raise ValueError(f"passed {passed} is in the future (today is {today}); give the day the exam was passed")
    if passed and expires and expires <= passed:
        raise ValueError(f"expires {expires} is not after passed {passed}; check the two dates")
    bound_text = (v.get("bound") or "").strip().lower()
    if bound_text and bound_text not in (*_YES, *_NO):
        raise ValueError(f"bound {v.get('bound')!r} is not yes or no; write yes (HUAWEI ID bound) or no")
    if expires is not None:
        computed = expires
    elif passed is not None:
        computed = expiry_for(settings, level, passed)
    else:
        raise ValueError("neither passed nor expires is given; add the date the exam was passed")
    return CertRow(
        line,
        name,
        email,
        slack_id,
        tz,
        certification,
        level,
        v.get("number") or None,
        passed,
        computed,
        expires is not None,
        (bound_text in _YES) if bound_text else None,
    )


def _day(v: dict[str, str], column: str) -> date | None:
    text = v.get(column, "")
    if not text:
        return None
    found = parse_day(text)
    if found is None:
        raise ValueError(f"{column} {text!r} is not a date; {DATE_FIX}")
    return found


def person_for(
    db: Database, name: str, now: datetime, email: str | None, slack_id: str | None, tz: str | None
) -> tuple[int, bool]:
    """The person these details describe (by Slack ID, email, then exact name), created if new."""
    found = None
    for key in (slack_id, email):
        if key and (found := people.find_person(db, key)):
            break
    if found is None and not slack_id and not email:
        found = people.find_person(db, name)
    if found is not None:
        # By id: a person found by name alone (no Slack ID, no email) would otherwise be created a second time.
        people.update_person(db, int(found["id"]), name, email=email, slack_id=slack_id, tz=tz)
        return int(found["id"]), False
    return people.upsert_person(db, name, now, email=email, slack_id=slack_id, tz=tz), True


def import_certs(db: Database, parsed: CsvImport, now: datetime) -> CsvImport:
    """Write the good rows in one transaction; the bad ones stay listed in `problems`."""
    with transaction(db):
        for row in parsed.rows:
            person_id, new_person = person_for(db, row.name, now, row.email, row.slack_id, row.tz)
            parsed.people_added += new_person
            if row.bound is not None:
                departures.set_bound(db, person_id, row.bound)
            _id, added = certs.upsert_certification(
                db,
                person_id,
                row.certification,
                now,
                level=row.level,
                number=row.number,
                passed=row.passed,
                expires=row.expires,
                expires_given=row.expires_given,
            )
            parsed.added += added
            parsed.updated += not added
    return parsed


def import_reply(result: CsvImport, file_name: str) -> Reply:
    if result.fatal:
        return error(f"{file_name}: {result.fatal}.", "Nothing was imported.")
    blocks: list[Block] = [
        para(
            f"Imported {result.added + result.updated} certification{'s' if result.added + result.updated != 1 else ''}"
            f" from {file_name}: {result.added} new, {result.updated} updated; {result.people_added} new "
            f"{'person' if result.people_added == 1 else 'people'}."
        )
    ]
    if result.ignored_columns:
        names = ", ".join(repr(c) for c in result.ignored_columns)
        blocks.append(
            para(
                Strong(f"Ignored column{'s' if len(result.ignored_columns) != 1 else ''} {names}"),
                f": not one I know. The columns are {COLUMN_NAMES}; rename it if it was meant as one of them.",
            )
        )
    if result.problems:
        n = len(result.problems)
        blocks.append(
            para(
                Strong(f"{n} row{'s were' if n != 1 else ' was'} not imported"),
                " — fix and import the file again (rows already imported are updated, never doubled):",
            )
        )
        blocks.append(bullets(*result.problems))
    return Reply(tuple(blocks), error=bool(result.problems))
