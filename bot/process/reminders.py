"""The daily reminder sweep: certification DMs, the weekly summary, renewal risk and translation lag.

The scheduler calls `run_reminder_sweep(runtime, now)` once a day; `whisperer reminders --as-of DATE
--dry-run` shows what it would send. Every message is an outbox row with a unique key, so each reminder step
goes out once per certification (and expiry date) however often the sweep runs, restarts included.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.process.runtime import Runtime, make_context
from handlers.programme.deadlines import when_left
from handlers.programme.renewal import evaluate_kpi
from handlers.reply_codec import encode
from handlers.settings import ReminderSettings
from handlers.team.cert_followups import action_payload, cert_actions
from handlers.team.certificates import first_name
from storage.db import parse_stamp, transaction
from storage.outbox import alerts as outbox
from storage.team import certifications as certs
from storage.team import holds
from storage.team import reminders as queue
from storage.watching import changes as store
from storage.watching import sources as state

_CJK = re.compile(r"[\u3400-\u9fff]")
EXAM_GRACE = timedelta(days=7)  # after the exam date: the "how did it go?" DM, then a week before reminders resume


@dataclass(frozen=True)
class Planned:
    """One message the sweep wants sent."""

    key: str
    kind: str
    payload: dict[str, Any]
    to: str  # who, for people reading the dry run: "DM Ana Lima (U0ANA)", "#huawei-partner"
    deliver_at: datetime
    user_id: str | None = None
    channel: str | None = None
    source_id: str | None = None
    change_id: int | None = None


def _zone(name: str | None, fallback: tzinfo) -> tzinfo:
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return fallback


def working_moment(now: datetime, tz: tzinfo, settings: ReminderSettings) -> datetime:
    """Now, if it is working hours where the reader is; else the start of their next working day."""
    local = now.astimezone(tz)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        if day.weekday() not in settings.work_days:
            continue
        start = datetime.combine(day, settings.work_start, tz)
        end = datetime.combine(day, settings.work_end, tz)
        if start <= local < end:
            return now
        if local < start:
            return start
    return now


def _dm(
    person: dict[str, Any],
    key: str,
    kind: str,
    payload: dict[str, Any],
    now: datetime,
    tz: tzinfo,
    rs: ReminderSettings,
) -> Planned:
    """A DM by Slack ID; by person (the Slack side looks the email up) when only the email is known;
    the alerts channel when there is neither."""
    at = working_moment(now, _zone(person.get("tz"), tz), rs)
    if person.get("slack_id"):
        return Planned(key, kind, payload, f"DM {person['person']} ({person['slack_id']})", at, person["slack_id"])
    if not person.get("email"):
        text = f"For {person['person']} (I have no Slack ID or email to DM them): {payload['text']}"
        return Planned(key, kind, {**payload, "text": text}, "alerts channel (no way to DM)", at)
    payload = {**payload, "person_id": person["person_id"], "to": person["person"], "email": person.get("email")}
    return Planned(key, kind, payload, f"DM {person['person']} (by email {person.get('email') or '?'})", at)


def certification_reminders(runtime: Runtime, now: datetime) -> list[Planned]:
    config = runtime.config
    rs = config.knowledge.reminders
    team_tz = config.bot.tz
    steps = "/".join(str(d) for d in rs.days_before)
    planned: list[Planned] = []
    held = holds.all_holds(runtime.db)
    for cert in certs.list_certifications(runtime.db):
        if cert.get("left_on"):
            continue  # a recorded departure: nobody renews a certificate for a company they are leaving
        tz = _zone(cert["tz"], team_tz)
        today = now.astimezone(tz).date()
        expires = date.fromisoformat(cert["expires"])
        left = (expires - today).days
        hello = f"Hi {first_name(cert['person'])}: your *{cert['name']}*"
        number = f" (no. {cert['number']})" if cert["number"] else ""
        buttons = action_payload(cert_actions(int(cert["id"])))
        hold = held.get(int(cert["id"]))
        snoozed_until: date | None = None
        if hold is not None:
            until = date.fromisoformat(hold["until"])
            if today <= until and (hold["kind"] == "booked" or today < until):
                continue  # exam booked, or snoozed: quiet until then
            if hold["kind"] == "booked":
                if today <= until + EXAM_GRACE:
                    payload = {
                        "heading": "How did the exam go?",
                        "text": f"{hello}{number} exam was on *{until}*. If you passed, record the new expiry date "
                        "and number so the renewal KPIs count it.",
                        "note": "Reminders resume in a week unless you renew or book again",
                        "actions": buttons,
                    }
                    key = f"cert-exam:{cert['id']}:{until}"
                    planned.append(_dm(cert, key, "cert-exam", payload, now, team_tz, rs))
                    continue
            else:
                snoozed_until = until
        if left <= 0:
            if -left > rs.final_notice_days:
                continue  # long expired before we knew: a DM now would be noise
            payload = {
                "heading": "Certification expired",
                "text": f"{hello}{number} expired on *{expires}*. It no longer counts for the partner programme.\n\n"
                "If you have recertified, tell an admin so the new dates are recorded.",
                "note": "This is the last reminder about it · /whisperer certs mine",
                "actions": buttons,
            }
            planned.append(_dm(cert, f"cert-expired:{cert['id']}:{expires}", "cert-expired", payload, now, team_tz, rs))
            continue
        due = [d for d in rs.days_before if left <= d]
        if not due:
            continue
        step = min(due)
        payload = {
            "heading": f"Certification expires {when_left(expires, today)}",
            "text": f"{hello}{number} expires on *{expires}*, {when_left(expires, today)}. "
            "Book the recertification exam before then.",
            "note": f"Reminders at {steps} days before expiry · /whisperer certs mine",
            "actions": buttons,
        }
        key = f"cert-reminder:{cert['id']}:{expires}:{step}"
        if snoozed_until is not None and key in queue.existing_alert_keys(runtime.db, [key]):
            key = f"cert-snoozed:{cert['id']}:{snoozed_until}"  # the step was sent before the snooze: once more
        planned.append(_dm(cert, key, "cert-reminder", payload, now, team_tz, rs))
    return planned


def weekly_summary(runtime: Runtime, now: datetime) -> list[Planned]:
    config = runtime.config
    rs = config.knowledge.reminders
    local = now.astimezone(config.bot.tz)
    if rs.weekly_summary is None or local.weekday() < rs.weekly_summary:
        return []
    today = local.date()
    rows = [
        c
        for c in certs.list_certifications(runtime.db, until=today + timedelta(days=rs.horizon))
        if (today - date.fromisoformat(c["expires"])).days <= rs.final_notice_days and not c.get("left_on")
    ]
    if not rows:
        return []
    items = [
        f"{c['person']} — {c['name']}: "
        + (
            f"expired on {c['expires']}"
            if date.fromisoformat(c["expires"]) <= today
            else f"expires {c['expires']} ({when_left(date.fromisoformat(c['expires']), today)})"
        )
        for c in rows
    ]
    year, week, _ = today.isocalendar()
    payload = {
        "heading": f"Certifications: week {week}",
        "text": f"{len(rows)} certification{'s need' if len(rows) != 1 else ' needs'} attention "
        f"(expiring within {rs.horizon} days, or just expired):",
        "items": items,
        "note": "Each holder gets their own DMs · /whisperer certs expiring",
    }
    channel = config.bot.alerts_channel
    at = working_moment(now, config.bot.tz, rs)
    return [Planned(f"cert-weekly:{year}-W{week:02d}", "cert-weekly", payload, channel or "alerts channel", at)]


def _language(text: str) -> str:
    letters = sum(ch.isalpha() for ch in text) or 1
    return "Chinese" if len(_CJK.findall(text)) / letters > 0.3 else "English"


def translation_lag(runtime: Runtime, now: datetime) -> list[Planned]:
    """A twin that changed while the other did not, within lag_days either side: one alert per change."""
    specs = {s.id: s for s in runtime.config.sources}
    pairs = sorted({tuple(sorted((s.id, s.twin))) for s in specs.values() if s.twin and s.twin in specs})
    planned: list[Planned] = []
    rows = {r["id"]: r for r in state.list_sources(runtime.db)} if pairs else {}
    for a, b in pairs:
        for changed_id, other_id in ((a, b), (b, a)):
            changed, other = specs[changed_id], specs[other_id]
            latest = store.list_changes(runtime.db, source_id=changed_id, limit=1)
            if not latest:
                continue
            change = latest[0]
            when = parse_stamp(change["detected_at"])
            lag = timedelta(days=changed.lag_days)
            if now - when < lag:
                continue  # still within the grace period
            nearby = store.list_changes(runtime.db, source_id=other_id, since=when - lag, limit=50)
            if any(parse_stamp(c["detected_at"]) <= when + lag for c in nearby):
                continue  # the twin changed too: caught up (or led)
            texts = {sid: store.get_snapshot(runtime.db, rows.get(sid, {}).get("last_hash")) or "" for sid in (a, b)}
            lang_changed, lang_other = _language(texts[changed_id]), _language(texts[other_id])
            english = other if lang_other == "English" else changed
            day = when.astimezone(runtime.config.bot.tz).date()
            if lang_changed != lang_other:
                text = (
                    f"The {lang_changed} version of *{english.title}* changed on {day}; "
                    f"the {lang_other} version has not caught up."
                )
            else:
                text = f"*{changed.title}* changed on {day}; its twin *{other.title}* has not caught up."
            payload = {
                "heading": "Translation lag",
                "text": text + f" ({(now - when).days} days and counting; lag_days = {changed.lag_days}.)",
                "note": f"What changed: /whisperer diff {change['id']}",
                "source_id": changed_id,
                "twin": other_id,
            }
            planned.append(
                Planned(
                    f"twin-lag:{changed_id}:{change['id']}",
                    "translation-lag",
                    payload,
                    other.channel or runtime.config.bot.alerts_channel or "alerts channel",
                    now,
                    channel=other.channel,
                    source_id=changed_id,
                    change_id=int(change["id"]),
                )
            )
    return planned


def renewal_risk(runtime: Runtime, now: datetime) -> list[Planned]:
    """The first time a certification count is projected to miss its KPI on the renewal date."""
    renewal = runtime.config.knowledge.renewal.date
    if renewal is None:
        return []
    ctx = make_context(runtime, now, operator=True)
    planned = []
    for kpi in runtime.config.knowledge.renewal.kpis:
        if not kpi.certified:
            continue
        result = evaluate_kpi(ctx, kpi, renewal)
        if result.status != "at risk":
            continue
        digest = hashlib.sha1(result.why.encode("utf-8")).hexdigest()[:10]
        payload = {
            "heading": "Renewal at risk",
            "text": f"{result.why[0].upper()}{result.why[1:]}.\n\nTo close the gap: {result.fix}."
            + (f" Missing it means: {kpi.consequence}." if kpi.consequence else ""),
            "note": "/whisperer renewal",
        }
        at = working_moment(now, runtime.config.bot.tz, runtime.config.knowledge.reminders)
        planned.append(
            Planned(
                f"renewal-risk:{kpi.id}:{renewal}:{digest}",
                "renewal-risk",
                payload,
                runtime.config.bot.alerts_channel or "alerts channel",
                at,
            )
        )
    return planned


def deal_reminders(runtime: Runtime, now: datetime) -> list[Planned]:
    """The opportunity ledger's warnings (handlers/money/deals.py): a DM to the deal's owner, else the channel."""
    from handlers.money.deals import deal_reminders as plan

    at = working_moment(now, runtime.config.bot.tz, runtime.config.knowledge.reminders)
    channel = runtime.config.bot.alerts_channel or "alerts channel"
    return [
        Planned(
            r.key,
            "deal-reminder",
            {"reply": encode(r.message)},
            f"DM {r.owner}" if r.owner else channel,
            at,
            user_id=r.owner,
        )
        for r in plan(make_context(runtime, now, operator=True))
    ]


def plan_sweep(runtime: Runtime, now: datetime) -> list[Planned]:
    from bot.process.money_reminders import money_reminders  # it builds on Planned, defined here

    return [
        *deal_reminders(runtime, now),
        *money_reminders(runtime, now),
        *certification_reminders(runtime, now),
        *weekly_summary(runtime, now),
        *renewal_risk(runtime, now),
        *translation_lag(runtime, now),
    ]


def run_reminder_sweep(runtime: Runtime, now: datetime, dry_run: bool = False) -> list[Planned]:
    """Queue every message due at `now` that was not queued before; return them (dry run: queue nothing)."""
    planned = plan_sweep(runtime, now)
    done = queue.existing_alert_keys(runtime.db, (p.key for p in planned))
    fresh = [p for p in planned if p.key not in done]
    if dry_run:
        return fresh
    queued = []
    with transaction(runtime.db):
        for p in fresh:
            added = outbox.enqueue_alert(
                runtime.db,
                p.key,
                p.kind,
                p.payload,
                now,
                source_id=p.source_id,
                change_id=p.change_id,
                channel=p.channel,
                user_id=p.user_id,
            )
            if added:
                if p.deliver_at > now:
                    queue.defer_alert(runtime.db, p.key, p.deliver_at)
                queued.append(p)
    return queued
