"""The adapters' data: typed, frozen DTOs (import them from ``app.providers.base``).

Money is ``Decimal`` (never float), dates are ``date``, datetimes are timezone-aware, ids are the
provider's own strings.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# A provider's id as a caller may send it to us (Xero's GUIDs, QuickBooks' numbers): URL-safe
# characters only, because it becomes a segment of the provider's URL; anything else is refused
# at our edge rather than sent on (a control character fails the request, a '/' or '..' would
# address another resource).
ProviderId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_~-][A-Za-z0-9._~-]*$"),
]


class ProviderName(StrEnum):
    xero = "xero"
    quickbooks = "quickbooks"


class TaxMode(StrEnum):
    """How line amounts relate to tax."""

    exclusive = "Exclusive"
    inclusive = "Inclusive"
    no_tax = "NoTax"


class _DTO(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- credentials and OAuth -------------------------------------------------------------------


class Credentials(_DTO):
    """What every API call needs: a live access token and the tenant (Xero tenantId or
    QuickBooks realmId). The connections layer refreshes tokens; adapters never do."""

    access_token: str = Field(repr=False)
    tenant_id: str


# --- organisation and features ---------------------------------------------------------------


class Organisation(_DTO):
    """The connected organisation (Xero) or company (QuickBooks)."""

    id: str
    name: str
    base_currency: str
    # Xero ShortCode for deep links; QuickBooks has none.
    short_code: str | None = None
    timezone: str | None = None
    country: str | None = None
    legal_name: str | None = None
    is_demo: bool = False


class FieldLimits(_DTO):
    """Maximum lengths the provider enforces, in characters."""

    item_name: int
    item_code: int
    item_description: int
    contact_name: int
    contact_email: int
    tax_number: int
    invoice_number: int
    reference: int
    line_description: int


class Features(_DTO):
    """What the connected provider can do."""

    tax_modes: frozenset[TaxMode]
    # single: one tax rate for the invoice; multiple: a rate per line.
    tax_option: Literal["single", "multiple"]
    line_discount: bool
    global_discount: bool
    # none: the provider numbers invoices itself; mandatory: the user must give a number.
    invoice_number: Literal["none", "mandatory"]
    templates: bool
    approval: bool
    # Xero item codes are unique, so a code identifies an item; QuickBooks Sku is not.
    item_codes_unique: bool
    # What an invoice line names its item by: Xero lines send ItemCode, QuickBooks an item id.
    line_item_key: Literal["code", "id"]
    # The provider calculates sales tax itself (QuickBooks US Automated Sales Tax).
    automated_sales_tax: bool = False
    multi_currency: bool = True
    limits: FieldLimits
    # Differences the invoice rules need (so app.invoices never asks which provider it is):
    # how tax is rounded: per line (Xero) or once per tax rate (QuickBooks TxnTaxDetail).
    tax_rounding: Literal["line", "rate_group"] = "line"
    # The organisation enables each currency itself, so a missing one can be added there.
    currencies_added_by_user: bool = False
    # A contact bills in one currency (a new one takes the invoice's) and invoices must match.
    contact_currency: bool = False
    # Every sold line must name an item (no description-only lines).
    item_required: bool = False
    # Lines name their item by id (QuickBooks ItemRef) rather than by code (Xero ItemCode).
    item_id_on_lines: bool = False
    # The invoice carries its own billing email (QuickBooks BillEmail).
    bill_email: bool = False
    # A new item needs an income account.
    item_account_required: bool = False
    # The state a new invoice is in at the provider, as its users call it: Xero makes drafts,
    # QuickBooks has none (a new invoice is open at once). Words of the dialog follow it.
    created_state: Literal["draft", "open"] = "draft"
    # Pipedrive billing frequencies the provider can hold as a repeating invoice of its own.
    repeating_invoices: frozenset[str] = frozenset()


# --- lookups ---------------------------------------------------------------------------------


class Currency(_DTO):
    code: str
    name: str
    is_base: bool = False


class TaxRate(_DTO):
    """A tax the user can put on a sales line. ``code`` is what lines send (Xero TaxType,
    QuickBooks TaxCode Id); ``rate`` is a percentage (15 means 15 %)."""

    code: str
    name: str
    rate: Decimal
    can_apply_to_revenue: bool = True
    # QuickBooks US codes (TAX/NON): the rate is decided by Automated Sales Tax at the provider.
    rate_decided_by_provider: bool = False


class Account(_DTO):
    """A revenue ledger account. ``code`` is what lines send (Xero Code, QuickBooks Id)."""

    id: str
    code: str
    name: str
    type: str


class Template(_DTO):
    """A Xero branding theme."""

    id: str
    name: str
    is_default: bool = False


# --- contacts and items ----------------------------------------------------------------------


class Address(_DTO):
    lines: tuple[str, ...] = ()
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None

    def is_empty(self) -> bool:
        return not (self.lines or self.city or self.region or self.postal_code or self.country)


class PaymentTerms(_DTO):
    """Sales payment terms: Xero ``{Day, Type}``; QuickBooks a Term reference (``term_id``)."""

    day: int | None = None
    type: str | None = None
    term_id: str | None = None
    name: str | None = None


class Contact(_DTO):
    id: str
    name: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    tax_number: str | None = None
    currency: str | None = None
    address: Address | None = None
    payment_terms: PaymentTerms | None = None
    # Our external key (Xero ContactNumber), when set.
    external_ref: str | None = None
    is_active: bool = True
    # QuickBooks optimistic lock; None for Xero.
    sync_token: str | None = None


class ContactInput(_DTO):
    """Create or update a contact. On update, ``None`` means "leave as is"."""

    name: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    tax_number: str | None = None
    currency: str | None = None
    address: Address | None = None
    external_ref: str | None = None


class Item(_DTO):
    id: str
    name: str
    code: str | None = None
    description: str | None = None
    unit_price: Decimal | None = None
    account_code: str | None = None
    tax_code: str | None = None
    is_sold: bool = True
    is_active: bool = True
    sync_token: str | None = None


class ItemInput(_DTO):
    """Create or update an item. On update, ``None`` means "leave as is"."""

    name: str | None = None
    code: str | None = None
    description: str | None = None
    unit_price: Decimal | None = None
    account_code: str | None = None
    tax_code: str | None = None


# --- invoices --------------------------------------------------------------------------------


class InvoiceLineDraft(_DTO):
    """One line to create. ``item_id`` (QuickBooks) or ``item_code`` (Xero) links the item;
    either discount may be given (rate is a percentage), never both."""

    description: str
    quantity: Decimal = Decimal("1")
    unit_price: Decimal = Decimal("0")
    item_id: str | None = None
    item_code: str | None = None
    discount_rate: Decimal | None = None
    discount_amount: Decimal | None = None
    tax_code: str | None = None
    account_code: str | None = None


class GlobalDiscount(_DTO):
    """An invoice-level discount (QuickBooks discount line): a percentage or an amount."""

    rate: Decimal | None = None
    amount: Decimal | None = None
    account_code: str | None = None


class InvoiceDraft(_DTO):
    """An invoice to create. ``status`` is DRAFT unless the caller asks Xero for more."""

    contact_id: str
    issue_date: date
    due_date: date | None = None
    currency: str | None = None
    tax_mode: TaxMode = TaxMode.exclusive
    reference: str | None = None
    url: str | None = None
    template_id: str | None = None
    invoice_number: str | None = None
    # Used for lines without their own tax code ("single" tax option).
    tax_code: str | None = None
    global_discount: GlobalDiscount | None = None
    bill_email: str | None = None
    memo: str | None = None
    status: Literal["DRAFT", "SUBMITTED", "AUTHORISED"] = "DRAFT"
    # Written on the invoice so this creation can find it again (``providers.markers``).
    marker: str | None = None
    lines: tuple[InvoiceLineDraft, ...]


class InvoiceLine(_DTO):
    id: str | None = None
    description: str | None = None
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    item_id: str | None = None
    item_code: str | None = None
    discount_rate: Decimal | None = None
    discount_amount: Decimal | None = None
    tax_code: str | None = None
    tax_amount: Decimal | None = None
    account_code: str | None = None
    amount: Decimal = Decimal("0")
    # QuickBooks invoice-level discount lines come back as lines of this kind.
    kind: Literal["item", "discount", "description"] = "item"


class Invoice(_DTO):
    """An invoice as the provider stores it.

    ``status`` is the provider's own lifecycle code: Xero's Status (DRAFT, SUBMITTED, AUTHORISED,
    PAID, VOIDED, DELETED); for QuickBooks, which has no status field, ACTIVE, VOIDED or DELETED
    (Open/Overdue/Paid are derived from balances by ``app.providers.view``).
    """

    id: str
    number: str | None = None
    contact_id: str | None = None
    contact_name: str | None = None
    status: str
    issue_date: date | None = None
    due_date: date | None = None
    currency: str
    tax_mode: TaxMode | None = None
    subtotal: Decimal = Decimal("0")
    total_tax: Decimal = Decimal("0")
    total: Decimal = Decimal("0")
    amount_paid: Decimal = Decimal("0")
    amount_due: Decimal = Decimal("0")
    amount_credited: Decimal = Decimal("0")
    paid_date: date | None = None
    has_payments: bool = False
    lines: tuple[InvoiceLine, ...] = ()
    reference: str | None = None
    url: str | None = None
    template_id: str | None = None
    updated_at: datetime | None = None
    is_sent: bool = False
    # Customer-facing link when the provider returned one (QuickBooks InvoiceLink).
    online_url: str | None = None
    bill_email: str | None = None
    sync_token: str | None = None
    # The marker of the creation that made it, when it was ours (``providers.markers``).
    marker: str | None = None


class CreditNoteDraft(_DTO):
    """A sales credit note to create for a customer (Xero ACCRECCREDIT, QuickBooks CreditMemo):
    lines like an invoice's; ``reference`` names what it credits."""

    contact_id: str
    issue_date: date
    currency: str | None = None
    tax_mode: TaxMode = TaxMode.exclusive
    reference: str | None = None
    global_discount: GlobalDiscount | None = None
    lines: tuple[InvoiceLineDraft, ...]


class CreditNote(_DTO):
    """A credit note as the provider stores it: ``remaining`` is the credit not yet applied
    to an invoice (Xero RemainingCredit, QuickBooks RemainingCredit/Balance)."""

    id: str
    number: str | None = None
    status: str
    currency: str
    total: Decimal = Decimal("0")
    remaining: Decimal = Decimal("0")
    issue_date: date | None = None


T = TypeVar("T")


class Page(_DTO, Generic[T]):
    """One page of results; pages count from 1."""

    items: list[T]
    page: int
    page_size: int
    has_more: bool
    total: int | None = None


class ChangeSet(_DTO):
    """What changed since a moment: invoices as they now are, and ids deleted since."""

    invoices: tuple[Invoice, ...] = ()
    deleted_ids: tuple[str, ...] = ()
    # When to ask from next time (the provider's clock when it says so, else ours).
    checked_at: datetime
