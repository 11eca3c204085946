"""The opportunity ledger's rules, pure: states and the steps between them, amounts, and each deal's clocks.

Every number comes from [deals] (handlers/settings.py `DealSettings`, defaults citing the Partner Center guide's
Partner Customer Engagement pages) and every working day from [calendar]: Huawei's response times count to the
later date of the two calendars, the partner's own duties to the earlier one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from handlers.settings import DealRegSettings, DealSettings
from handlers.workdays import Calendars

ORIGINS = {"partner": "Partner-originated", "huawei": "Huawei-originated", "prereg": "Customer pre-registration"}

# verb → the state it leads to; the states each verb may start from. "reject" is what Huawei did; "decline" is
# the partner turning down a Huawei-originated opportunity.
STEPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "submit": ("submitted", ("draft", "rejected", "preregistered")),
    "validate": ("validated", ("submitted",)),
    "accept": ("validated", ("offered",)),
    "reject": ("rejected", ("submitted",)),
    "decline": ("rejected", ("offered",)),
    "won": ("won", ("validated",)),
    "lost": ("lost", ("draft", "submitted", "validated", "offered")),
    "expire": ("expired", ("preregistered", "validated", "draft")),
}
STATES = ("draft", "preregistered", "offered", "submitted", "validated", "rejected", "won", "lost", "expired")
CLOSED = ("won", "lost", "expired", "rejected")
STEP_LABELS = {
    "submit": "Submitted",
    "validate": "Validated by Huawei",
    "accept": "Accepted",
    "reject": "Rejected by Huawei",
    "decline": "Declined",
    "won": "Won",
    "lost": "Lost",
    "expire": "Expired",
}

CURRENCIES = [
    "USD",
    "CNY",
    "RMB",
    "IDR",
    "SAR",
    "BRL",
    "EUR",
    "GBP",
    "MYR",
    "THB",
    "SGD",
    "PHP",
    "MXN",
    "CLP",
    "TRY",
    "ZAR",
    "AED",
    "HKD",
    "JPY",
    "KRW",
    "VND",
    "INR",
    "EGP",
    "NGN",
    "KES",
]
_AMOUNT = re.compile(r"^(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?([kKmM]|万)?$")
_SCALE = {"k": 1e3, "m": 1e6, "万": 1e4}


class DealError(ValueError):
    """Arguments that cannot make a deal: the message names the problem and the fix."""


def parse_amount(text: str) -> float | None:
    """120000, 120,000, 120k, 1.2M, 5万 → a number; None when the text is not an amount."""
    m = _AMOUNT.match(text.strip())
    if not m:
        return None
    whole = m.group(1).replace(",", "")
    value = float(f"{whole}.{m.group(2)}" if m.group(2) else whole)
    return value * _SCALE.get((m.group(3) or "").lower(), 1.0)


def split_money(words: list[str]) -> tuple[list[str], float | None, str | None]:
    """Take a trailing `VALUE [CURRENCY]` or `CURRENCY VALUE` off the words; a currency alone is an error."""
    rest = list(words)
    value: float | None = None
    currency: str | None = None
    if rest and rest[-1].upper() in CURRENCIES and rest[-1].isupper():
        currency = rest.pop().upper()
        if rest and (amount := parse_amount(rest[-1])) is not None:
            rest.pop()
            value = amount
        else:
            raise DealError(f"{currency} needs an amount before it: write e.g. 120000 {currency} (or 120k {currency}).")
    elif rest and (amount := parse_amount(rest[-1])) is not None:
        rest.pop()
        value = amount
        if rest and rest[-1].upper() in CURRENCIES and rest[-1].isupper():
            currency = rest.pop().upper()
    if value is not None and value <= 0:
        raise DealError("A deal's value must be more than zero.")
    return rest, value, currency


def show_money(value: float | None, currency: str | None) -> str:
    if value is None:
        return ""
    number = f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"
    return f"{currency} {number}" if currency else number


def next_steps(state: str) -> list[str]:
    """The verbs a deal in `state` can take, in the order they are offered."""
    return [verb for verb, (_, starts) in STEPS.items() if state in starts]


def step_problem(deal: dict[str, Any], verb: str) -> str | None:
    """Why `verb` cannot be applied to this deal now (None when it can)."""
    state = str(deal["state"])
    if verb not in STEPS:
        return f"'{verb}' is not a step of a deal."
    target, starts = STEPS[verb]
    if state in starts:
        return None
    possible = next_steps(state)
    offered = ", ".join(possible) if possible else "nothing more: it is closed"
    return f"Deal #{deal['id']} is {state}; it can't become {target} from there. From {state} it can: {offered}."


@dataclass(frozen=True)
class Clock:
    """One of a deal's deadlines: what must happen by `due`, counted how, and when to start warning."""

    kind: str  # "register", "validation", "accept", "prereg"
    due: date
    what: str  # "Huawei validates by", …
    basis: str  # "10 working days, China (CN) calendar", "15 days"
    warn_from: date | None = None
    at: datetime | None = None  # deadlines with a time of day (registration before the RFP)
    provisional: bool = False


