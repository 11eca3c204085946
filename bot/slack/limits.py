"""Slack's documented Block Kit limits, checked: a pure function that lists every way a payload breaks them.

Slack answers `invalid_blocks` or `msg_blocks_too_long` for a message over a limit, and the alert is lost
to a retry loop; this checker lets tests (and the renderer's own guards) catch that before Slack does.
Numbers from Slack's Block Kit reference (blocks, block elements, composition objects, views).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# Per surface: how many blocks one message, modal or Home view may hold.
MAX_BLOCKS = {"message": 50, "modal": 100, "home": 100}
# Slack's total for the text in one message's blocks is undocumented; posts fail with msg_blocks_too_long
# somewhere past ~12,000 characters, well before 50 × 3000. We stay under this.
MAX_MESSAGE_TEXT = 12_000
MAX_FALLBACK_TEXT = 4_000  # the top-level `text`: Slack advises ≤ 4000 and truncates beyond 40,000

HEADER_TEXT = 150
SECTION_TEXT = 3_000
SECTION_FIELDS = 10
FIELD_TEXT = 2_000
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
TEXT_OBJECT = 3_000
BUTTON_TEXT = 75
ACTION_ID = 255
BLOCK_ID = 255
VALUE = 2_000
URL = 3_000
OPTION_TEXT = 75
OPTION_VALUE = 150
OPTIONS = 100
OVERFLOW_OPTIONS = 5
PLACEHOLDER = 150
LABEL = 2_000
HINT = 2_000
ALT_TEXT = 2_000
CONFIRM_TITLE = 100
CONFIRM_TEXT = 300
CONFIRM_BUTTON = 30
VIEW_TITLE = 24  # modal title, submit and close
CALLBACK_ID = 255
PRIVATE_METADATA = 3_000

BLOCK_TYPES = {"section", "header", "context", "divider", "actions", "input", "image", "rich_text", "file", "video"}
SURFACES = tuple(MAX_BLOCKS)


def _text_of(obj: Any) -> str:
    if isinstance(obj, Mapping):
        return str(obj.get("text") or "")
    return ""


def _too_long(where: str, what: str, value: Any, limit: int) -> list[str]:
    text = value if isinstance(value, str) else _text_of(value)
    if len(text) > limit:
        return [f"{where}: {what} is {len(text)} characters (limit {limit})"]
    return []


def _confirm(where: str, confirm: Any) -> list[str]:
    if not isinstance(confirm, Mapping):
        return []
    return [
        *_too_long(where, "confirm title", confirm.get("title"), CONFIRM_TITLE),
        *_too_long(where, "confirm text", confirm.get("text"), CONFIRM_TEXT),
        *_too_long(where, "confirm button", confirm.get("confirm"), CONFIRM_BUTTON),
        *_too_long(where, "deny button", confirm.get("deny"), CONFIRM_BUTTON),
    ]


def _options(where: str, options: Any, limit: int) -> list[str]:
    if not isinstance(options, Sequence):
        return []
    out = [f"{where}: {len(options)} options (limit {limit})"] if len(options) > limit else []
    for i, option in enumerate(options):
        if isinstance(option, Mapping):
            out += _too_long(f"{where} option {i}", "text", option.get("text"), OPTION_TEXT)
            out += _too_long(f"{where} option {i}", "value", str(option.get("value") or ""), OPTION_VALUE)
    return out


def check_element(element: Mapping[str, Any], where: str) -> list[str]:
    """One interactive or context element: buttons, selects, pickers, inputs, images, text objects."""
    kind = str(element.get("type") or "")
    where = f"{where} ({kind or 'untyped'})"
    out: list[str] = []
    if kind in ("mrkdwn", "plain_text"):
        return _too_long(where, "text", str(element.get("text") or ""), TEXT_OBJECT)
    if kind == "image":
        return [
            *_too_long(where, "alt_text", str(element.get("alt_text") or ""), ALT_TEXT),
            *_too_long(where, "image_url", str(element.get("image_url") or ""), URL),
        ]
    out += _too_long(where, "action_id", str(element.get("action_id") or ""), ACTION_ID)
    out += _too_long(where, "placeholder", element.get("placeholder"), PLACEHOLDER)
    out += _confirm(where, element.get("confirm"))
    if kind == "button":
        out += _too_long(where, "button text", element.get("text"), BUTTON_TEXT)
        out += _too_long(where, "value", str(element.get("value") or ""), VALUE)
        out += _too_long(where, "url", str(element.get("url") or ""), URL)
        if not _text_of(element.get("text")):
            out.append(f"{where}: a button needs text")
    elif kind == "overflow":
        out += _options(where, element.get("options"), OVERFLOW_OPTIONS)
    elif kind in ("static_select", "multi_static_select", "radio_buttons", "checkboxes"):
        out += _options(where, element.get("options"), OPTIONS if "select" in kind else 10)
        for group in element.get("option_groups") or ():
            out += _options(where, group.get("options"), OPTIONS)
    elif kind == "plain_text_input":
        initial = str(element.get("initial_value") or "")
        out += _too_long(where, "initial_value", initial, int(element.get("max_length") or TEXT_OBJECT))
    return out


def check_block(block: Mapping[str, Any], surface: str, where: str) -> list[str]:
    kind = str(block.get("type") or "")
    where = f"{where} ({kind or 'untyped'})"
    out: list[str] = []
    if kind not in BLOCK_TYPES:
        return [f"{where}: unknown block type {kind!r}"]
    out += _too_long(where, "block_id", str(block.get("block_id") or ""), BLOCK_ID)
    if kind == "header":
        text = block.get("text")
        if not isinstance(text, Mapping) or text.get("type") != "plain_text":
            out.append(f"{where}: a header's text must be plain_text")
        out += _too_long(where, "header text", text, HEADER_TEXT)
    elif kind == "section":
        text, fields = block.get("text"), block.get("fields") or []
        if not _text_of(text) and not fields:
            out.append(f"{where}: a section needs text or fields")
        out += _too_long(where, "section text", text, SECTION_TEXT)
        if len(fields) > SECTION_FIELDS:
            out.append(f"{where}: {len(fields)} fields (limit {SECTION_FIELDS})")
        for i, item in enumerate(fields):
            out += _too_long(f"{where} field {i}", "text", item, FIELD_TEXT)
        if isinstance(block.get("accessory"), Mapping):
            out += check_element(block["accessory"], f"{where} accessory")
    elif kind == "context":
        elements = block.get("elements") or []
        if not elements:
            out.append(f"{where}: a context block needs at least one element")
        if len(elements) > CONTEXT_ELEMENTS:
            out.append(f"{where}: {len(elements)} elements (limit {CONTEXT_ELEMENTS})")
        for i, element in enumerate(elements):
            out += check_element(element, f"{where} element {i}")
    elif kind == "actions":
        elements = block.get("elements") or []
        if not elements:
            out.append(f"{where}: an actions block needs at least one element")
        if len(elements) > ACTIONS_ELEMENTS:
            out.append(f"{where}: {len(elements)} elements (limit {ACTIONS_ELEMENTS})")
        ids = [e.get("action_id") for e in elements if e.get("action_id")]
        if len(ids) != len(set(ids)):
            out.append(f"{where}: two elements share an action_id")
        for i, element in enumerate(elements):
            out += check_element(element, f"{where} element {i}")
    elif kind == "input":
        if surface == "message":
            out.append(f"{where}: input blocks belong in modals and Home views, not messages")
        out += _too_long(where, "label", block.get("label"), LABEL)
        out += _too_long(where, "hint", block.get("hint"), HINT)
        if isinstance(block.get("element"), Mapping):
            out += check_element(block["element"], f"{where} element")
        else:
            out.append(f"{where}: an input block needs an element")
    elif kind == "image":
        out += check_element({**block, "type": "image"}, where)
    return out


def text_length(blocks: Iterable[Mapping[str, Any]]) -> int:
    """Characters of text across blocks (every text object, nested too): what msg_blocks_too_long counts."""
    total = 0
    stack: list[Any] = list(blocks)
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            if item.get("type") in ("mrkdwn", "plain_text") and isinstance(item.get("text"), str):
                total += len(item["text"])
                continue
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return total


def check_blocks(blocks: Sequence[Mapping[str, Any]], surface: str = "message") -> list[str]:
    """Every way `blocks` breaks Slack's limits on `surface` ("message", "modal" or "home"); [] if none."""
    if surface not in MAX_BLOCKS:
        raise ValueError(f"unknown surface {surface!r}; use one of {', '.join(SURFACES)}")
    out: list[str] = []
    if len(blocks) > MAX_BLOCKS[surface]:
        out.append(f"{surface}: {len(blocks)} blocks (limit {MAX_BLOCKS[surface]})")
    for i, block in enumerate(blocks):
        out += check_block(block, surface, f"block {i}")
    ids = [b.get("block_id") for b in blocks if b.get("block_id")]
    if len(ids) != len(set(ids)):
        out.append(f"{surface}: two blocks share a block_id")
    if surface == "message" and (size := text_length(blocks)) > MAX_MESSAGE_TEXT:
        out.append(f"message: {size} characters of block text (keep under {MAX_MESSAGE_TEXT})")
    return out


