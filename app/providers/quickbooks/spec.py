"""QuickBooks Online facts: limits, field lengths, features, status labels (quickbooks.md)."""

from __future__ import annotations

from app.kit.http import RateLimits
from app.providers.base import Features, FieldLimits, TaxMode

PROVIDER = "quickbooks"

# quickbooks.md §12: 500 requests a minute and 10 in flight per realm.
# quickbooks.md: 500 requests a minute, 10 a second and 10 in flight per realm.
RATE_LIMITS = RateLimits(per_minute=500, concurrent=10, per_second=10)
# quickbooks.md §4: queries return at most 1000 rows; §7: requestid at most 50 chars.
MAX_RESULTS = 1000
IDS_PER_QUERY = 100
REQUEST_ID_MAX = 50
# quickbooks.md §5: CDC looks back 30 days at most.
CDC_MAX_DAYS = 30
# quickbooks.md §12: "On 429 wait 60 s" when no Retry-After comes with it.
DEFAULT_RETRY_AFTER = 60.0

LIMITS = FieldLimits(
    item_name=100,
    item_code=100,
    item_description=4000,
    contact_name=500,
    contact_email=100,
    tax_number=50,
    invoice_number=21,
    reference=4000,
    line_description=4000,
)

# Derived status codes (quickbooks.md §8) and their labels.
STATUS_LABELS = {
    "OPEN": "Open",
    "PARTIALLY_PAID": "Partially paid",
    "PAID": "Paid",
    "OVERDUE": "Overdue",
    "VOIDED": "Voided",
    "DELETED": "Deleted",
}

TAX_CALCULATION = {
    TaxMode.exclusive: "TaxExcluded",
    TaxMode.inclusive: "TaxInclusive",
    TaxMode.no_tax: "NotApplicable",
}

INCOME_ACCOUNT_TYPES = frozenset({"Income", "Other Income"})


def features(
    *,
    us_sales_tax: bool,
    allow_discount: bool,
    custom_numbers: bool,
    multi_currency: bool,
) -> Features:
    """What a QuickBooks company supports, from its Preferences and country.

    US companies (Automated Sales Tax) have TAX/NON codes and no tax-inclusive amounts, so one
    rate is decided per invoice ("single"). Elsewhere each line carries a tax code. Line
    discounts are not honoured on invoices (UNCONFIRMED), so only the invoice discount line is
    offered. With custom transaction numbers on, QuickBooks assigns no number: mandatory.
    """
    return Features(
        tax_modes=frozenset({TaxMode.exclusive, TaxMode.no_tax})
        if us_sales_tax
        else frozenset({TaxMode.exclusive, TaxMode.inclusive, TaxMode.no_tax}),
        tax_option="single" if us_sales_tax else "multiple",
        line_discount=False,
        global_discount=allow_discount,
        invoice_number="mandatory" if custom_numbers else "none",
        templates=False,
        approval=False,
        item_codes_unique=False,
        line_item_key="id",
        automated_sales_tax=us_sales_tax,
        multi_currency=multi_currency,
        limits=LIMITS,
        # Invoice-rule differences (see Features).
        tax_rounding="rate_group",
        contact_currency=True,
        item_required=True,
        item_id_on_lines=True,
        bill_email=True,
        item_account_required=True,
        created_state="open",
    )
