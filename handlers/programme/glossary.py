"""whatis TERM: Huawei Cloud products and programme words, by name, abbreviation, old name or Chinese name."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from handlers.programme.terms import Term, bundled
from handlers.registry import Context, UsageError, admin_refusal, command
from handlers.reply import Block, Heading, Inline, Mono, Reply, Strong, bullets, error, note, para, reply
from storage.db import transaction
from storage.programme import glossary as store

_PUNCT = re.compile(r"[\s\-_.()（）/,'’]+")


def fold(text: str) -> str:
    """ROMA Connect, roma-connect and ROMAConnect are one key; Chinese is kept as it is."""
    return _PUNCT.sub("", text.casefold())


def all_terms(ctx: Context) -> list[Term]:
    """Admins' terms first, then the configuration's, then the bundled glossary: the local word wins."""
    added = [Term(r["term"], r["meaning"], added_by=r["added_by"] or "an admin") for r in store.list_terms(ctx.db)]
    configured = [Term(term, meaning, added_by="whisperer.toml") for term, meaning in ctx.knowledge.glossary]
    return [*added, *configured, *bundled()]


@dataclass(frozen=True)
class Match:
    term: Term
    how: str  # "name" | "alias" | "formerly"
    spelled: str  # the name as the glossary writes it


def index(terms: list[Term]) -> dict[str, Match]:
    """Every folded name → how it matches; the first term wins (admins' over bundled)."""
    found: dict[str, Match] = {}
    for term in terms:
        for key, how in (
            (term.name, "name"),
            *((a, "alias") for a in term.aliases),
            *((f, "formerly") for f in term.formerly),
        ):
            found.setdefault(fold(key), Match(term, how, key))
    return found


def lookup(terms: list[Term], query: str) -> Match | None:
    keys = index(terms)
    q = fold(query)
    for candidate in (q, fold(re.sub(r"^(?:huawei\s*cloud|华为云)\s*", "", query, flags=re.I))):
        if candidate in keys:
            return keys[candidate]
    return None


def suggestions(terms: list[Term], query: str, n: int = 3) -> list[str]:
    keys = index(terms)
    q = fold(query)
    names: list[str] = []
    close = difflib.get_close_matches(q, list(keys), n=n * 2, cutoff=0.6)
    contained = [k for k in keys if len(q) >= 3 and (q in k or (len(k) >= 3 and k in q))]
    for key in [*close, *contained]:
        name = keys[key].term.name
        if name not in names:
            names.append(name)
    return names[:n]


def _answer(match: Match) -> Reply:
    term = match.term
    blocks: list[Block] = [Heading(term.name)]
    if match.how == "formerly":
        blocks.append(para(Strong(match.spelled), " is the old name of ", Strong(term.name), "."))
    blocks.append(para(term.meaning))
    facts: list[tuple[Inline, ...]] = []
    if term.aliases:
        facts.append(("Also called: ", "; ".join(term.aliases)))
    if term.formerly:
        facts.append(("Formerly: ", ", ".join(term.formerly)))
    if term.category:
        facts.append(("Category: ", term.category))
    if facts:
        blocks.append(bullets(*facts))
    if term.added_by:
        blocks.append(note(f"Added by {term.added_by}."))
    else:
        caveat = {
            "yes": "",
            "partial": " The name is checked; the meaning or rename is partly inferred.",
            "no": " Not verified: inferred from general knowledge; check before relying on it.",
        }.get(term.verified, "")
        rename = f" Rename: {term.rename}." if term.rename else ""
        blocks.append(note(f"Source: {term.source}.{rename}{caveat}"))
    return reply(*blocks)


@command(
    "whatis",
    "whatis TERM | whatis add TERM = MEANING | whatis remove TERM",
    "Huawei Cloud products and programme words, by abbreviation, old name or Chinese name; admins add terms.",
    "whatis ROMA",
    "whatis DevCloud",
    "whatis 对象存储服务",
    "whatis add PSM = Partner Solution Management, now Partner Build Management",
    group="partner",
    aliases=("what",),
)
def whatis_command(ctx: Context, args: list[str]) -> Reply:
    if not args:
        raise UsageError("What should I explain? e.g. /whisperer whatis MDF")
    if args[0].lower() in ("add", "remove") and len(args) > 1:
        return _edit(ctx, args[0].lower(), " ".join(args[1:]))
    query = " ".join(args).strip().rstrip("?")
    if args[0].lower() == "is" and len(args) > 1:  # "/whisperer what is ROMA?"
        query = " ".join(args[1:]).strip().rstrip("?")
    terms = all_terms(ctx)
    found = lookup(terms, query)
    if found:
        return _answer(found)
    close = suggestions(terms, query)
    return error(
        f"I don't know '{query}' yet.",
        *((f"Did you mean {' or '.join(repr(c) for c in close)}? ",) if close else ()),
        "Admins can teach me: ",
        Mono(f"/whisperer whatis add {query} = what it means"),
        ".",
    )


def _edit(ctx: Context, action: str, text: str) -> Reply:
    if not ctx.is_admin:
        return admin_refusal(f"{action} glossary terms")
    if action == "remove":
        term = text.strip()
        with transaction(ctx.db):
            removed = store.remove_term(ctx.db, term)
        if not removed:
            return error(f"'{term}' is not a term an admin added.", "Bundled terms cannot be removed, only overridden.")
        return reply(para(f"Forgot '{term}'."))
    term, sep, meaning = text.partition("=")
    term, meaning = term.strip(), meaning.strip()
    if not sep or not term or not meaning:
        raise UsageError("Write it as: whatis add TERM = MEANING")
    with transaction(ctx.db):
        new = store.add_term(ctx.db, term, meaning, ctx.user_id or "terminal", ctx.now)
    return reply(para(f"{'Learnt' if new else 'Updated'} ", Strong(term), f": {meaning}"))