def check_message(message: Mapping[str, Any]) -> list[str]:
    """A chat.postMessage / chat.update / response_url payload: its blocks and its fallback text."""
    out = check_blocks(message.get("blocks") or [], "message")
    out += _too_long("message", "fallback text", str(message.get("text") or ""), MAX_FALLBACK_TEXT)
    if not message.get("text") and not message.get("blocks"):
        out.append("message: neither text nor blocks")
    return out


def check_view(view: Mapping[str, Any]) -> list[str]:
    """A views.open / views.update / views.push / views.publish view: its type, title and blocks."""
    kind = str(view.get("type") or "")
    if kind not in ("modal", "home"):
        return [f"view: unknown type {kind!r} (modal or home)"]
    out = check_blocks(view.get("blocks") or [], kind)
    out += _too_long("view", "callback_id", str(view.get("callback_id") or ""), CALLBACK_ID)
    out += _too_long("view", "private_metadata", str(view.get("private_metadata") or ""), PRIVATE_METADATA)
    if kind == "modal":
        if not _text_of(view.get("title")):
            out.append("modal: a modal needs a title")
        for name in ("title", "submit", "close"):
            out += _too_long("modal", name, view.get(name), VIEW_TITLE)
        if any(b.get("type") == "input" for b in view.get("blocks") or []) and not view.get("submit"):
            out.append("modal: a modal with input blocks needs a submit button")
    return out
