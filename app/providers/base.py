"""The adapter interface: one Protocol, typed DTOs, and the error tree (re-exported).

Adapters take ``Credentials`` per call and return these DTOs; they know nothing of the database
or of our invoice models. Money is ``Decimal`` (never float), dates are ``date``, datetimes are
timezone-aware. Ids are the provider's own strings. Build adapters with ``app.providers.build``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Generic, Literal, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from app.providers.errors import (
    FieldMessage,
    ProviderAuthError,
    ProviderConflict,
    ProviderError,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderUnavailable,
    ProviderUnsupported,
    ProviderValidationError,
)

__all__ = [
    "Account",
    "AccountingProvider",
    "Address",
    "ChangeSet",
    "Contact",
    "ContactInput",
    "Credentials",
    "Currency",
    "Features",
    "FieldLimits",
    "FieldMessage",
    "GlobalDiscount",
    "Invoice",
    "InvoiceDraft",
    "InvoiceLine",
    "InvoiceLineDraft",
    "Item",
    "ItemInput",
    "Organisation",
    "Page",
    "PaymentTerms",
    "ProviderAuthError",
    "ProviderConflict",
    "ProviderError",
    "ProviderName",
    "ProviderNotFound",
    "ProviderRateLimited",
    "ProviderUnavailable",
    "ProviderUnsupported",
    "ProviderValidationError",
    "TaxMode",
    "TaxRate",
    "Template",
    "TokenSet",
]


class ProviderName(StrEnum):
    xero = "xero"
    quickbooks = "quickbooks"


class TaxMode(StrEnum):
    """How line amounts relate to tax; the values are Pipedrive's ``taxModeId`` strings."""

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


class TokenSet(_DTO):
    """A token endpoint answer. ``refresh_token`` always replaces the stored one (rotation)."""

    access_token: str = Field(repr=False)
    refresh_token: str | None = Field(default=None, repr=False)
    token_type: str = "Bearer"
    expires_at: datetime
    # QuickBooks: rolling refresh-token life and the five-year hard cap, when announced.
    refresh_expires_at: datetime | None = None
    refresh_hard_expires_at: datetime | None = None
    scopes: tuple[str, ...] = ()
    id_token: str | None = Field(default=None, repr=False)


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
    """What the connected provider can do: the facts Pipedrive's ``LinkFeatures`` asks for."""

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
    # The provider calculates sales tax itself (QuickBooks US Automated Sales Tax).
    automated_sales_tax: bool = False
    multi_currency: bool = True
    limits: FieldLimits

    def to_link_features(self) -> dict[str, object]:
        """The ``LinkFeatures`` object of pipedrive-invoicing-extension.md §7.2."""
        return {
            "invoiceTaxModeOptions": {
                "taxExclusive": TaxMode.exclusive in self.tax_modes,
                "taxInclusive": TaxMode.inclusive in self.tax_modes,
                "noTax": TaxMode.no_tax in self.tax_modes,
            },
            "invoiceTaxOption": self.tax_option,
            "invoiceDiscountOptions": {
                "globalDiscount": self.global_discount,
                "lineDiscount": self.line_discount,
            },
            "invoiceNumberOption": self.invoice_number,
            "validations": {
                "product": {
                    "name": {"maxLength": self.limits.item_name},
                    "code": {"maxLength": self.limits.item_code},
                    "description": {"maxLength": self.limits.item_description},
                }
            },
        }


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


