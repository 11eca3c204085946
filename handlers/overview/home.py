"""The App Home tab as a dashboard: renewal and days left, the next deadlines, your certifications, the latest
changes and who took them, failing sources. Each section ends with what you can do about it."""

from __future__ import annotations

from handlers.alerting.compose import TOPIC_ICONS
from handlers.alerting.meaning import headline
from handlers.overview.digest import kpi_line
from handlers.programme.deadlines import collect_deadlines, when_left
from handlers.programme.renewal import evaluate_kpi
from handlers.programme.tiers import partner_tier
from handlers.registry import Context, UsageError, command
from handlers.reply import (
    Action,
    Block,
    Divider,
    Heading,
    Inline,
    Mono,
    Reply,
    Strong,
    actions,
    bullets,
    note,
    para,
    reply,
)
from handlers.team.cert_followups import cert_actions
from handlers.team.certificates import days_left, status_text
from handlers.team.certs import find_person_loose
from handlers.watch.changes import ago, when
from handlers.watch.ownership import change_actions, mention
from storage.outbox import ownership
from storage.team import certifications as certs
from storage.team import people
from storage.watching import changes as store
from storage.watching import sources as state

DEADLINE_DAYS = 30
LIMIT = 5  # items per section: a dashboard, not an archive


def home(ctx: Context, changes: int = LIMIT) -> Reply:
    """What a user sees on the bot's Home tab (Slack keeps it to 100 blocks; this stays well under)."""
    partner = str(ctx.partner.get("name") or "your company")
    blocks: list[Block] = [
        Heading(f"Huawei Whisperer · {partner}"),
        note(f"As of {ctx.local_now:%a %d %b %Y %H:%M} ({getattr(ctx.tz, 'key', ctx.tz)}). Reopen the tab to refresh."),
    ]
    for section in (_renewal, _deadlines, _my_certs, _changes, _failing):
        blocks += [*section(ctx, changes), Divider()]
    mine = people.subscriptions_of(ctx.db, ctx.user_id) if ctx.user_id else []
    if mine:
        blocks.append(
            note("Your DM subscriptions: ", ", ".join(mine), ". Change them with ", Mono("/whisperer subscribe"), ".")
        )
    else:
        blocks.append(note("Get a DM when a topic changes: ", Mono("/whisperer subscribe policy"), "."))
    blocks.append(
        actions(Action("This week's digest", "show", "digest", "digest"), Action("Help", "show", "help", "help"))
    )
    return reply(*blocks)


@command(
    "home",
    "home",
    "Your dashboard, as the bot's Home tab in Slack shows it: renewal, deadlines, your certifications, changes.",
    "home",
)
def home_command(ctx: Context, args: list[str]) -> Reply:
    if args:
        raise UsageError("home takes no arguments.")
    return home(ctx)


def _renewal(ctx: Context, limit: int) -> list[Block]:
    settings = ctx.knowledge.renewal
    renewal = settings.date
    today = ctx.local_now.date()
    tier = partner_tier(ctx)
    when_text = f"{renewal} ({when_left(renewal, today)})" if renewal else "no date set"
    results = [evaluate_kpi(ctx, kpi, renewal) for kpi in settings.kpis]
    met = sum(r.status == "met" for r in results)
    head = para(
        Strong("📈 Renewal: "),
        when_text,
        f" · {tier}" if tier else "",
        f" · {met} of {len(results)} KPIs met" if results else "",
    )
    trouble = [r for r in results if r.status != "met"]
    from handlers.team.plan_view import plan_line, unbound_warning

    people = [*unbound_warning(ctx), *(plan_line(ctx) if ctx.is_admin else [])]
    if not results:
        return [head, *people]
    if not trouble:
        return [head, para("All met. Quietly renew, and tell nobody how easy it was."), *people]
    return [
        head,
        bullets(*(kpi_line(r, fix=True) for r in trouble)),
        *people,
        actions(Action("Renewal details", "show", "renewal", "renewal")),
    ]


