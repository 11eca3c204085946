"""The config validator: typed getters that name the file and key, `${VAR}` expansion, and the error they raise.

Every section parser (bot/config/loading.py, sources.py, knowledge.py) reads its table through `Table`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from datetime import date
from typing import Any, TypeVar

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
T = TypeVar("T")


class ConfigError(Exception):
    """A configuration problem: where it is, what is wrong, how to fix it."""

    def __init__(self, where: str, problem: str, fix: str = "") -> None:
        self.where, self.problem, self.fix = where, problem, fix
        super().__init__(f"{where}: {problem}" + (f"; {fix}" if fix else ""))


class MissingConfig(ConfigError):
    pass


class Table:
    """A TOML table being read: typed getters that name the key, and a check for leftovers."""

    def __init__(self, file: str, where: str, data: Any) -> None:
        self.file, self.where = file, where
        if not isinstance(data, dict):
            fix = (
                "write each source as [[sources]]"
                if where.startswith("sources")
                else f"write it as a [{where}] section"
            )
            raise ConfigError(f"{file}: {where}", f"expected a table, found {type(data).__name__}", fix)
        self.data: dict[str, Any] = data
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.file}: {self.where}.{name}" if self.where else f"{self.file}: {name}"

    def get(self, name: str, kind: type[T], default: T, fix: str = "") -> T:
        self.used.add(name)
        if name not in self.data:
            return default
        value = self.data[name]
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            raise ConfigError(
                self.key(name),
                f"expected {type_word(kind)}, found {type_word(type(value))} {value!r}",
                fix or f"write {name} as {type_word(kind)}",
            )
        return value  # type: ignore[no-any-return]

    def need(self, name: str, kind: type[T], fix: str) -> T:
        if name not in self.data:
            raise ConfigError(self.key(name), "is required", fix)
        value: T = self.data[name]
        return self.get(name, kind, value, fix)

    def strings(self, name: str) -> tuple[str, ...]:
        example = f"e.g. {name} = ['Last refreshed .*']"
        values = self.get(name, list, [], f"write {name} as a list of quoted strings, {example}")
        for value in values:
            if not isinstance(value, str):
                raise ConfigError(
                    self.key(name), f"expected a list of strings, found {value!r}", f"quote each item, {example}"
                )
        return tuple(values)

    def done(self) -> None:
        for name in self.data:
            if name not in self.used:
                close = difflib.get_close_matches(name, sorted(self.used), n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(sorted(self.used))}"
                raise ConfigError(self.key(name), "unknown key", hint)


def type_word(kind: type[Any]) -> str:
    return {
        str: "a string",
        int: "a whole number",
        float: "a number",
        bool: "true or false",
        list: "a list",
        dict: "a table",
        date: "a date (2027-03-31, unquoted)",
    }.get(kind, kind.__name__)


def expand(value: str, where: str, env: Mapping[str, str]) -> str:
    if "${" not in value:  # most values: no variable to look up
        return value

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise ConfigError(
                where,
                f"${{{name}}} is not set in the environment",
                f"set {name} in the environment or in .env (see .env.example)",
            )
        return env[name]

    return _VAR.sub(replace, value)
