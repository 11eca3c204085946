"""Modals: the full-diff pager, the forms that replace typed arguments, and reading a submitted form back.

A form never acts by itself: a valid submission becomes the /whisperer command it stands for, run by the
same handler (and the same permission checks) as the typed line. Field problems are shown on the field.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from bot.slack.render import to_blocks
from handlers.reply import Note, Para, Reply, plain_text
from handlers.watch.admin import MIN_EVERY, SOURCE_ID
from watchers.sources import TOPICS, parse_every

MAX_VIEW_BLOCKS = 100  # Slack's limit for a modal (and the Home tab)
MAX_TITLE = 24  # a modal's title, submit and close labels
MAX_ERROR = 150  # keep field errors short enough to read under the field
FORM_PREFIX = "form:"
DIFF_VIEW = "diff"

Values = Mapping[str, Mapping[str, Mapping[str, Any]]]  # view.state.values: block_id → action_id → element state


def _text(text: str, limit: int = MAX_TITLE) -> dict[str, Any]:
    return {"type": "plain_text", "text": text if len(text) <= limit else text[: limit - 1] + "…", "emoji": True}


def modal(
    title: str, blocks: list[dict[str, Any]], *, callback_id: str, submit: str = "", metadata: str = ""
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "title": _text(title),
        "close": _text("Close" if not submit else "Cancel"),
        "blocks": blocks[:MAX_VIEW_BLOCKS],
        "private_metadata": metadata,
    }
    if submit:
        view["submit"] = _text(submit)
    return view


def diff_view(reply: Reply, change_id: int) -> dict[str, Any]:
    """One page of a change's diff; its previous/next buttons turn the page with views.update."""
    return modal(f"Change #{change_id}", to_blocks(reply, "modal"), callback_id=DIFF_VIEW, metadata=str(change_id))


def result_view(title: str, reply: Reply) -> dict[str, Any]:
    """What a submitted form turns into: the command's answer, in the modal itself."""
    return modal(title, to_blocks(reply, "modal"), callback_id="done")


# ── form fields ──
def _input(
    block_id: str, label: str, element: dict[str, Any], *, optional: bool = False, hint: str = ""
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": _text(label, 2000),
        "element": {**element, "action_id": "value"},
        "optional": optional,
    }
    if hint:
        block["hint"] = _text(hint, 2000)
    return block


def _plain(initial: str = "", max_length: int = 200, placeholder: str = "") -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "max_length": max_length}
    if initial:
        element["initial_value"] = initial
    if placeholder:
        element["placeholder"] = _text(placeholder, 150)
    return element


def _date(initial: date | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "datepicker"}
    if initial is not None:
        element["initial_date"] = initial.isoformat()
    return element


def _select(options: tuple[str, ...], initial: str) -> dict[str, Any]:
    choices = [{"text": _text(o, 75), "value": o} for o in options]
    return {
        "type": "static_select",
        "options": choices,
        "initial_option": next(c for c in choices if c["value"] == initial),
    }


def value_of(values: Values, block_id: str) -> str:
    """The submitted value of a field, whatever its element type ('' when left empty)."""
    state = values.get(block_id, {}).get("value", {})
    for key in ("value", "selected_date", "selected_user"):
        if state.get(key):
            return str(state[key]).strip()
    option = state.get("selected_option")
    return str(option["value"]) if option else ""


# ── the forms ──
@dataclass(frozen=True)
class Form:
    title: str
    submit: str
    build: Callable[[str, Mapping[str, Any]], list[dict[str, Any]]]  # (user_id, metadata) → input blocks
    read: Callable[[Values, Mapping[str, Any], date], tuple[list[str], dict[str, str]]]  # → (command, errors)
    main_field: str  # where a problem the command itself reports is shown