def local_day(text: str, tz: tzinfo) -> date:
    return datetime.fromisoformat(text).astimezone(tz).date()


def deal_clocks(
    deal: dict[str, Any], rules: DealSettings, dealreg: DealRegSettings, calendars: Calendars, tz: tzinfo
) -> list[Clock]:
    """The deadlines a deal in its current state runs against; none once it is closed or validated."""
    state = str(deal["state"])
    began = local_day(str(deal["state_at"]), tz)
    clocks: list[Clock] = []
    if state == "draft" and deal.get("rfp"):
        rfp = datetime.fromisoformat(str(deal["rfp"])).astimezone(tz)
        by = rfp - timedelta(hours=dealreg.hours_before)
        basis = f"{dealreg.hours_before} hours before the RFP ([dealreg] hours_before)"
        clocks.append(Clock("register", by.date(), "Register (submit) by", basis, at=by))
    elif state == "submitted":
        due = calendars.due(began, rules.validation_days, "working", "huawei")
        warn = calendars.due(due.day, -rules.validation_warn_days, "working", "partner").day
        basis = f"{rules.validation_days} {due.basis}"
        clocks.append(
            Clock("validation", due.day, "Huawei validates by", basis, warn_from=warn, provisional=due.provisional)
        )
    elif state == "offered":
        due = calendars.due(began, rules.accept_days, "working", "partner")
        basis = f"{rules.accept_days} {due.basis}"
        clocks.append(Clock("accept", due.day, "Accept by", basis, warn_from=began, provisional=due.provisional))
    elif state == "preregistered":
        lapse = began + timedelta(days=rules.prereg_days)
        warn = lapse - timedelta(days=rules.prereg_remind_days)
        clocks.append(Clock("prereg", lapse, "Exclusive until", f"{rules.prereg_days} calendar days", warn_from=warn))
    return clocks


def consequence(clock: Clock) -> str:
    """What happens when a clock runs out."""
    return {
        "register": "too late to register before the RFP",
        "validation": "rejected by default if Huawei has not validated it",
        "accept": "rejected if not accepted",
        "prereg": "the pre-registration lapses and the customer is open to others",
    }[clock.kind]


def clock_title(clock: Clock, deal: dict[str, Any]) -> str:
    """The deadline as `deadlines` lists it."""
    name = f"#{deal['id']} {deal['customer']}"
    return {
        "register": f"Register deal {name} before its RFP",
        "validation": f"Huawei validates deal {name}, or it is rejected by default",
        "accept": f"Accept Huawei's opportunity {name}, or it is rejected",
        "prereg": f"Pre-registration {name} lapses",
    }[clock.kind]


def conflict_rule(rules: DealSettings) -> str:
    return (
        "between two partner-originated opportunities the first validated wins; against a Huawei-originated one, "
        f"the earlier of the HO's creation and the PO's approval wins ({rules.source})"
    )


def rfp_timing_met(deal: dict[str, Any], steps: list[dict[str, Any]], dealreg: DealRegSettings) -> bool | None:
    """Was the deal submitted at least [dealreg] hours_before the RFP? None while unknown (no RFP, not submitted)."""
    if not deal.get("rfp"):
        return None
    submitted = [s for s in steps if s["state"] == "submitted"]
    if not submitted:
        return None
    rfp = datetime.fromisoformat(str(deal["rfp"]))
    return datetime.fromisoformat(str(submitted[0]["at"])) <= rfp - timedelta(hours=dealreg.hours_before)
