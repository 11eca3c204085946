"""JSON documents as snapshots: one line per leaf (`data.partner.tier: Premier`), keys sorted, arrays of
records keyed by their `id`/`key`, so a reordered list is not a change. Pure."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from watchers.recording.diffing import clip

if TYPE_CHECKING:  # python-jsonpath is imported when a `select` is compiled, not with this module
    import jsonpath

# An array whose items are all objects carrying one of these fields (scalar, unique) is a set of records.
KEY_FIELDS = ("id", "key")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_LEAF = re.compile(r"^(?P<path>\S.*?): (?P<value>.*)$")


class JsonError(ValueError):
    """The body is not JSON, or `select` is not a JSONPath expression, or it matched nothing."""


@lru_cache(maxsize=256)
def compile_select(expression: str) -> jsonpath.JSONPath | jsonpath.CompoundJSONPath:
    """Compile a JSONPath (RFC 9535); JsonError names the position of a syntax error."""
    import jsonpath

    try:
        return jsonpath.compile(expression)
    except jsonpath.JSONPathError as exc:
        first = str(exc).splitlines()[0]
        raise JsonError(f"invalid JSONPath {expression!r} ({first})") from None


def load_json(text: str) -> Any:
    """Parse a JSON body; JsonError says where it breaks (line and column)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        near = exc.doc[max(0, exc.pos - 20) : exc.pos + 20].replace("\n", " ")
        raise JsonError(
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg} (near {near!r}); "
            "is the endpoint answering with an error page or a login page?"
        ) from None


def _record_key(items: list[Any]) -> str | None:
    """The field that identifies each record of an array, if there is one."""
    if not items or not all(isinstance(item, dict) for item in items):
        return None
    for name in KEY_FIELDS:
        values = [item.get(name) for item in items]
        scalars = all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in values)
        if scalars and len({str(v) for v in values}) == len(values):
            return name
    return None


def _member(path: str, name: str) -> str:
    step = name if _NAME.match(name) else json.dumps(name, ensure_ascii=False)
    if _NAME.match(name):
        return f"{path}.{step}" if path else step
    return f"{path}[{step}]"


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        plain = value.isprintable() and value == value.strip()
        return value if plain and value else json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False)


def _leaves(value: Any, path: str) -> Iterator[str]:
    where = path or "$"
    if isinstance(value, dict):
        if not value:
            yield f"{where}: {{}}"
        for name in sorted(value, key=str):
            yield from _leaves(value[name], _member(path, str(name)))
    elif isinstance(value, list):
        if not value:
            yield f"{where}: []"
        key = _record_key(value)
        if key is None:
            for index, item in enumerate(value):
                yield from _leaves(item, f"{path}[{index}]")
        else:
            for item in sorted(value, key=lambda item: _sort_key(item[key])):
                yield from _leaves(item, f"{path}[{key}={_scalar(item[key])}]")
    else:
        yield f"{where}: {_scalar(value)}"


def _sort_key(value: Any) -> tuple[int, float, str]:
    if isinstance(value, int | float):
        return (0, float(value), "")
    return (1, 0.0, str(value))


def _prefix(document: Any, parts: Sequence[Any]) -> str:
    """The flattened path of a JSONPath match, using record keys where the array has them."""
    path, node = "", document
    for part in parts:
        if isinstance(node, list) and isinstance(part, int):
            key = _record_key(node)
            item = node[part]
            path = f"{path}[{key}={_scalar(item[key])}]" if key else f"{path}[{part}]"
            node = item
        elif isinstance(node, dict):
            path = _member(path, str(part))
            node = node.get(part)
        else:  # JSONPath extensions (keys, lengths): keep the step as written
            path = f"{path}[{part}]"
    return path


def json_lines(text: str, select: str | None = None) -> list[str]:
    """The snapshot lines of a JSON body, optionally narrowed by a JSONPath `select`."""
    document = load_json(text)
    if not select:
        return list(_leaves(document, ""))
    path = compile_select(select)
    lines: list[str] = []
    matched = False
    for match in path.finditer(document):
        matched = True
        lines.extend(_leaves(match.obj, _prefix(document, match.parts)))
    if not matched:
        top = ", ".join(sorted(map(str, document))[:8]) if isinstance(document, dict) else type(document).__name__
        raise JsonError(
            f"select {select!r} matched nothing in the JSON (top-level keys: {top}); fix the source's select"
        )
    return lines


def _split(line: str) -> tuple[str, str] | None:
    match = _LEAF.match(line)
    return (match.group("path"), match.group("value")) if match else None


def summarise_leaves(added: Sequence[str], removed: Sequence[str], limit: int = 3) -> str:
    """ "data.partner.tier: Premier → Certified Plus; data.rebate.rate: 4% → 5%" — field by field."""
    before = dict(p for p in map(_split, removed) if p)
    after = dict(p for p in map(_split, added) if p)
    parts: list[str] = []
    for path, value in after.items():
        if path in before:
            parts.append(f"{path}: {clip(before[path], 40)} → {clip(value, 40)}")
        else:
            parts.append(f"{path}: {clip(value, 40)} (new)")
    parts.extend(f"{path}: {clip(value, 40)} (removed)" for path, value in before.items() if path not in after)
    if not parts:
        return "reordered"
    more = len(parts) - limit
    return "; ".join(parts[:limit]) + (f"; and {more} more field{'s' if more != 1 else ''}" if more > 0 else "")