def _cert_add_blocks(user_id: str, meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    person: dict[str, Any] = {"type": "users_select"}
    if user_id:
        person["initial_user"] = user_id
    return [
        _input("person", "Who", person),
        _input("certification", "Certification", _plain(placeholder="HCIE-Cloud Service Solutions Architect")),
        _input("passed", "Passed on", _date()),
        _input("expires", "Expires on", _date(), optional=True, hint="Left empty: passed + the level's validity."),
        _input("number", "Certificate number", _plain(max_length=64), optional=True),
    ]


def _cert_add_read(values: Values, meta: Mapping[str, Any], today: date) -> tuple[list[str], dict[str, str]]:
    person, name = value_of(values, "person"), value_of(values, "certification")
    passed, expires, number = value_of(values, "passed"), value_of(values, "expires"), value_of(values, "number")
    errors: dict[str, str] = {}
    if not name:
        errors["certification"] = "Which certification? e.g. HCIE-Cloud Service Solutions Architect."
    if passed and date.fromisoformat(passed) > today:
        errors["passed"] = f"That is in the future (today is {today}); give the date the exam was passed."
    if passed and expires and date.fromisoformat(expires) <= date.fromisoformat(passed):
        errors["expires"] = "A certification expires after it was passed."
    command = ["cert", "add", person, name, passed]
    command += [f"expires={expires}"] if expires else []
    command += [f"number={number}"] if number else []
    return command, errors


def _deadline_blocks(user_id: str, meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        _input("date", "Due on", _date()),
        _input("text", "What is due", _plain(placeholder="Submit the Q1 MDF application")),
    ]


def _deadline_read(values: Values, meta: Mapping[str, Any], today: date) -> tuple[list[str], dict[str, str]]:
    day, text = value_of(values, "date"), value_of(values, "text")
    errors: dict[str, str] = {}
    if day and date.fromisoformat(day) < today:
        errors["date"] = f"That date has passed (today is {today}); deadlines are about the future."
    if not text:
        errors["text"] = "Say what is due, e.g. Submit the Q1 MDF application."
    return ["deadline", "add", day, text], errors


def _source_blocks(user_id: str, meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        _input("id", "Source id", _plain(max_length=64, placeholder="hcpn-notices"), hint="a-z, 0-9, '.', '_', '-'"),
        _input("kind", "Kind", _select(("html", "feed"), "html")),
        _input("url", "URL", {"type": "url_text_input"}),
        _input("topic", "Topic", _select(TOPICS, "announcement")),
        _input("every", "Check every", _plain("30m", max_length=8), hint="e.g. 30m, 6h, 1d (5m at least)"),
    ]


def _source_read(values: Values, meta: Mapping[str, Any], today: date) -> tuple[list[str], dict[str, str]]:
    source_id, kind, url = value_of(values, "id"), value_of(values, "kind"), value_of(values, "url")
    topic, every = value_of(values, "topic"), value_of(values, "every") or "30m"
    errors: dict[str, str] = {}
    if not SOURCE_ID.match(source_id):
        errors["id"] = "Use lowercase letters, digits, '.', '_' or '-' (up to 64), e.g. hcpn-notices."
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        errors["url"] = "Write the full address, https:// included."
    try:
        if parse_every(every) < MIN_EVERY:
            errors["every"] = "That is too often for someone else's portal; use 5m or more."
    except ValueError:
        errors["every"] = "Write it like 30m, 6h or 1d."
    return ["source", "add", source_id, kind, url, topic, every], errors


def _renewed_blocks(user_id: str, meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Congratulations! When does it expire now?"}},
        _input("expires", "New expiry date", _date()),
        _input("number", "Certificate number", _plain(str(meta.get("number") or ""), max_length=64), optional=True),
    ]


def _renewed_read(values: Values, meta: Mapping[str, Any], today: date) -> tuple[list[str], dict[str, str]]:
    expires, number = value_of(values, "expires"), value_of(values, "number")
    errors: dict[str, str] = {}
    if expires and date.fromisoformat(expires) <= today:
        errors["expires"] = f"A renewed certification expires after today ({today})."
    return ["cert", "renewed", str(meta.get("cert", "")), expires, *([number] if number else [])], errors


def _mdf_blocks(user_id: str, meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        _input("name", "Activity", _plain(placeholder="Jakarta Cloud Summit")),
        _input("start", "Starts on", _date()),
        _input("end", "Ends on", _date(), optional=True, hint="Left empty: a one-day activity."),
        _input("amount", "Amount", _plain(max_length=20, placeholder="5000"), optional=True),
        _input("currency", "Currency", _plain(max_length=3, placeholder="USD"), optional=True),
    ]


def _mdf_read(values: Values, meta: Mapping[str, Any], today: date) -> tuple[list[str], dict[str, str]]:
    name, start, end = value_of(values, "name"), value_of(values, "start"), value_of(values, "end")
    amount, currency = value_of(values, "amount"), value_of(values, "currency").upper()
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Name the activity, e.g. Jakarta Cloud Summit."
    if start and date.fromisoformat(start) < today:
        errors["start"] = f"That date has passed (today is {today}); MDF is for an activity still to come."
    if start and end and date.fromisoformat(end) < date.fromisoformat(start):
        errors["end"] = "The end comes after the start."
    if currency and not amount:
        errors["amount"] = f"{currency} of how much? Give the amount."
    command = ["mdf", "add", name, start, *([end] if end else []), *([amount] if amount else [])]
    return command + ([currency] if currency else []), errors


def _leave_blocks(user_id: str, meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`person leave`: who and when; opened from a typed line, it shows what the departure breaks first."""
    blocks: list[dict[str, Any]] = []
    if meta.get("summary"):
        blocks.append({"type": "section", "text": {"type": "plain_text", "text": str(meta["summary"])[:2900]}})
    initial = date.fromisoformat(str(meta["date"])) if meta.get("date") else None
    blocks += [
        _input("person", "Who is leaving", _plain(str(meta.get("person") or ""), max_length=120)),
        _input("date", "Last day", _date(initial)),
        {
            "type": "context",
            "elements": [
                {
                    "type": "plain_text",
                    "text": "Their reminders stop and the channel hears what it breaks. Undo: /whisperer person return",
                }
            ],
        },
    ]
    return blocks


def _leave_read(values: Values, meta: Mapping[str, Any], today: date) -> tuple[list[str], dict[str, str]]:
    person, day = value_of(values, "person"), value_of(values, "date")
    errors: dict[str, str] = {}
    if not person:
        errors["person"] = "Who is leaving? Their name as /whisperer people lists it."
    if not day:
        errors["date"] = "Pick their last day."
    return ["person", "leave", person, day, "confirm"], errors


FORMS: dict[str, Form] = {
    "mdf-add": Form("Plan an MDF request", "Add", _mdf_blocks, _mdf_read, "name"),
    "cert-add": Form("Add a certification", "Add", _cert_add_blocks, _cert_add_read, "certification"),
    "deadline-add": Form("Add a deadline", "Add", _deadline_blocks, _deadline_read, "text"),
    "source-add": Form("Watch a source", "Watch it", _source_blocks, _source_read, "id"),
    "cert-renewed": Form("I've renewed", "Save", _renewed_blocks, _renewed_read, "expires"),
    "person-leave": Form("Record a departure", "Confirm departure", _leave_blocks, _leave_read, "person"),
}


def form_view(form: str, user_id: str, meta: Mapping[str, Any]) -> dict[str, Any]:
    """The modal of a form; `meta` travels in private_metadata (where the answer goes, what it is about)."""
    spec = FORMS[form]
    return modal(
        spec.title,
        spec.build(user_id, meta),
        callback_id=FORM_PREFIX + form,
        submit=spec.submit,
        metadata=json.dumps(dict(meta), separators=(",", ":")),
    )


def read_form(form: str, values: Values, metadata: str, today: date) -> tuple[str, dict[str, str]]:
    """A submitted form → (the /whisperer command text it stands for, field errors)."""
    meta = json.loads(metadata) if metadata else {}
    words, errors = FORMS[form].read(values, meta, today)
    return shlex.join(words), {block: _clip(message) for block, message in errors.items()}


def command_error(form: str, reply: Reply) -> dict[str, str]:
    """The command refused the submission: its first line, under the form's main field."""
    first = next((plain_text(b.parts) for b in reply.blocks if isinstance(b, (Para, Note))), "That did not work.")
    return {FORMS[form].main_field: _clip(re.sub(r"^⚠\s*", "", first))}


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"
