"""Money settings: the validated form of [mdf], [settlements] and [[funds]] (bot/config/money.py reads them).

Every rule is a default an admin can change, and each names the page it was read from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from handlers.workdays import DayType, Whose

GUIDE = "https://support.huaweicloud.com/intl/en-us/usermanual-bpconsole/"
APPLY_SRC = GUIDE + "apb_060001.html"
CLAIM_SRC = GUIDE + "apb_060002.html"
RESUBMIT_SRC = "https://support.huaweicloud.com/intl/th-th/usermanual-bpconsole/apb_060002.html"
RECON_SRC = "https://support.huaweicloud.com/eu/bpconsole_faq/faq_pi_000001.html"
AUTOCONFIRM_SRC = "https://support.huaweicloud.com/intl/tr-tr/usermanual-bpconsole/Dis_000533.html"

# The lifecycle: each state, the states it may move to, and the verb that moves a request into it.
STATES = ("planned", "applied", "approved", "held", "claimed", "reimbursed", "rejected", "resubmitted")
MOVES: dict[str, tuple[str, ...]] = {
    "planned": ("applied",),
    "applied": ("approved", "rejected"),
    "approved": ("held",),
    "held": ("claimed",),
    "claimed": ("reimbursed", "rejected"),
    "rejected": ("resubmitted",),
    "resubmitted": ("approved", "reimbursed", "rejected"),
    "reimbursed": (),
}
VERBS = {  # verb → the state it moves to
    "apply": "applied",
    "approve": "approved",
    "held": "held",
    "claim": "claimed",
    "reimbursed": "reimbursed",
    "reject": "rejected",
    "resubmit": "resubmitted",
}
VERB_OF = {state: verb for verb, state in VERBS.items()}
BUTTONS = {  # the button label of each verb
    "apply": "Applied",
    "approve": "Approved",
    "held": "Held",
    "claim": "Claimed",
    "reimbursed": "Reimbursed",
    "reject": "Rejected",
    "resubmit": "Resubmitted",
}
COMMITTED = ("applied", "approved", "held", "resubmitted")  # counted against the quota until claimed


@dataclass(frozen=True)
class MdfRule:
    """A deadline: `days` (negative: before) from `anchor` (start, end, or the time a state was entered),
    counted as `day_type` days; it is still to do while the request is in one of `open_in`."""

    id: str
    label: str
    days: int
    day_type: DayType
    anchor: str  # "start" | "end" | a state name
    open_in: tuple[str, ...]
    source: str
    whose: Whose = "partner"
    closed_by: str = ""  # an evidence item that, once ticked, means it is done
    late: str = ""  # what the source says about doing it late


DEFAULT_RULES = (
    MdfRule(
        "apply", "Apply for the MDF", -10, "working", "start", ("planned",), APPLY_SRC,
        late="a later application needs a reason; no prior approval, no payment",
    ),
    MdfRule(
        "claim", "Claim the reimbursement", 90, "calendar", "end", ("approved", "held"), CLAIM_SRC,
        late="a later claim needs a director's approval e-mail",
    ),
    MdfRule("resubmit", "Resubmit after the rejection", 45, "calendar", "rejected", ("rejected",), RESUBMIT_SRC),
    MdfRule(
        "invoice", "Mail the invoicing form", 15, "calendar", "reimbursed", ("reimbursed",), CLAIM_SRC,
        closed_by="invoice_form",
    ),
)  # fmt: skip


@dataclass(frozen=True)
class EvidenceItem:
    id: str
    label: str


DEFAULT_EVIDENCE = (
    EvidenceItem("photos", "Photos: theme, speakers, attendees, logo, each paid item"),
    EvidenceItem("receipts", "Sealed receipts whose expense type matches the claim"),
    EvidenceItem("invoices", "Invoices to the hosting partner for at least the claimed amount"),
    EvidenceItem("attendees", "Attendee sign-in sheet and activity summary (China site)"),
    EvidenceItem("invoice_form", "Invoicing form mailed to Huawei (after reimbursement approval)"),
)
DEFAULT_WARNINGS = (
    "No split claims: one activity, one claim (the penalty is no MDF for the year).",
    "Gifts at most CNY 200 each.",
    "Spend within the quota.",
)


@dataclass(frozen=True)
class Quota:
    period: str  # "2027" or "2027-Q1"
    amount: float
    currency: str


@dataclass(frozen=True)
class MdfSettings:
    rules: tuple[MdfRule, ...] = DEFAULT_RULES
    evidence: tuple[EvidenceItem, ...] = DEFAULT_EVIDENCE
    warnings: tuple[str, ...] = DEFAULT_WARNINGS
    currency: str = "USD"  # for an amount given without one
    quotas: tuple[Quota, ...] = ()
    remind_before: tuple[int, ...] = (5, 2, 0)  # working days before each deadline, descending

    def rule(self, rule_id: str) -> MdfRule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def item(self, item_id: str) -> EvidenceItem | None:
        return next((i for i in self.evidence if i.id == item_id), None)


@dataclass(frozen=True)
class SettlementSettings:
    """The rebate settlement calendar (faq_pi_000001, Dis_000533); days are working days unless said."""

    statement_days: int = 5  # Huawei opens reconciliation within this many working days of the next period
    confirm_days: int = 5  # the partner confirms within this many working days, or it is auto-confirmed
    invoice_days: int = 5  # the partner invoices within this many working days of confirmation
    payment_days: int = 30  # Huawei pays within this many calendar days of the invoice
    remind_before: tuple[int, ...] = (3, 1)  # working days before auto-confirmation
    finance_owner: str = ""  # Slack user ID reminded before auto-confirmation
    periods_shown: int = 3
    source: str = RECON_SRC
    autoconfirm_source: str = AUTOCONFIRM_SRC


@dataclass(frozen=True)
class FundItem:
    id: str
    label: str
    count: int = 1


@dataclass(frozen=True)
class Fund:
    id: str
    name: str
    items: tuple[FundItem, ...]
    source: str = ""

    def item(self, item_id: str) -> FundItem | None:
        return next((i for i in self.items if i.id == item_id), None)


DEFAULT_FUNDS = (
    Fund(
        "innovation",
        "Partner Innovation Fund",
        (
            FundItem("validation", "Joint solution validation", 1),
            FundItem("references", "Customer references", 3),
            FundItem("demo", "Live demo", 1),
        ),
        "the project seed (no public page states these requirements)",
    ),
)


@dataclass(frozen=True)
class MoneySettings:
    mdf: MdfSettings = field(default_factory=MdfSettings)
    settlements: SettlementSettings = field(default_factory=SettlementSettings)
    funds: tuple[Fund, ...] = DEFAULT_FUNDS

    def fund(self, name: str) -> Fund | None:
        key = name.casefold()
        return next((f for f in self.funds if key in (f.id.casefold(), f.name.casefold())), None)
