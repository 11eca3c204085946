"""certs, cert add/remove, people: who holds which certification, and until when."""

from __future__ import annotations

from datetime import date
from typing import Any

from handlers.registry import Context, UsageError, admin_refusal, command, form_reply, record_id, suggest
from handlers.reply import Block, Heading, Inline, Mono, Reply, Strong, bullets, error, note, para, reply
from handlers.team.cert_followups import FOLLOWUPS
from handlers.team.certificates import (
    EMAIL,
    MENTION,
    SLACK_ID,
    cert_row,
    days_left,
    first_name,
    person_for,
    status_text,
)
from storage.database import Database
from storage.db import transaction
from storage.team import certifications as certs
from storage.team import people


def find_person_loose(db: Database, key: str) -> dict[str, Any] | None:
    """A person by Slack mention or ID, email, full name, or a first name that only one person has."""
    mention = MENTION.match(key)
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
    "certs [mine|@user|expiring|matrix [csv]]",
    "Certifications and when they expire: everyone's, yours, one person's, those expiring soon, or the matrix "
    "of people × certification groups (expiring and unbound cells marked; csv to export).",
    "certs",
    "certs mine",
    "certs expiring",
    "certs matrix",
    group="people",
)
def certs_command(ctx: Context, args: list[str]) -> Reply:
    if args and args[0].lower() == "matrix":
        from handlers.team.matrix import matrix_reply  # the matrix builds on the plan's horizon: keep `certs` light

        return matrix_reply(ctx, args[1:])
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
        empty: tuple[Inline, ...] = (
            ("No certifications recorded. Import them with ", Mono("whisperer certs import FILE.csv"), ".")
            if title == "Certifications"
            else ("Nothing here. Either everyone is freshly certified, or nobody told me.",)
        )
        return reply(Heading(title), para(*empty))
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


CERT_USAGE = (
    "cert add PERSON CERTIFICATION PASSED [expires=DATE] [number=N] [level=L] | cert remove ID"
    " | cert booked ID EXAM_DATE | cert snooze ID [DAYS] | cert renewed ID NEW_EXPIRY [NUMBER]"
)


@command(
    "cert",
    CERT_USAGE,
    "Add, update or remove a certification (admins, or the holder); answer its reminder: exam booked, "
    "snooze a week, renewed. `cert add` alone opens a form in Slack.",
    'cert add me "HCIE-Cloud Service Solutions Architect" 2024-02-01 number=HCIE-0042',
    "cert add ana@acme.example HCCDE 2025-06-10",
    "cert remove 7",
    "cert booked 7 2027-01-20",
    "cert snooze 7",
    "cert renewed 7 2030-01-20 HCIE-0042",
    group="people",
)
def cert_command(ctx: Context, args: list[str]) -> Reply:
    if not args or args[0].lower() not in ("add", "remove", "rm", *FOLLOWUPS):
        raise UsageError("Say what to do: cert add …, cert remove ID, or cert booked|snooze|renewed ID ….")
    if args[0].lower() in FOLLOWUPS:
        return FOLLOWUPS[args[0].lower()](ctx, args[1:])
    if args[0].lower() == "add":
        if len(args) == 1:
            return form_reply("cert-add", "cert add PERSON CERTIFICATION PASSED [expires=DATE] [number=N]")
        return _cert_add(ctx, args[1:])
    cert_id = record_id(args[1]) if len(args) == 2 else None
    if cert_id is None:
        raise UsageError("Which certification? Give its number, as shown by /whisperer certs (e.g. #7).")
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
    mention = MENTION.match(who)
    if mention:
        who = mention.group(1)
    elif SLACK_ID.match(who.lstrip("@")):
        who = who.lstrip("@")
    try:
        row = cert_row(
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
            ctx.local_now.date(),
        )
    except ValueError as exc:
        raise UsageError(f"{str(exc)[0].upper()}{str(exc)[1:]}.") from None
    existing = find_person_loose(ctx.db, who)
    if not (ctx.is_admin or (ctx.user_id and existing and existing["slack_id"] == ctx.user_id) or who == ctx.user_id):
        return admin_refusal("add certifications for someone else")
    if existing is None and not (SLACK_ID.match(who) or EMAIL.match(who) or row.email):
        # A bare name that matches nobody is more often a typo than a new colleague: creating a second
        # "Budi Santso" would split one person's certifications in two.
        names = {str(p["name"]).casefold(): str(p["name"]) for p in people.list_people(ctx.db)}
        close = suggest(who.casefold(), list(names))
        hint = f" Did you mean '{names[close]}'?" if close else ""
        cert = f'"{name}"' if " " in name else name
        return error(
            f"I don't know anyone called '{who}'.{hint}",
            "To add someone new, give their Slack ID or email instead of the name (",
            Mono(f"cert add budi@acme.example {cert} {passed_text}"),
            ") or next to it (",
            Mono(f'cert add "{who}" {cert} {passed_text} email=…'),
            ").",
        )
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
