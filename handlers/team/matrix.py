"""certs matrix (people × certification groups) and coverage (single points of failure)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date

from handlers.registry import Context, UsageError, command
from handlers.reply import Block, Code, Heading, Mono, Reply, Strong, bullets, note, para, reply
from handlers.team.plan_view import horizon_of
from handlers.team.teamstate import Team, load_team, requirements

# One character wide each, so the table lines up in a monospace block (emoji are two wide).
HOLDS, EXPIRING, UNBOUND, LEAVING, NONE = "✓", "!", "?", "x", "·"
LEGEND = (
    f"{HOLDS} counts · {EXPIRING} expires before {{until}} · {UNBOUND} unbound: would count once bound · "
    f"{LEAVING} leaving · {NONE} none"
)


@dataclass(frozen=True)
class Cell:
    mark: str
    expires: date | None = None


def groups_of(ctx: Context) -> list[str]:
    """The groups a requirement names first (in order), then the rest."""
    named = [r.group for r in requirements(ctx.knowledge)]
    return list(dict.fromkeys([*named, *(g for g, _ in ctx.knowledge.certifications.groups)]))


def cell(team: Team, person_id: int, group: str, today: date, until: date) -> Cell:
    held = [h for h in team.in_group(group) if h.person_id == person_id and h.start <= today < h.expires]
    if not held:
        return Cell(NONE)
    latest = max(h.expires for h in held)
    member = team.members[person_id]
    if not member.bound:
        return Cell(UNBOUND, latest)
    if member.left_on is not None:
        return Cell(LEAVING, latest)
    return Cell(EXPIRING if latest <= until else HOLDS, latest)


def matrix(ctx: Context) -> tuple[list[str], list[tuple[str, list[Cell]]], date]:
    team = load_team(ctx.db, ctx.knowledge.certifications)
    today, until = ctx.local_now.date(), horizon_of(ctx)
    groups = groups_of(ctx)
    rows = [
        (m.name, [cell(team, pid, g, today, until) for g in groups])
        for pid, m in sorted(team.members.items(), key=lambda item: item[1].name.casefold())
    ]
    return groups, [r for r in rows if any(c.mark != NONE for c in r[1])], until


def matrix_csv(groups: list[str], rows: list[tuple[str, list[Cell]]]) -> str:
    """One row per person, one column per group: counts, expiring, unbound, leaving or empty (with expiry)."""
    words = {HOLDS: "counts", EXPIRING: "expiring", UNBOUND: "unbound", LEAVING: "leaving", NONE: ""}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["person", *groups])
    for name, cells in rows:
        writer.writerow(
            [name, *(f"{words[c.mark]} (expires {c.expires})" if c.expires else words[c.mark] for c in cells)]
        )
    return out.getvalue()


def matrix_table(groups: list[str], rows: list[tuple[str, list[Cell]]]) -> str:
    width = max([len("person"), *(len(name) for name, _ in rows)])
    heads = [g.replace("_", " ") for g in groups]
    lines = [" ".join(["person".ljust(width), *(h.ljust(max(len(h), 2)) for h in heads)])]
    for name, cells in rows:
        marks = (c.mark.ljust(max(len(h), 2)) for c, h in zip(cells, heads, strict=True))
        lines.append(" ".join([name.ljust(width), *marks]).rstrip())
    return "\n".join(lines)


def matrix_reply(ctx: Context, args: list[str]) -> Reply:
    if args and [a.lower() for a in args] != ["csv"]:
        raise UsageError("certs matrix takes only csv: certs matrix csv.", "certs matrix [csv]")
    groups, rows, until = matrix(ctx)
    if not rows:
        return reply(Heading("Certification matrix"), para("Nobody holds a certification of any group yet."))
    if args:
        return reply(Heading("Certification matrix (CSV)"), Code(matrix_csv(groups, rows)))
    return reply(
        Heading(f"Certification matrix: {len(rows)} people × {len(groups)} group{'s' if len(groups) != 1 else ''}"),
        Code(matrix_table(groups, rows)),
        note(LEGEND.format(until=until), ". CSV: ", Mono("/whisperer certs matrix csv"), "."),
    )


@command(
    "coverage",
    "coverage",
    "Single points of failure: requirements that only one person (or exactly the minimum) keeps met.",
    "coverage",
    group="people",
)
def coverage_command(ctx: Context, args: list[str]) -> Reply:
    if args:
        raise UsageError("coverage takes no arguments.")
    team = load_team(ctx.db, ctx.knowledge.certifications)
    today = ctx.local_now.date()
    reqs = [r for r in requirements(ctx.knowledge) if r.min is not None]
    if not reqs:
        return reply(
            Heading("Coverage"),
            para("No requirement counts certified people: add a KPI with certified = …, or [[competencies]]."),
        )
    spof: list[tuple[Strong | str, ...]] = []
    thin: list[tuple[Strong | str, ...]] = []
    short: list[tuple[Strong | str, ...]] = []
    describe = ctx.knowledge.certifications.describe
    seen: set[tuple[str, int]] = set()
    for req in reqs:
        holders = sorted(team.name(p) for p in team.holders(req.group, today))
        assert req.min is not None
        label = f"{req.kind} {req.label} (needs {req.needed})"
        if len(holders) < req.min:
            short.append(
                (Strong(label), f": short already — {len(holders)} hold it ({', '.join(holders) or 'nobody'}).")
            )
        elif len(holders) == 1:
            key = (req.group, 1)
            text = f"only {holders[0]} holds a {describe(req.group)} certificate"
            spof.append((Strong(text), f" — {label}" + (" (and more)" if key in seen else "") + "."))
            seen.add(key)
        elif len(holders) == req.min:
            thin.append(
                (Strong(label), f": exactly {req.min} — {', '.join(holders)}; losing any one of them breaks it.")
            )
    blocks: list[Block] = [Heading("Coverage: single points of failure")]
    if spof:
        blocks += [para(Strong(f"{len(spof)} single point{'s' if len(spof) != 1 else ''} of failure:")), bullets(*spof)]
    if thin:
        blocks += [para(Strong("No slack (every holder needed):")), bullets(*thin)]
    if short:
        blocks += [para(Strong("Already short:")), bullets(*short)]
    if not (spof or thin or short):
        blocks.append(para(f"No single point of failure: every one of {len(reqs)} requirements has a spare holder."))
    blocks.append(
        note(
            "Fix one with ",
            Mono("/whisperer plan"),
            "; test a departure with ",
            Mono("/whisperer whatif leave NAME"),
            ".",
        )
    )
    return reply(*blocks)
