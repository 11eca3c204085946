"""Source text made inert: no terminal escapes, control characters or bidi overrides survive into what we show.

A page (or an HTTP reason phrase) can hold ESC sequences that recolour a terminal, rewrite its title or plant
an OSC-8 hyperlink, BEL, and the Unicode overrides that make text read differently from what it is
("Trojan Source"). `inert` removes them; newline and tab stay. The left-to-right / right-to-left *marks*
(U+200E, U+200F) stay too: they only nudge one neutral character and right-to-left text needs them.
"""

from __future__ import annotations

import re

# Whole escape sequences first, so an OSC-8 link leaves neither its ESC nor its URL behind; an unended
# string sequence stops at the end of its line.
_SEQUENCE = re.compile(
    r"""
      \x1b\[[0-?]*[ -/]*[@-~]?                 # CSI: colours, cursor moves, screen clears
    | \x1b\][^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?  # OSC: window titles, OSC-8 hyperlinks (ended by BEL or ST)
    | \x1b[PX^_][^\x1b\x9c\n]*(?:\x1b\\|\x9c)?     # DCS, SOS, PM, APC strings
    | \x1b[ -/]*[0-~]?                          # any other escape
    | \x9b[0-?]*[ -/]*[@-~]?                    # CSI as one C1 character
    | \x9d[^\x07\x1b\x9c\n]*(?:\x07|\x9c)?         # OSC as one C1 character
    """,
    re.VERBOSE,
)
# C0 controls but tab and newline, DEL, C1 controls, bidi embeddings/overrides (U+202A–E) and isolates (U+2066–9).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def inert(text: str) -> str:
    """The text without escape sequences, control characters (but newline and tab) and bidi overrides."""
    if not _CONTROL.search(text):  # the usual case: one scan, no copy
        return text
    return _CONTROL.sub("", _SEQUENCE.sub("", text))


def is_inert(text: str) -> bool:
    return _CONTROL.search(text) is None
