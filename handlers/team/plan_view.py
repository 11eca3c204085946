"""plan [UNTIL DATE]: the fewest exams that keep every KPI and competency met; also its first line for the
digest and the Home tab. The rule itself is in handlers/team/planner.py."""

from __future__ import annotations

from datetime import date, timedelta

from handlers.registry import Context, UsageError, command
from handlers.reply import Block, Heading, Inline, Mono, Reply, Strong, bullets, error, note, para, reply
from handlers.team.planner import Plan, make_plan, related
from handlers.team.teamstate import Team, load_team, requirements, unbound_holders
from watchers.facts.dates import parse_day

NO_RENEWAL_DAYS = 365  # without a renewal date, what-if and the plan look a year ahead


def horizon_of(ctx: Context) -> date:
    """The renewal date if it is ahead, else a year from today."""
    today = ctx.local_now.date()
    renewal = ctx.knowledge.renewal.date
    return renewal if renewal and renewal > today else today + timedelta(days=NO_RENEWAL_DAYS)


def _sits(team: Team, plan: Plan, index: int) -> str:
    exam = plan.exams[index]
    name = team.name(exam.person_id)
    if exam.recert:
        return f"{name} recertifies {exam.certification}"
    group = exam.groups[0]
    if related(team, exam):  # the next level in the same direction: name it
        return f"{name} sits {exam.certification}…"
    return f"{name} sits one of {team.settings.describe(group)} ({group.replace('_', ' ')})"


def plan_items(team: Team, plan: Plan) -> list[tuple[Inline, ...]]:
    items: list[tuple[Inline, ...]] = []
    for b in plan.binds:
        held = ", ".join(b.certifications)
        items.append(
            (
                Strong(f"Bind {team.name(b.person_id)}'s HUAWEI ID"),
                f" (no exam): {held} would count once bound; {b.why}.",
            )
        )
    for i, exam in enumerate(plan.exams):
        when = "now" if exam.by is None or exam.by <= plan.start else f"by {exam.by}"
        items.append((Strong(f"{i + 1}. {_sits(team, plan, i)} {when}"), f" — {exam.why}." if exam.why else "."))
    for req in plan.unmet:
        items.append(
            (
                Strong("⚠ Nobody on the team can close"),
                f" {req.kind} {req.label} ({req.needed}): everyone eligible already holds it; hire, or bind someone.",
            )
        )
    return items


def first_line(team: Team, plan: Plan) -> str | None:
    """One sentence for the digest and Home: the plan's first step, or None when nothing is needed."""
    if plan.binds:
        b = plan.binds[0]
        return f"Bind {team.name(b.person_id)}'s HUAWEI ID ({', '.join(b.certifications)} would count)"
    if plan.exams:
        exam = plan.exams[0]
        when = "now" if exam.by is None or exam.by <= plan.start else f"by {exam.by}"
        total = len(plan.exams)
        return f"{_sits(team, plan, 0)} {when}" + (f" (1 of {total} exams)" if total > 1 else "")
    if plan.unmet:
        return f"nobody on the team can close {plan.unmet[0].label}"
    return None


def current_plan(ctx: Context, until: date | None = None) -> tuple[Team, Plan]:
    team = load_team(ctx.db, ctx.knowledge.certifications, booked=True)
    start = ctx.local_now.date()
    return team, make_plan(team.copy(), requirements(ctx.knowledge), start, until or horizon_of(ctx))


def plan_summary(ctx: Context) -> str | None:
    """The first line of the plan through the renewal, or None (nothing to do, or nothing is required)."""
    if not requirements(ctx.knowledge):
        return None
    team, plan = current_plan(ctx)
    return first_line(team, plan)


@command(
    "plan",
    "plan [UNTIL DATE]",
    "The fewest exams (who, which, by when) that keep every KPI and competency met through a date "
    "(the renewal by default), each with its reason.",
    "plan",
    "plan until 2027-12-31",
    group="people",
)
def plan_command(ctx: Context, args: list[str]) -> Reply:
    today = ctx.local_now.date()
    words = [a for a in args if a.lower() != "until"]
    if len(words) > 1:
        raise UsageError("plan takes at most one date: plan until 2027-12-31.")
    until = None
    if words:
        until = parse_day(words[0])
        if until is None:
            raise UsageError(f"'{words[0]}' is not a date; write it as YYYY-MM-DD, e.g. {today + timedelta(days=90)}.")
        if until <= today:
            return error(f"{until} is not ahead of today ({today}).", "Plan for a date in the future.")
    reqs = requirements(ctx.knowledge)
    if not reqs:
        return error(
            "Nothing to plan for: no KPI, competency or rebate counts certified people.",
            "Add a KPI with certified = GROUP under [renewal], or [[competencies]] in whisperer.toml.",
        )
    team, plan = current_plan(ctx, until)
    blocks: list[Block] = [Heading(f"Exam plan through {plan.until}")]
    n = len(plan.exams)
    if not plan.exams and not plan.binds and not plan.unmet:
        blocks.append(para(f"Nothing to sit: all {len(reqs)} people requirements stay met through {plan.until}."))
    else:
        verdict = (
            f"{n} exam{'s' if n != 1 else ''} keep{'s' if n == 1 else ''} every KPI and competency met "
            f"through {plan.until}"
        )
        if plan.binds:
            verdict += f", with {len(plan.binds)} HUAWEI ID binding{'s' if len(plan.binds) != 1 else ''}"
        blocks += [para(verdict + "."), bullets(*plan_items(team, plan))]
    if plan.assumed:
        booked = "; ".join(f"{team.name(h.person_id)}'s {h.name} on {h.start}" for h in plan.assumed)
        blocks.append(note(f"Counted as passed (booked exams): {booked}."))
    blocks.append(
        note(
            "Greedy: the exam that closes the most shortfall first; recertifications and the next level in the same "
            "direction win ties; exams the others make unnecessary are dropped. Try a change first with ",
            Mono("/whisperer whatif"),
            ".",
        )
    )
    return reply(*blocks)


def unbound_warning(ctx: Context) -> list[Block]:
    """⚠ certificates that would count once bound (for renewal, Home and the digest); [] when there are none."""
    team = load_team(ctx.db, ctx.knowledge.certifications)
    groups = list(dict.fromkeys(r.group for r in requirements(ctx.knowledge)))
    found = unbound_holders(team, groups, ctx.local_now.date())
    if not found:
        return []
    who = "; ".join(f"{team.name(pid)} ({', '.join(names)})" for pid, names in found)
    return [
        para(
            Strong("⚠ Would count once bound: "),
            f"{who}. Their HUAWEI ID is not bound to the partner account, so Huawei does not count them.",
        ),
        note("Bind it in the partner console, then ", Mono("/whisperer person bind NAME"), "."),
    ]


def plan_line(ctx: Context) -> list[Block]:
    """The plan's first step as one paragraph (the digest, admins' Home); [] when nothing is needed."""
    line = plan_summary(ctx)
    if line is None:
        return []
    return [para(Strong("🎓 Next in the exam plan: "), f"{line}. ", Mono("/whisperer plan"))]
