"""certs, cert add/remove, people — and the CSV import behind `whisperer certs import FILE.csv`."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlite_utils import Database

from handlers.registry import Context, UsageError, admin_refusal, command
from handlers.reply import Block, Heading, Inline, Mono, Reply, Strong, bullets, error, note, para, reply
from handlers.settings import LEVELS, CertificationSettings, level_of
from storage import certifications as certs
from storage import people
from storage.db import transaction
from watchers.dates import parse_day

SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
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


# ---------------------------------------------------------------------------------------------------------------
# CSV import


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
}
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


@dataclass
class CsvImport:
    rows: list[CertRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "line 7: …; fix"
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


def parse_cert_csv(text: str, settings: CertificationSettings) -> CsvImport:
    """Pure: every good row, and for every bad one its line number, the problem and the fix."""
    result = CsvImport()
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        result.fatal = "the file is empty; the first line must name the columns: name, certification, passed"
        return result
    columns = [_column(h) for h in header]
    missing = [c for c in _REQUIRED if c not in columns]
    if missing or ("passed" not in columns and "expires" not in columns):
        need = missing + ([] if "passed" in columns or "expires" in columns else ["passed (or expires)"])
        unknown = [h for h, c in zip(header, columns, strict=True) if c is None and h.strip()]
        seen = f" (found: {', '.join(h.strip() for h in header)})" if unknown else ""
        result.fatal = (
            f"the header has no {' or '.join(need)} column{seen}; "
            "name the columns: name, email, slack_id, tz, certification, level, number, passed, expires"
        )
        return result
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        values = {c: cells[i].strip() for i, c in enumerate(columns) if c and i < len(cells)}
        try:
            result.rows.append(_row(line, values, settings))
        except ValueError as exc:
            result.problems.append(f"line {line}: {exc}")
    return result


def _row(line: int, v: dict[str, str], settings: CertificationSettings) -> CertRow:
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
    if passed and expires and expires <= passed:
        raise ValueError(f"expires {expires} is not after passed {passed}; check the two dates")
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
        people.upsert_person(db, name, now, email=email, slack_id=slack_id or found["slack_id"], tz=tz)
        return int(found["id"]), False
    return people.upsert_person(db, name, now, email=email, slack_id=slack_id, tz=tz), True


def import_certs(db: Database, parsed: CsvImport, now: datetime) -> CsvImport:
    """Write the good rows in one transaction; the bad ones stay listed in `problems`."""
    with transaction(db):
        for row in parsed.rows:
            person_id, new_person = person_for(db, row.name, now, row.email, row.slack_id, row.tz)
            parsed.people_added += new_person
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


# ---------------------------------------------------------------------------------------------------------------
# /whisperer certs, cert, people


def find_person_loose(db: Database, key: str) -> dict[str, Any] | None:
    """A person by Slack mention or ID, email, full name, or a first name that only one person has."""
    mention = _MENTION.match(key)
    key = mention.group(1) if mention else key.lstrip("@")
    found = people.find_person(db, key)
    if found:
        return found
    matches = [p for p in people.list_people(db) if first_name(p["name"]).casefold() == key.casefold()]
    return matches[0] if len(matches) == 1 else None


def _cert_item(row: dict[str, Any], today: date, horizon: int, show_person: bool = True) -> tuple[Inline, ...]:
    left = days_left(row["expires"], today)
    mark = "❌" if left <= 0 else ("⏳" if left <= horizon else "✅")
    who: list[Inline] = [Strong(row["person"]), " — "] if show_person else []
    number = f" · no. {row['number']}" if row["number"] else ""
    return (
        f"{mark} ",
        *who,
        f"{row['name']} ({row['level']}){number} · expires {row['expires']}, {status_text(left)} · ",
        Mono(f"#{row['id']}"),
    )


@command(
    "certs",
    "certs [mine|@user|expiring]",
    "Certifications and when they expire: everyone's, yours, one person's, or those expiring soon.",
    "certs",
    "certs mine",
    "certs expiring",
    group="people",
)
def certs_command(ctx: Context, args: list[str]) -> Reply:
    today = ctx.local_now.date()
    horizon = ctx.knowledge.reminders.horizon
    what = " ".join(args).strip()
    person = None
    if what.lower() in ("", "all"):
        rows, title = certs.list_certifications(ctx.db), "Certifications"
    elif what.lower() == "expiring":
        until = date.fromordinal(today.toordinal() + horizon)
        rows, title = certs.list_certifications(ctx.db, until=until), f"Certifications expiring within {horizon} days"
    else:
        if what.lower() in ("mine", "me"):
            if not ctx.user_id:
                raise UsageError("In the terminal there is no 'me': name the person (Slack ID, email or name).")
            what = ctx.user_id
        person = find_person_loose(ctx.db, what)
        if person is None:
            return error(
                f"I know nobody called '{what}'.",
                "People come from ",
                Mono("whisperer certs import FILE.csv"),
                " or ",
                Mono("/whisperer cert add"),
                "; list them with ",
                Mono("/whisperer people"),
                ".",
            )
        rows, title = (
            certs.list_certifications(ctx.db, person_id=int(person["id"])),
            f"Certifications: {person['name']}",
        )
    if not rows:
        empty = {
            "Certifications": "No certifications recorded. Import them with `whisperer certs import FILE.csv`.",
        }.get(title, "Nothing here. Either everyone is freshly certified, or nobody told me.")
        return reply(Heading(title), para(empty))
    blocks: list[Block] = [
        Heading(title),
        bullets(*(_cert_item(r, today, horizon, show_person=person is None) for r in rows)),
    ]
    expired = sum(days_left(r["expires"], today) <= 0 for r in rows)
    soon = sum(0 < days_left(r["expires"], today) <= horizon for r in rows)
    blocks.append(
        note(
            f"{len(rows)} certification{'s' if len(rows) != 1 else ''}: {expired} expired, {soon} expiring within "
            f"{horizon} days. Expiry not given on import = passed + the level's validity. Remove one with ",
            Mono("/whisperer cert remove ID"),
            ".",
        )
    )
    return reply(*blocks)


CERT_USAGE = "cert add PERSON CERTIFICATION PASSED [expires=DATE] [number=N] [level=L] | cert remove ID"


@command(
    "cert",
    CERT_USAGE,
    "Add or update one certification (admins, or the holder), or remove one.",
    'cert add me "HCIE-Cloud Service Solutions Architect" 2024-02-01 number=HCIE-0042',
    "cert add ana@acme.example HCCDE 2025-06-10",
    "cert remove 7",
    group="people",
)
def cert_command(ctx: Context, args: list[str]) -> Reply:
    if not args or args[0].lower() not in ("add", "remove", "rm"):
        raise UsageError("Say what to do: cert add … or cert remove ID.")
    if args[0].lower() == "add":
        return _cert_add(ctx, args[1:])
    if len(args) != 2 or not args[1].lstrip("#").isdigit():
        raise UsageError("Which certification? Give its number, as shown by /whisperer certs (e.g. #7).")
    cert_id = int(args[1].lstrip("#"))
    row = certs.get_certification(ctx.db, cert_id)
    if row is None:
        return error(f"There is no certification #{cert_id}.", "List them with ", Mono("/whisperer certs"), ".")
    if not (ctx.is_admin or (ctx.user_id and row["slack_id"] == ctx.user_id)):
        return admin_refusal("remove someone else's certification")
    with transaction(ctx.db):
        certs.remove_certification(ctx.db, cert_id)
    return reply(para(f"Removed #{cert_id}: {row['person']}'s {row['name']} (expired or not, it is gone)."))


def _cert_add(ctx: Context, args: list[str]) -> Reply:
    options = {}
    positional = []
    for arg in args:
        key, sep, value = arg.partition("=")
        if sep and key.lower() in ("expires", "number", "level", "email", "tz"):
            options[key.lower()] = value.strip()
        else:
            positional.append(arg)
    if len(positional) != 3:
        raise UsageError("cert add needs a person, a certification and the date it was passed.")
    who, name, passed_text = positional
    if who.lower() in ("me", "mine"):
        if not ctx.user_id:
            raise UsageError("In the terminal there is no 'me': name the person (Slack ID, email or name).")
        who = ctx.user_id
    mention = _MENTION.match(who)
    if mention:
        who = mention.group(1)
    elif SLACK_ID.match(who.lstrip("@")):
        who = who.lstrip("@")
    try:
        row = _row(
            0,
            {
                "name": who,
                "certification": name,
                "passed": passed_text,
                "expires": options.get("expires", ""),
                "level": options.get("level", ""),
                "number": options.get("number", ""),
                "email": options.get("email", ""),
                "tz": options.get("tz", ""),
            },
            ctx.knowledge.certifications,
        )
    except ValueError as exc:
        raise UsageError(f"{str(exc)[0].upper()}{str(exc)[1:]}.") from None
    existing = find_person_loose(ctx.db, who)
    if not (ctx.is_admin or (ctx.user_id and existing and existing["slack_id"] == ctx.user_id) or who == ctx.user_id):
        return admin_refusal("add certifications for someone else")
    now = ctx.now
    with transaction(ctx.db):
        if existing is not None:
            person_id = int(existing["id"])
        else:
            slack_id = who if SLACK_ID.match(who) else None
            email = who if EMAIL.match(who) else row.email
            display = who.split("@")[0].replace(".", " ").title() if EMAIL.match(who) else who
            person_id, _new = person_for(ctx.db, display, now, email, slack_id, row.tz)
        cert_id, added = certs.upsert_certification(
            ctx.db,
            person_id,
            name,
            now,
            level=row.level,
            number=row.number,
            passed=row.passed,
            expires=row.expires,
            expires_given=row.expires_given,
        )
    stored = certs.get_certification(ctx.db, cert_id)
    assert stored is not None
    left = days_left(stored["expires"], ctx.local_now.date())
    verb = "Added" if added else "Updated"
    days = ", ".join(str(d) for d in ctx.knowledge.reminders.days_before)
    return reply(
        para(
            f"{verb} #{cert_id}: {stored['person']} — {name} ({row.level}), expires {stored['expires']} "
            f"({status_text(left)})."
        ),
        note(f"Reminders go out {days} days before expiry, by DM."),
    )


@command(
    "people", "people", "Everyone I know, with their Slack ID, email, timezone and certifications.", group="people"
)
def people_command(ctx: Context, args: list[str]) -> Reply:
    if args:
        raise UsageError("people takes no arguments; for one person's certifications use /whisperer certs @user.")
    rows = people.list_people(ctx.db)
    if not rows:
        return reply(
            Heading("People"),
            para("Nobody yet. Import certifications with ", Mono("whisperer certs import FILE.csv"), "."),
        )
    counts = certs.certification_counts(ctx.db)
    items: list[tuple[Inline, ...]] = []
    for p in rows:
        reach = p["slack_id"] or (f"{p['email']} (no Slack ID yet)" if p["email"] else "no Slack ID or email")
        n = counts.get(int(p["id"]), 0)
        tz = f", {p['tz']}" if p["tz"] else ""
        items.append((Strong(p["name"]), f" — {reach}{tz}; {n} certification{'s' if n != 1 else ''}"))
    return reply(Heading("People"), bullets(*items))
