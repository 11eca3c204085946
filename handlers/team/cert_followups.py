"""cert booked, cert snooze, cert renewed: answering a certification reminder, by click or by command.

Booking the exam pauses the reminders until its date (the day after, a DM asks how it went); a snooze pauses
them for a week; a renewal records the new expiry and number and shows the renewal KPIs again.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from handlers.programme.renewal import evaluate_kpi, number
from handlers.registry import Context, UsageError, admin_refusal
from handlers.reply import Action, Block, Inline, Mono, Reply, Strong, bullets, error, note, para, reply
from handlers.team.certificates import DATE_FIX, first_name, status_text
from storage.db import transaction
from storage.team import certifications as certs
from storage.team import holds
from watchers.facts.dates import parse_day

REFRESH = ("refresh-message",)
SNOOZE_DAYS = 7
USAGE = {
    "booked": "cert booked ID EXAM_DATE",
    "snooze": "cert snooze ID [DAYS]",
    "renewed": "cert renewed ID NEW_EXPIRY [NUMBER]",
}


def cert_actions(cert_id: int, *, booked: bool = True) -> tuple[Action, ...]:
    """The buttons of a certification reminder (and of the "how did it go?" DM)."""
    value = str(cert_id)
    found = [
        Action("I've booked the exam", "cert-booked", value, f"cert booked {value} DATE", pick="date"),
        Action("Remind me in a week", "cert-snooze", value, f"cert snooze {value}"),
        Action("I've renewed", "cert-renewed", value, f"cert renewed {value} NEW_EXPIRY [NUMBER]", style="primary"),
    ]
    return tuple(found if booked else found[1:])


def action_payload(found: tuple[Action, ...]) -> list[dict[str, str]]:
    """Actions as plain data, for an outbox row's payload (handlers/alerting/notices.py reads them back)."""
    return [
        {"label": a.label, "intent": a.intent, "value": a.value, "command": a.command, "style": a.style, "pick": a.pick}
        for a in found
    ]


def find_cert(ctx: Context, args: list[str], verb: str) -> dict[str, Any] | Reply:
    """The certification named by args[0], if it exists and the caller may act on it (its holder, or admins)."""
    if not args or not args[0].lstrip("#").isdigit():
        raise UsageError("Which certification? Give its number, as shown by /whisperer certs (e.g. #7).", USAGE[verb])
    cert_id = int(args[0].lstrip("#"))
    row = certs.get_certification(ctx.db, cert_id)
    if row is None:
        return error(
            f"There is no certification #{cert_id} any more (removed, or replaced on re-import).",
            "See yours with ",
            Mono("/whisperer certs mine"),
            ".",
        )
    if not (ctx.is_admin or (ctx.user_id and row["slack_id"] == ctx.user_id)):
        return admin_refusal(f"mark someone else's certification as {verb}")
    return row


def _day(text: str, usage: str) -> date:
    day = parse_day(text)
    if day is None:
        raise UsageError(f"'{text}' is not a date; {DATE_FIX}.", usage)
    return day


def booked(ctx: Context, args: list[str]) -> Reply:
    row = find_cert(ctx, args, "booked")
    if isinstance(row, Reply):
        return row
    if len(args) != 2:
        raise UsageError("cert booked needs the certification number and the exam date.", USAGE["booked"])
    exam = _day(args[1], USAGE["booked"])
    today = ctx.local_now.date()
    if exam < today:
        raise UsageError(f"{exam} has already passed (today is {today}); give the date you are booked for.")
    with transaction(ctx.db):
        changed = holds.set_hold(ctx.db, int(row["id"]), "booked", exam, ctx.user_id, ctx.now)
    if not changed:
        return reply(para(f"Already noted: the exam for #{row['id']} is on {exam}."))
    return reply(
        para("📅 Noted: ", Strong(row["name"]), f" exam on {exam}. Good luck, {first_name(row['person'])}."),
        note(f"Reminders about it pause until then; on {exam + timedelta(days=1)} I'll ask how it went."),
        effects=REFRESH,
    )


def snooze(ctx: Context, args: list[str]) -> Reply:
    row = find_cert(ctx, args, "snooze")
    if isinstance(row, Reply):
        return row
    if len(args) > 2 or (len(args) == 2 and not args[1].isdigit()):
        raise UsageError("cert snooze takes the certification number and, optionally, days.", USAGE["snooze"])
    days = int(args[1]) if len(args) == 2 else SNOOZE_DAYS
    if not 1 <= days <= 60:
        raise UsageError("Snooze for 1 to 60 days; longer than that is not a snooze, it's a hibernation.")
    until = ctx.local_now.date() + timedelta(days=days)
    with transaction(ctx.db):
        changed = holds.set_hold(ctx.db, int(row["id"]), "snoozed", until, ctx.user_id, ctx.now)
    if not changed:
        return reply(para(f"Already snoozed until {until}."))
    return reply(
        para("😴 I'll remind you about ", Strong(row["name"]), f" again on {until}."),
        note(f"It still expires on {row['expires']}."),
        effects=REFRESH,
    )


def renewed(ctx: Context, args: list[str]) -> Reply:
    row = find_cert(ctx, args, "renewed")
    if isinstance(row, Reply):
        return row
    if len(args) not in (2, 3):
        raise UsageError("cert renewed needs the certification number and the new expiry date.", USAGE["renewed"])
    expires = _day(args[1], USAGE["renewed"])
    today = ctx.local_now.date()
    if expires <= today:
        raise UsageError(f"A renewed certification expires in the future; {expires} is not after today ({today}).")
    cert_number = args[2].strip() if len(args) == 3 else row["number"]
    same = row["expires"] == expires.isoformat() and (row["number"] or None) == (cert_number or None)
    if not same:
        with transaction(ctx.db):
            certs.renew_certification(ctx.db, int(row["id"]), expires, cert_number or None, ctx.now)
            holds.clear_hold(ctx.db, int(row["id"]))
    blocks: list[Block] = [
        para(
            "🎉 " if not same else "",
            Strong(row["name"]),
            f" ({row['person']}) now expires on {expires} ({status_text((expires - today).days)})",
            f", no. {cert_number}." if cert_number else ".",
        )
    ]
    if same:
        blocks.append(note("That was already recorded; nothing changed."))
    blocks.extend(_kpis(ctx))
    return reply(*blocks, effects=() if same else REFRESH)


def _kpis(ctx: Context) -> tuple[Block, ...]:
    """The certification KPIs of the renewal, evaluated again now that the dates moved."""
    settings = ctx.knowledge.renewal
    results = [evaluate_kpi(ctx, kpi, settings.date) for kpi in settings.kpis if kpi.certified]
    if not results:
        return ()
    marks = {"met": "✅", "at risk": "⚠️", "missed": "❌", "unknown": "❔"}
    items: list[tuple[Inline, ...]] = [
        (
            f"{marks[r.status]} ",
            Strong(r.kpi.label),
            f": {number(r.actual or 0)} (needs {r.kpi.needed}) — {r.status}",
            *((f": {r.why}",) if r.why else ()),
        )
        for r in results
    ]
    return (para("Renewal KPIs now:"), bullets(*items), note("All of them: ", Mono("/whisperer renewal"), "."))


FOLLOWUPS = {"booked": booked, "snooze": snooze, "renewed": renewed}
