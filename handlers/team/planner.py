"""The exam plan: the fewest exams (who, which, by when) that keep every people requirement met through a date.

The rule, greedy and explained:
1. Binding first. An unbound person whose certificates would close a shortfall is bound (no exam needed).
2. Then, while some requirement falls short on some day up to the date, pick the exam that closes the most
   shortfall (summed over requirements, each at its worst day). Ties go to a recertification (the holder
   already knows the subject), then to someone holding a related certification (the next level in the
   same direction), then to whoever has fewer exams in the plan, then by name.
3. Drop any exam the others make unnecessary (last chosen first).
4. Each exam's deadline is the first day a requirement would fail without it.

Candidates are people who are bound and not leaving. An exam is assumed to count from the day it is passed
until after the date (every level is valid 3 years). `brute_force` finds the true minimum on small teams, to
measure the greedy rule against.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from datetime import date, timedelta

from handlers.team.teamstate import Held, Requirement, Span, Team

FAR = date(9999, 1, 1)


@dataclass(frozen=True)
class Exam:
    person_id: int
    certification: str  # the one to sit: the holder's own (recertify) or the group's first pattern
    groups: tuple[str, ...]  # the groups it counts for
    recert: bool = False
    by: date | None = None
    why: str = ""


@dataclass(frozen=True)
class Bind:
    person_id: int
    certifications: tuple[str, ...]
    why: str = ""


@dataclass(frozen=True)
class Plan:
    start: date
    until: date
    binds: tuple[Bind, ...]
    exams: tuple[Exam, ...]
    unmet: tuple[Requirement, ...]  # shortfalls nobody on the team can close (no candidates)
    assumed: tuple[Held, ...]  # booked exams the plan counts as passed


def representative(team: Team, group: str) -> str:
    """The certification an exam for the group is named after: its first pattern, without wildcards."""
    pattern = team.settings.patterns(group)[0]
    return pattern.replace("*", "").replace("?", "").rstrip("-_ ") or group


def _short(series: list[tuple[date, int]], req: Requirement) -> int:
    if req.min is None:
        return 0
    return max(0, max(req.min - count for _day, count in series))


def shortfalls(team: Team, reqs: list[Requirement], start: date, end: date) -> dict[str, int]:
    series = {g: team.series(g, start, end) for g in {r.group for r in reqs}}
    return {r.key: _short(series[r.group], r) for r in reqs}


def _with_exam(team: Team, exam: Exam, start: date) -> Team:
    out = team.copy()
    out.add(Held(None, exam.person_id, exam.certification, start, FAR, "plan"))
    return out


def _with_bind(team: Team, person_id: int) -> Team:
    out = team.copy()
    out.set_member(replace(out.members[person_id], bound=True))
    return out


def candidates(team: Team, groups: list[str], start: date, until: date) -> list[Exam]:
    """Every (person, group) exam worth considering: bound people who are not leaving, and a group they do
    not already hold throughout."""
    out: list[Exam] = []
    for group in groups:
        spans = team.spans(group)
        own: dict[int, str] = {}
        for h in team.in_group(group):
            if not h.assumed:
                own.setdefault(h.person_id, h.name)
        rep = representative(team, group)
        rep_groups = tuple(g for g in groups if team.settings.in_group(g, rep)) or (group,)
        for pid, member in team.members.items():
            if not member.bound or member.left_on is not None:
                continue
            if any(s <= start and until < e for s, e in spans.get(pid, ())):
                continue  # holds it throughout already
            if pid in own:
                name = own[pid]
                in_groups = tuple(g for g in groups if team.settings.in_group(g, name)) or (group,)
                out.append(Exam(pid, name, in_groups, recert=True))
            else:
                out.append(Exam(pid, rep, rep_groups))
    return out


def _worst(series: list[tuple[date, int]], req: Requirement, end: date) -> list[Span]:
    """The stretches where the requirement is at its worst shortfall."""
    if req.min is None:
        return []
    short = max(req.min - c for _d, c in series)
    out = []
    for i, (day, count) in enumerate(series):
        if req.min - count == short:
            last = series[i + 1][0] if i + 1 < len(series) else end + timedelta(days=1)
            out.append((day, last))
    return out


def _gain(
    worst: dict[str, list[Span]],
    spans: dict[str, dict[int, list[Span]]],
    exam: Exam,
    reqs: list[Requirement],
    short: dict[str, int],
) -> int:
    """How much shortfall the exam closes: one per short requirement of its groups, unless the person already
    counts on one of that requirement's worst days (then adding them changes nothing there)."""
    total = 0
    for req in reqs:
        if short[req.key] == 0 or req.group not in exam.groups:
            continue
        covered = spans[req.group].get(exam.person_id, ())
        if not covered or not any(s <= ws and we <= e for ws, we in worst[req.key] for s, e in covered):
            total += 1
    return total


def _tails(team: Team) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for h in team.held:
        if not h.assumed:
            out.setdefault(h.person_id, []).append(h.name.partition("-")[2].casefold())
    return out


def related(team: Team, exam: Exam, tails: dict[int, list[str]] | None = None) -> bool:
    """The person holds a certification in the same direction (after the level): HCIP-Cloud… for HCIE-Cloud…."""
    tail = exam.certification.partition("-")[2].casefold()
    mine = (tails if tails is not None else _tails(team)).get(exam.person_id, [])
    return bool(tail) and any(t.startswith(tail) for t in mine)


