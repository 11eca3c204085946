"""whatif: what a departure, a pass or a lapse would change — every people requirement, before → after, the
day it flips, what that means, and the exams that would fix it. Read-only: nothing is stored."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta

from handlers.registry import Context, UsageError, command, record_id
from handlers.reply import Block, Heading, Inline, Mono, Reply, Strong, bullets, error, note, para, reply
from handlers.settings import level_of
from handlers.team.certificates import add_years, first_name
from handlers.team.certs import find_person_loose
from handlers.team.plan_view import horizon_of, plan_items
from handlers.team.planner import make_plan
from handlers.team.teamstate import Held, Requirement, Standing, Team, load_team, requirements, standing
from storage.team import certifications as certs
from watchers.facts.dates import parse_day

USAGE = "whatif leave PERSON [DATE] | whatif pass PERSON CERT [DATE] | whatif lapse CERT_ID  (join several with ,)"


class ScenarioError(Exception):
    """A clause that names nobody, no certification, or no date: the message says which and how to fix it."""


@dataclass(frozen=True)
class Change:
    text: str  # "Ana Lima leaves on 2027-01-15"


def clauses(args: list[str]) -> list[list[str]]:
    """`leave Ana, pass Budi HCIE-Cloud 2027-03-01` → [["leave", "Ana"], ["pass", "Budi", "HCIE-Cloud", …]]."""
    out: list[list[str]] = [[]]
    for arg in args:
        parts = arg.split(",")
        for i, part in enumerate(parts):
            if i:
                out.append([])
            if part.strip():
                out[-1].append(part.strip())
    return [c for c in out if c]


def _date(text: str, today: date) -> date:
    if text.lower() == "today":
        return today
    found = parse_day(text)
    if found is None:
        raise ScenarioError(f"'{text}' is not a date; write it as YYYY-MM-DD, e.g. {today + timedelta(days=30)}")
    return found


def _maybe_date(words: list[str], today: date) -> tuple[list[str], date]:
    if len(words) > 1 and re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", words[-1]):
        return words[:-1], _date(words[-1], today)
    if len(words) > 1 and (words[-1].lower() == "today" or parse_day(words[-1]) is not None):
        return words[:-1], _date(words[-1], today)
    return words, today


def apply_scenario(ctx: Context, team: Team, args: list[str]) -> list[Change]:
    """Change `team` (a copy) as the clauses say; the changes, described."""
    today = ctx.local_now.date()
    done: list[Change] = []
    parts = clauses(args)
    if not parts:
        raise ScenarioError("Say what to imagine: leave PERSON [DATE], pass PERSON CERT [DATE] or lapse CERT_ID.")
    for words in parts:
        verb, rest = words[0].lower(), words[1:]
        if verb == "leave":
            who, day = _maybe_date(rest, today)
            pid = _person(ctx, " ".join(who), "leave")
            team.set_member(replace(team.members[pid], left_on=day))
            done.append(Change(f"{team.name(pid)} leaves on {day}"))
        elif verb == "pass":
            body, day = _maybe_date(rest, today)
            if len(body) < 2:
                raise ScenarioError("pass needs a person and a certification, e.g. pass Budi HCIE-Cloud 2027-03-01.")
            pid = _person(ctx, body[0], "pass")
            name = " ".join(body[1:])
            years = ctx.knowledge.certifications.years_for(level_of(name))
            team.add(Held(None, pid, name, day, add_years(day, years), "what if"))
            bound = "" if team.members[pid].bound else " (unbound: it would count once bound)"
            done.append(Change(f"{team.name(pid)} passes {name} on {day}{bound}"))
        elif verb == "lapse":
            cert_id = record_id(rest[0]) if len(rest) == 1 else None
            row = certs.get_certification(ctx.db, cert_id) if cert_id else None
            if row is None:
                raise ScenarioError(
                    f"lapse needs a certification number as /whisperer certs shows it (e.g. #7); "
                    f"{' '.join(rest) or 'nothing'} is not one."
                )
            for i, h in enumerate(team.held):
                if h.cert_id == cert_id:
                    team.drop(i)
                    team.add(replace(h, expires=min(h.expires, today)))
                    break
            done.append(Change(f"{row['person']}'s {row['name']} (#{cert_id}) lapses today"))
        else:
            raise ScenarioError(f"'{words[0]}' is not something I can imagine; use leave, pass or lapse.")
    return done


def _person(ctx: Context, who: str, verb: str) -> int:
    found = find_person_loose(ctx.db, who) if who else None
    if found is None:
        raise ScenarioError(
            f"I know nobody called '{who}' ({verb}); name them as /whisperer people lists them, "
            'in quotes if the name has spaces ("Budi Santoso").'
        )
    return int(found["id"])


@dataclass(frozen=True)
class Effect:
    req: Requirement
    before: Standing
    after: Standing


def effects(before: Team, after: Team, reqs: list[Requirement], start: date, end: date) -> list[Effect]:
    out = []
    for req in reqs:
        b, a = standing(before, req, start, end), standing(after, req, start, end)
        if b.steps != a.steps:
            out.append(Effect(req, b, a))
    return out


def _state(s: Standing, limit: int = 4) -> str:
    parts = [f"{s.count} now"] + [f"{c} from {d}" for d, c in s.steps[1:limit]]
    more = ", …" if len(s.steps) > limit else ""
    return ", ".join(parts) + more + (", met throughout" if s.fails_on is None else "")


def flip_day(e: Effect) -> date | None:
    """The first day the change makes the requirement fail where it would not have (or fail worse)."""
    for day, count in e.after.steps:
        if not e.req.passes(count) and count != e.before.count_on(day):
            return day
    return None


def effect_line(e: Effect, today: date, renewal: date | None) -> tuple[Inline, ...]:
    a = e.after
    flips = flip_day(e)
    if flips is not None:
        mark, flip = "❌", f" — flips on {flips}" + (" (today)" if flips == today else "")
        meaning = e.req.consequence
        back = next((d for d, c in a.steps if d > flips and e.req.passes(c)), None)
        if back is not None:
            meaning += f" (short until {back})"
        tail = f": {meaning}" if meaning else ""
    elif e.before.fails_on is not None and a.fails_on is None:
        mark, flip, tail = "✅", " — fixed", f" (was short from {e.before.fails_on})"
    else:
        mark, flip, tail = "➖", "", ""
    return (
        f"{mark} ",
        Strong(f"{e.req.kind} {e.req.label}"),
        f" (needs {e.req.needed}): before {_state(e.before)} → after {_state(a)}{flip}{tail}.",
    )


def consequences(ctx: Context, before: Team, after: Team) -> tuple[list[Block], list[Effect]]:
    """The blocks that say what changes and the exams that would fix it (shared by whatif and person leave)."""
    today = ctx.local_now.date()
    renewal = ctx.knowledge.renewal.date
    end = horizon_of(ctx)
    reqs = requirements(ctx.knowledge)
    found = effects(before, after, reqs, today, end)
    blocks: list[Block] = []
    if not reqs:
        blocks.append(
            para("No requirement counts certified people: add a KPI with certified = …, [[competencies]] or a rebate.")
        )
        return blocks, found
    if not found:
        blocks.append(para(f"Nothing changes: all {len(reqs)} people requirements stay as they are through {end}."))
        return blocks, found
    blocks.append(bullets(*(effect_line(e, today, renewal) for e in found)))
    broken = [e for e in found if flip_day(e) is not None]
    if broken:
        plan = make_plan(after.copy(), reqs, today, end)
        items = plan_items(after, plan)
        if items:
            blocks.append(para(Strong("The fix"), f" (fewest exams through {end}):"))
            blocks.append(bullets(*items))
    unchanged = len(reqs) - len(found)
    if unchanged:
        blocks.append(note(f"{unchanged} other requirement{'s' if unchanged != 1 else ''} unchanged through {end}."))
    return blocks, found


@command(
    "whatif",
    USAGE,
    "What a departure, a pass or a lapse would change: every KPI, competency and rebate criterion, before → "
    "after, the day it flips, and the fix. Nothing is stored.",
    "whatif leave Ana",
    "whatif leave Ana 2027-01-15, pass Budi HCIE-Cloud 2027-03-01",
    "whatif lapse 7",
    group="people",
    aliases=("what-if",),
)
def whatif_command(ctx: Context, args: list[str]) -> Reply:
    before = load_team(ctx.db, ctx.knowledge.certifications)
    after = before.copy()
    try:
        changes = apply_scenario(ctx, after, args)
    except ScenarioError as exc:
        if not args:
            raise UsageError(str(exc)) from None
        return error(str(exc), "Usage: ", Mono(f"/whisperer {USAGE}"))
    blocks, _found = consequences(ctx, before, after)
    return reply(
        Heading("What if " + "; ".join(c.text for c in changes) + "?"),
        *blocks,
        note(
            "Read-only: nothing was stored. Metric KPIs (growth, escalations) do not depend on people. ",
            "To record a departure: ",
            Mono("/whisperer person leave NAME DATE"),
            ".",
        ),
    )


def who_first(team: Team, person_id: int) -> str:
    return first_name(team.name(person_id))
