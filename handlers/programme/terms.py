"""The bundled glossary: Huawei Cloud products and programme words, as data (no subcommand).

Apart from `whatis` (handlers.programme.glossary) so the poll pass can gloss Chinese terms without importing it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Term:
    name: str
    meaning: str
    aliases: tuple[str, ...] = ()
    formerly: tuple[str, ...] = ()
    category: str = ""
    source: str = ""
    verified: str = "yes"
    rename: str = ""
    added_by: str | None = None  # set for terms from the configuration or an admin


@cache
def bundled() -> tuple[Term, ...]:
    data = json.loads(resources.files("handlers").joinpath("data/glossary.json").read_text(encoding="utf-8"))
    return tuple(
        Term(
            name=t["name"],
            meaning=t["meaning"],
            aliases=tuple(t.get("aliases", ())),
            formerly=tuple(t.get("formerly", ())),
            category=t.get("category", ""),
            source=t.get("source", ""),
            verified=t.get("verified", "yes"),
            rename=t.get("rename", ""),
        )
        for t in data["terms"]
    )
