"""Regular expressions compiled at their first use, not at import: a process that never needs one never pays for
it (a poll of unchanged pages reads no facts, yet imports every fact reader)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import AnyStr


def lazy_pattern(pattern: AnyStr, flags: int = 0) -> Callable[[], re.Pattern[AnyStr]]:
    """A function returning `pattern` compiled: compiled on the first call, the same object on every later one."""
    return cache(lambda: re.compile(pattern, flags))
