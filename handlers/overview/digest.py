"""digest: the week in one message: changes by topic, deadlines, expiring certifications, renewal KPIs, failing
sources. The weekly job (bot/process/digest.py) posts exactly this reply; `/whisperer digest` shows it on demand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from handlers.alerting.compose import TOPIC_ICONS
from handlers.alerting.meaning import headline
from handlers.programme.deadlines import collect_deadlines, when_left
from handlers.programme.renewal import KpiResult, evaluate_kpi, number
from handlers.registry import Context, UsageError, command
from handlers.reply import Block, Heading, Inline, Mono, Reply, Strong, bullets, note, para, reply
from handlers.team.certificates import days_left, first_name, status_text
from handlers.watch.changes import TOPIC_WORDS, when
from storage.team import certifications as certs
from storage.watching import changes as store
from storage.watching import sources as state


@dataclass(frozen=True)
class DigestWindow:
    """What one digest covers: the past `days` of changes and the weeks ahead."""

    days: int = 7  # changes looked back on
    deadline_days: int = 14
    cert_days: int = 60
    per_topic: int = 5  # changes listed per topic before "…and N more"
    per_list: int = 10  # deadlines and certifications listed before "…and N more"


MARK = {"met": "✅", "at risk": "⚠️", "missed": "❌", "unknown": "❔"}


def week_label(day: date) -> str:
    """2026-W49, the ISO week: what the digest's outbox key and heading name."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def digest(ctx: Context, window: DigestWindow | None = None) -> Reply:
    """The digest as of ctx.now, in the team's timezone."""
    window = window or DigestWindow()
    today = ctx.local_now.date()
    first = today - timedelta(days=window.days)
    partner = str(ctx.partner.get("name") or "Your company")
    blocks: list[Block] = [
        Heading(f"Weekly digest for {partner} · {week_label(today)}"),
        note(f"{first:%a %d %b} – {today:%a %d %b %Y}, {getattr(ctx.tz, 'key', ctx.tz)}"),
    ]
    blocks += _changes(ctx, window)
    blocks += _deadlines(ctx, window, today)
    blocks += _certifications(ctx, window, today)
    blocks += _renewal(ctx)
    blocks += _failing(ctx)
    blocks.append(
        note(
            "On demand: ",
            Mono("/whisperer digest"),
            " · every change: ",
            Mono(f"/whisperer changes {window.days}d"),
            " · ask anything: ",
            Mono("/whisperer help"),
        )
    )
    return reply(*blocks)  # for the asker only; the weekly job posts it to the channel


def _changes(ctx: Context, window: DigestWindow) -> list[Block]:
    rows = store.list_changes(ctx.db, since=ctx.now - timedelta(days=window.days), limit=1000)
    title = f"Changes this week ({len(rows)})" if rows else "Changes this week"
    if not rows:
        return [
            para(Strong(f"📰 {title}")),
            para("Nothing changed on the portal. Suspiciously quiet; I kept watching."),
        ]
    by_topic: dict[str, list[dict[str, object]]] = {}
    for row in rows:
        by_topic.setdefault(str(row["topic"]), []).append(row)
    order = [t for t in TOPIC_WORDS if t in by_topic] + sorted(t for t in by_topic if t not in TOPIC_WORDS)
    blocks: list[Block] = [para(Strong(f"📰 {title}"))]
    for topic in order:
        items = by_topic[topic]
        lines: list[tuple[Inline, ...]] = [
            (Mono(f"#{row['id']}"), " ", Strong(str(row["source_name"] or row["source_id"])), f": {headline(row)}")
            for row in items[: window.per_topic]
        ]
        if len(items) > window.per_topic:
            lines.append(
                (f"…and {len(items) - window.per_topic} more: ", Mono(f"/whisperer changes {topic} {window.days}d"))
            )
        icon = TOPIC_ICONS.get(topic, "🔔")
        blocks += [para(f"{icon} ", Strong(topic), f" · {len(items)}"), bullets(*lines)]
    return blocks


