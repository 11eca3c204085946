"""A reply model as JSON and back: for messages composed when queued (the weekly digest), sent later."""

from __future__ import annotations

import dataclasses
from typing import Any

from handlers import reply as model

# Only the reply model's own dataclasses can come back out of a payload.
_TYPES: dict[str, type[Any]] = {
    name: value for name, value in vars(model).items() if isinstance(value, type) and dataclasses.is_dataclass(value)
}


def encode(value: Any) -> Any:
    """Reply, blocks and inlines → JSON-ready lists and dicts (each dataclass tagged with its name)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"_": type(value).__name__, **fields}
    if isinstance(value, tuple | list):
        return [encode(item) for item in value]
    return value


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(decode(item) for item in value)
    if isinstance(value, dict) and "_" in value:
        kind = _TYPES.get(str(value["_"]))
        if kind is None:
            raise ValueError(f"unknown reply part {value['_']!r}")
        return kind(**{k: decode(v) for k, v in value.items() if k != "_"})
    return value


def decode_reply(value: Any) -> model.Reply:
    reply = decode(value)
    if not isinstance(reply, model.Reply):
        raise ValueError("not a stored reply")
    return reply