@runtime_checkable
class AccountingProvider(Protocol):
    """One accounting provider (Xero or QuickBooks Online), called per tenant.

    Every method takes ``Credentials`` and may raise any ``ProviderError``: validation (422),
    not found (404), conflict or stale (409), rate limited (429), auth (409, reconnect needed),
    unavailable (503). Writes that create take an ``idempotency_key``: repeat the same key after
    an unclear failure and the provider answers with the first result instead of a duplicate.
    """

    name: ProviderName

    async def get_organisation(self, creds: Credentials) -> Organisation:
        """The connected organisation: id, name, base currency, short code, timezone, country."""
        ...

    async def get_features(self, creds: Credentials) -> Features:
        """Tax modes, tax option, discounts, numbering, templates and field limits."""
        ...

    async def list_currencies(self, creds: Credentials) -> list[Currency]:
        """Currencies the organisation may invoice in (base currency first)."""
        ...

    async def list_tax_rates(self, creds: Credentials) -> list[TaxRate]:
        """Active tax rates usable on sales lines."""
        ...

    async def list_accounts(self, creds: Credentials) -> list[Account]:
        """Active revenue accounts, for sales lines and items."""
        ...

    async def list_templates(self, creds: Credentials) -> list[Template]:
        """Invoice templates (Xero branding themes); empty when ``features.templates`` is off."""
        ...

    async def search_contacts(
        self, creds: Credentials, term: str, *, page: int = 1, page_size: int = 50
    ) -> Page[Contact]:
        """Contacts whose name (or email) contains ``term``, case-insensitive."""
        ...

    async def get_contact(self, creds: Credentials, contact_id: str) -> Contact:
        """One contact by provider id; ProviderNotFound when absent."""
        ...

    async def create_contact(
        self, creds: Credentials, data: ContactInput, *, idempotency_key: str
    ) -> Contact:
        """Create a contact; a duplicate name is a ProviderValidationError on ``name``."""
        ...

    async def update_contact(
        self, creds: Credentials, contact_id: str, data: ContactInput
    ) -> Contact:
        """Change the given fields of a contact, leaving the others as they are."""
        ...

    async def search_items(
        self, creds: Credentials, *, name: str | None = None, code: str | None = None
    ) -> list[Item]:
        """Items by exact code (when given) or by name containing ``name``, case-insensitive."""
        ...

    async def get_item(self, creds: Credentials, item_id: str) -> Item:
        """One item by provider id."""
        ...

    async def create_item(
        self, creds: Credentials, data: ItemInput, *, idempotency_key: str
    ) -> Item:
        """Create a sold item."""
        ...

    async def update_item(self, creds: Credentials, item_id: str, data: ItemInput) -> Item:
        """Change the given fields of an item."""
        ...

    async def create_invoice(
        self, creds: Credentials, draft: InvoiceDraft, *, idempotency_key: str
    ) -> Invoice:
        """Create an invoice exactly once per ``idempotency_key`` (Xero Idempotency-Key,
        QuickBooks requestid). Only a returned Invoice means the provider confirmed it."""
        ...

    async def get_invoice(self, creds: Credentials, invoice_id: str) -> Invoice:
        """One invoice with its lines. A deleted QuickBooks invoice raises ProviderNotFound."""
        ...

    async def get_invoices(self, creds: Credentials, ids: Sequence[str]) -> list[Invoice]:
        """Many invoices by id, batched (Xero 100 per call, QuickBooks an IN query);
        ids the provider no longer has are simply absent."""
        ...

    async def search_invoices(
        self,
        creds: Credentials,
        *,
        contact_id: str | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
        page: int = 1,
        page_size: int = 100,
    ) -> Page[Invoice]:
        """Sales invoices of a contact and/or issue-date range, newest first."""
        ...

    async def changed_invoices(self, creds: Credentials, since: datetime) -> ChangeSet:
        """Invoices changed since ``since`` (Xero If-Modified-Since, QuickBooks CDC, 30 days
        at most), with deletions."""
        ...

    async def submit_invoice(self, creds: Credentials, invoice_id: str) -> Invoice:
        """DRAFT → SUBMITTED (awaiting approval). ProviderUnsupported where there is none."""
        ...

    async def approve_invoice(self, creds: Credentials, invoice_id: str) -> Invoice:
        """DRAFT/SUBMITTED → AUTHORISED. ProviderUnsupported where there is no approval."""
        ...

    async def void_invoice(self, creds: Credentials, invoice_id: str) -> Invoice:
        """Void an issued invoice without payments; it stays readable with zero amounts
        (QuickBooks) or VOIDED status (Xero)."""
        ...

    async def delete_invoice(self, creds: Credentials, invoice_id: str) -> Invoice:
        """Delete a draft (Xero DRAFT/SUBMITTED) or an unpaid QuickBooks invoice; returns the
        last known state with status DELETED."""
        ...

    async def email_invoice(
        self, creds: Credentials, invoice_id: str, *, to: str | None = None
    ) -> Invoice:
        """Have the provider email the invoice to the customer; returns it marked sent."""
        ...

    async def invoice_pdf(self, creds: Credentials, invoice_id: str) -> bytes:
        """The invoice as the provider renders it, PDF bytes."""
        ...

    async def share_url(self, creds: Credentials, invoice_id: str) -> str | None:
        """The customer-facing link (Xero OnlineInvoice, QuickBooks InvoiceLink), or None
        when the provider offers none for this invoice."""
        ...

    def invoice_url(self, organisation: Organisation, invoice_id: str) -> str:
        """Staff-facing deep link that opens the invoice in the provider's own app (no call)."""
        ...