def _deadlines(ctx: Context, limit: int) -> list[Block]:
    today = ctx.local_now.date()
    items = collect_deadlines(ctx, DEADLINE_DAYS)
    head = para(Strong(f"⏰ Next deadlines ({DEADLINE_DAYS} days)"))
    if not items:
        return [head, para("Nothing due. Enjoy it while it lasts.")]
    lines: list[tuple[Inline, ...]] = [
        (Strong(f"{d.due} {d.at:%H:%M}" if d.at else str(d.due)), f" ({when_left(d.due, today)}) — {d.title}")
        for d in items[:limit]
    ]
    if len(items) > limit:
        lines.append((f"…and {len(items) - limit} more",))
    return [head, bullets(*lines), actions(Action("All deadlines", "show", "deadlines", "deadlines"))]


def _my_certs(ctx: Context, limit: int) -> list[Block]:
    head = para(Strong("🎓 Your certifications"))
    person = find_person_loose(ctx.db, ctx.user_id) if ctx.user_id else None
    if person is None:
        return [
            head,
            para("I don't know you yet, so I can't tell you when your certifications expire."),
            note("Add one: ", Mono('/whisperer cert add me "HCIE-Cloud" 2025-06-10'), "."),
        ]
    rows = certs.list_certifications(ctx.db, person_id=int(person["id"]))
    if not rows:
        return [head, para("None recorded."), note("Add one: ", Mono('/whisperer cert add me "HCIE-Cloud" 2025-06-10'))]
    today = ctx.local_now.date()
    horizon = ctx.knowledge.reminders.horizon
    blocks: list[Block] = [head]
    for row in rows[:limit]:
        left = days_left(row["expires"], today)
        mark = "❌" if left <= 0 else ("⏳" if left <= horizon else "✅")
        blocks.append(
            para(
                f"{mark} ",
                Strong(str(row["name"])),
                f" · expires {row['expires']}, {status_text(left)} · ",
                Mono(f"#{row['id']}"),
            )
        )
        if left <= horizon:  # the same buttons as its reminder DM: booked, snooze, renewed
            blocks.append(actions(*cert_actions(int(row["id"]))))
    blocks.append(actions(Action("All my certifications", "show", "certs mine", "certs mine")))
    return blocks


def owner_of(ctx: Context, change_id: int) -> Inline | None:
    """Who took a change ("I'm on it"); None until someone does."""
    owner = ownership.change_owner(ctx.db, change_id)
    return mention(ctx.db, str(owner["user_id"])) if owner else None


def change_buttons(ctx: Context, row: dict[str, object], owner: Inline | None) -> tuple[Action, ...]:
    """Full diff, and "I'm on it" while nobody is (the same buttons as the change's alert)."""
    return change_actions(row, owner="taken" if owner else None, muted=True, channel=False)


def _changes(ctx: Context, limit: int) -> list[Block]:
    rows = store.list_changes(ctx.db, limit=limit)
    head = para(Strong("📰 Latest changes"))
    if not rows:
        return [head, para("Nothing has changed yet. Either the portal is quiet, or it is about to surprise us.")]
    blocks: list[Block] = [head]
    for row in rows:
        owner = owner_of(ctx, int(row["id"]))
        blocks.append(
            para(
                Mono(f"#{row['id']}"),
                f" {TOPIC_ICONS.get(str(row['topic']), '🔔')} ",
                Strong(str(row["source_name"] or row["source_id"])),
                f": {headline(row)} · {when(row['detected_at'], ctx.tz)}",
                *((" · 👤 ", owner) if owner else (" · nobody on it yet",)),
            )
        )
        blocks.append(actions(*change_buttons(ctx, row, owner)))
    blocks.append(actions(Action("Changes this week", "show", "changes 7d", "changes 7d")))
    return blocks


def _failing(ctx: Context, limit: int) -> list[Block]:
    rows = [r for r in state.list_sources(ctx.db) if r["last_status"] == "error" and not r["paused"]]
    if not rows:
        total = len(state.list_sources(ctx.db))
        return [para(Strong("✅ Sources: "), f"all {total} answering." if total else "none configured yet.")]
    lines: list[tuple[Inline, ...]] = [
        (
            Strong(str(r["id"])),
            f" — failing ×{r['failures']} since {ago(r['failing_since'], ctx.now)}: {r['last_error']}",
        )
        for r in rows[:limit]
    ]
    if len(rows) > limit:
        lines.append((f"…and {len(rows) - limit} more",))
    return [
        para(Strong(f"🚨 Failing sources ({len(rows)})")),
        bullets(*lines),
        actions(Action("Source health", "show", "sources", "sources")),
    ]