def make_plan(team: Team, reqs: list[Requirement], start: date, until: date) -> Plan:
    reqs = [r for r in reqs if r.min is not None]
    groups = list(dict.fromkeys(r.group for r in reqs))
    assumed = tuple(h for h in team.held if h.assumed)
    binds: list[Bind] = []
    short = shortfalls(team, reqs, start, until)
    # 1. binding: no exam needed
    for pid, member in sorted(team.members.items(), key=lambda m: m[1].name):
        if member.bound or not any(short.values()):
            continue
        trial = _with_bind(team, pid)
        after = shortfalls(trial, reqs, start, until)
        if sum(after.values()) < sum(short.values()):
            names = tuple(sorted({h.name for h in team.held if h.person_id == pid and not h.assumed}))
            closed = [r.label for r in reqs if after[r.key] < short[r.key]]
            binds.append(Bind(pid, names, f"their certificates then count for {', '.join(closed)}"))
            team, short = trial, after
    # 2. greedy exams
    bound = team
    tails = _tails(team)
    chosen: list[Exam] = []
    unmet: list[Requirement] = []
    options = candidates(team, groups, start, until)
    related_to = {id(e): int(related(team, e, tails)) for e in options}
    while any(short.values()):
        worst = {r.key: _worst(team.series(r.group, start, until), r, until) for r in reqs}
        spans = {g: team.spans(g) for g in groups}
        load = {e.person_id: 0 for e in chosen}
        for e in chosen:
            load[e.person_id] += 1
        best: tuple[tuple[int, int, int, int, str], Exam] | None = None
        for exam in options:
            gain = _gain(worst, spans, exam, reqs, short)
            if gain <= 0:
                continue
            name = team.name(exam.person_id)
            score = (gain, int(exam.recert), related_to[id(exam)], -load.get(exam.person_id, 0), name)
            if best is None or score[:4] > best[0][:4] or (score[:4] == best[0][:4] and name < best[0][4]):
                best = (score, exam)
        if best is None:
            unmet = [r for r in reqs if short[r.key] > 0]
            break
        chosen.append(best[1])
        taken = set(best[1].groups)  # the person now holds these groups: no second exam for them there
        options = [e for e in options if e.person_id != best[1].person_id or not taken & set(e.groups)]
        team = _with_exam(team, best[1], start)
        short = shortfalls(team, reqs, start, until)
    # 3. drop what the others make unnecessary
    base = team
    for exam in list(reversed(chosen)):
        without = _without(base, exam)
        if shortfalls(without, reqs, start, until) == shortfalls(base, reqs, start, until):
            chosen.remove(exam)
            base = without
    # 4. deadlines and reasons
    dated = _schedule(bound, chosen, reqs, start, until)
    return Plan(start, until, tuple(binds), tuple(dated), tuple(unmet), assumed)


def _first_failure(team: Team, reqs: list[Requirement], start: date, until: date) -> tuple[date, Requirement] | None:
    first: tuple[date, Requirement] | None = None
    for req in reqs:
        for day, count in team.series(req.group, start, until):
            if req.min is not None and count < req.min:
                if first is None or day < first[0]:
                    first = (day, req)
                break
    return first


def _schedule(team: Team, exams: list[Exam], reqs: list[Requirement], start: date, until: date) -> list[Exam]:
    """Each exam as late as it can be: walk forward to the first day the team falls short, place there the
    exam that helps that requirement on that day, repeat. With every exam placed nothing falls short, as
    with every exam taken today; the reason names what made that day short."""
    remaining = list(exams)
    placed: list[Exam] = []
    while remaining:
        found = _first_failure(team, reqs, start, until)
        if found is None:
            break  # the rest would only add slack
        day, req = found
        holding = team.holders(req.group, day)
        helps = [e for e in remaining if req.group in e.groups and e.person_id not in holding]
        if not helps:
            break
        exam = helps[0]
        remaining.remove(exam)
        short = team.series(req.group, day, day)[0][1]
        if day <= start:
            why = f"{req.label} is short today ({short} of {req.needed})"
        else:
            cause = _cause(team, req.group, day)
            why = f"covers {req.label.lower()} after {cause}" if cause else f"{req.label} would drop to {short}"
        placed.append(replace(exam, by=day, why=why))
        team = team.copy()
        team.add(Held(None, exam.person_id, exam.certification, day, FAR, "plan"))
    placed.sort(key=lambda e: (e.by or start, team.name(e.person_id)))
    return placed


def _without(team: Team, exam: Exam) -> Team:
    out = team.copy()
    for i, h in enumerate(out.held):
        if h.assumed == "plan" and h.person_id == exam.person_id and h.name == exam.certification:
            out.drop(i)
            break
    return out


def _cause(team: Team, group: str, day: date) -> str:
    """What makes the count drop on `day`: a lapse or a departure."""
    before = team.holders(group, day - timedelta(days=1))
    gone = sorted(before - team.holders(group, day), key=team.name)
    parts = []
    for pid in gone:
        member = team.members[pid]
        first = team.name(pid).split()[0]
        if member.left_on is not None and day >= member.left_on:
            parts.append(f"{first} leaves on {member.left_on}")
        else:
            lapsing = [h for h in team.in_group(group) if h.person_id == pid and h.expires == day]
            what = f"{first}'s {lapsing[0].name} lapse" if lapsing else f"{first}'s lapse"
            parts.append(f"{what} on {day}")
    return " and ".join(parts)


def brute_force(team: Team, reqs: list[Requirement], start: date, until: date, limit: int = 8) -> int | None:
    """The fewest exams that meet every requirement (bindings already applied), or None beyond `limit`."""
    reqs = [r for r in reqs if r.min is not None]
    groups = list(dict.fromkeys(r.group for r in reqs))
    options = candidates(team, groups, start, until)
    for k in range(0, min(limit, len(options)) + 1):
        for combo in itertools.combinations(options, k):
            trial = team
            for exam in combo:
                trial = _with_exam(trial, exam, start)
            if not any(shortfalls(trial, reqs, start, until).values()):
                return k
    return None
