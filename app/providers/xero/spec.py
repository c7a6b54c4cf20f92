"""Xero facts: limits, field lengths, features, status labels (xero.md)."""

from __future__ import annotations

from app.kit.http import RateLimits
from app.providers.base import Features, FieldLimits, TaxMode

PROVIDER = "xero"
API_PATH = "/api.xro/2.0"

# xero.md §15: per tenant 60 calls a minute and 5 in flight (5,000 a day is Xero's to enforce).
# xero.md: 60 calls a minute, 5,000 a day and 5 in flight per organisation.
RATE_LIMITS = RateLimits(per_minute=60, concurrent=5, per_day=5000)
# xero.md §10.6: pages hold 100 invoices; the IDs filter takes up to 100 ids per call.
PAGE_SIZE = 100
IDS_PER_CALL = 100
IDEMPOTENCY_KEY_MAX = 128

LIMITS = FieldLimits(
    item_name=50,
    item_code=30,
    item_description=4000,
    contact_name=255,
    contact_email=255,
    tax_number=50,
    invoice_number=255,
    reference=255,
    line_description=4000,
)

FEATURES = Features(
    tax_modes=frozenset({TaxMode.exclusive, TaxMode.inclusive, TaxMode.no_tax}),
    tax_option="multiple",
    line_discount=True,
    # Xero has no invoice-level discount; only DiscountRate/DiscountAmount per line.
    global_discount=False,
    invoice_number="none",
    templates=True,
    approval=True,
    item_codes_unique=True,
    line_item_key="code",
    limits=LIMITS,
    # Invoice-rule differences (see Features).
    tax_rounding="line",
    currencies_added_by_user=True,
    # RepeatingInvoices: WEEKLY or MONTHLY units (quarterly and longer stay on our worker).
    repeating_invoices=frozenset({"weekly", "monthly"}),
)

STATUS_LABELS = {
    "DRAFT": "Draft",
    "SUBMITTED": "Awaiting approval",
    "AUTHORISED": "Awaiting payment",
    "PAID": "Paid",
    "VOIDED": "Voided",
    "DELETED": "Deleted",
}

# xero.md §3: roles that may approve invoices (and may connect, issue 4 item 2).
APPROVER_ROLES = frozenset({"STANDARD", "FINANCIALADVISER"})

# Account classes usable on sales lines (xero.md §7).
REVENUE_ACCOUNT_TYPES = frozenset({"REVENUE", "SALES", "OTHERINCOME"})


def role_can_approve(role: str | None) -> bool:
    """Whether a Xero OrganisationRole may approve (AUTHORISE) sales invoices."""
    return (role or "").upper() in APPROVER_ROLES