def _deadlines(ctx: Context, window: DigestWindow, today: date) -> list[Block]:
    items = collect_deadlines(ctx, window.deadline_days)
    head = para(Strong(f"⏰ Deadlines in the next {window.deadline_days} days"))
    if not items:
        return [head, para("None. A rare fortnight; enjoy it.")]
    lines: list[tuple[Inline, ...]] = [
        (Strong(f"{d.due} {d.at:%H:%M}" if d.at else str(d.due)), f" ({when_left(d.due, today)}) — {d.title}")
        for d in items[: window.per_list]
    ]
    if len(items) > window.per_list:
        lines.append(
            (f"…and {len(items) - window.per_list} more: ", Mono(f"/whisperer deadlines {window.deadline_days}"))
        )
    return [head, bullets(*lines)]


def _certifications(ctx: Context, window: DigestWindow, today: date) -> list[Block]:
    rows = [
        c
        for c in certs.list_certifications(ctx.db, until=today + timedelta(days=window.cert_days))
        if days_left(c["expires"], today) >= 0
    ]
    head = para(Strong(f"🎓 Certifications expiring in the next {window.cert_days} days"))
    if not rows:
        return [head, para("None. Everyone's paperwork is in order, or nobody told me.")]
    lines: list[tuple[Inline, ...]] = [
        (
            Strong(first_name(str(c["person"]))),
            f" — {c['name']}: {c['expires']} ({status_text(days_left(c['expires'], today))})",
        )
        for c in rows[: window.per_list]
    ]
    if len(rows) > window.per_list:
        lines.append((f"…and {len(rows) - window.per_list} more: ", Mono("/whisperer certs expiring")))
    return [head, bullets(*lines)]


def kpi_line(result: KpiResult, fix: bool = False) -> tuple[Inline, ...]:
    """One KPI in one line: mark, label, actual vs needed, status (and, with `fix`, what closes the gap)."""
    actual = "not set" if result.actual is None else number(result.actual, result.kpi.unit)
    tail = f". To close the gap: {result.fix}" if fix and result.fix else ""
    return (
        f"{MARK[result.status]} ",
        Strong(result.kpi.label),
        f": {actual} (needs {result.kpi.needed}) — {result.status}{tail}",
    )


def _renewal(ctx: Context) -> list[Block]:
    settings = ctx.knowledge.renewal
    if not settings.kpis:
        return []
    renewal = settings.date
    today = ctx.local_now.date()
    when_text = f" on {renewal} ({when_left(renewal, today)})" if renewal else ""
    results = [evaluate_kpi(ctx, kpi, renewal) for kpi in settings.kpis]
    met = sum(r.status == "met" for r in results)
    from handlers.team.plan_view import plan_line, unbound_warning

    return [
        para(Strong(f"📈 Renewal{when_text}: {met} of {len(results)} KPIs met")),
        bullets(*(kpi_line(r) for r in results)),
        *unbound_warning(ctx),
        *plan_line(ctx),
    ]


def _failing(ctx: Context) -> list[Block]:
    rows = [r for r in state.list_sources(ctx.db) if r["last_status"] == "error" and not r["paused"]]
    head = para(Strong("🚨 Failing sources"))
    if not rows:
        return [para(Strong("✅ Sources: "), "all answering.")]
    lines: list[tuple[Inline, ...]] = [
        (
            Strong(str(r["id"])),
            f" — failing ×{r['failures']} since {when(r['failing_since'], ctx.tz)}: {r['last_error']}",
        )
        for r in rows
    ]
    return [head, bullets(*lines), note("Details: ", Mono("/whisperer sources"))]


@command(
    "digest",
    "digest",
    "The weekly digest, now: the week's changes by topic, deadlines, expiring certifications, renewal KPIs, "
    "failing sources.",
    "digest",
)
def digest_command(ctx: Context, args: list[str]) -> Reply:
    if args:
        raise UsageError("digest takes no arguments (add `share` to post it for the channel).")
    return digest(ctx)
