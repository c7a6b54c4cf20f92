"""The adapter interface: one Protocol, its typed DTOs, and the error tree (re-exported).

Adapters take ``Credentials`` per call and return the DTOs of ``app.providers.dto``; they know
nothing of the database or of our invoice models. Money is ``Decimal`` (never float), dates are
``date``, datetimes are timezone-aware. Ids are the provider's own strings. Build adapters with
``app.providers.build_providers``; app/providers/README.md is the tour.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Protocol, runtime_checkable

from app.kit.circuit import Paused
from app.providers.dto import (
    Account,
    Address,
    ChangeSet,
    Contact,
    ContactInput,
    Credentials,
    CreditNote,
    CreditNoteDraft,
    Currency,
    Features,
    FieldLimits,
    GlobalDiscount,
    Invoice,
    InvoiceDraft,
    InvoiceLine,
    InvoiceLineDraft,
    Item,
    ItemInput,
    Organisation,
    Page,
    PaymentTerms,
    ProviderId,
    ProviderName,
    TaxMode,
    TaxRate,
    Template,
)
from app.providers.errors import (
    FieldMessage,
    ProviderAuthError,
    ProviderCircuitOpen,
    ProviderConflict,
    ProviderError,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderUnavailable,
    ProviderUnsupported,
    ProviderValidationError,
)
from app.providers.oauth import ProviderOAuthClient
from app.providers.schedules import RepeatingInvoice, RepeatingInvoiceDraft

__all__ = [
    "Account",
    "AccountingProvider",
    "Address",
    "ChangeSet",
    "Contact",
    "ContactInput",
    "Credentials",
    "CreditNote",
    "CreditNoteDraft",
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
    "ProviderCircuitOpen",
    "ProviderConflict",
    "ProviderError",
    "ProviderId",
    "ProviderName",
    "ProviderNotFound",
    "ProviderRateLimited",
    "ProviderUnavailable",
    "ProviderUnsupported",
    "ProviderValidationError",
    "RepeatingInvoice",
    "RepeatingInvoiceDraft",
    "TaxMode",
    "TaxRate",
    "Template",
]


@runtime_checkable
class AccountingProvider(Protocol):
    """One accounting provider (Xero or QuickBooks Online), called per tenant.

    Every method takes ``Credentials`` and may raise any ``ProviderError``: validation (422),
    not found (404), conflict or stale (409), rate limited (429), auth (409, reconnect needed),
    unavailable (503). Writes that create take an ``idempotency_key``: repeat the same key after
    an unclear failure and the provider answers with the first result instead of a duplicate.
    """

    name: ProviderName
    # How far back ``changed_invoices`` can reach (None: as far as asked); older gaps are
    # closed by re-reading our own invoices by id.
    changes_look_back: timedelta | None
    # --- for the connections domain (house-kit) ---
    #: The provider's name as users read it ("Xero", "QuickBooks").
    display_name: str
    #: A refused tenant (``ProviderAuthError.reason == "tenant_access"``) means the organisation
    #: disconnected our app, so the connection needs an admin to reconnect it.
    tenant_refusal_needs_reauth: bool

    @property
    def oauth(self) -> ProviderOAuthClient:
        """The provider's OAuth client (authorize, exchange, refresh, revoke, id_token)."""
        ...

    async def paused(self, tenant_id: str) -> Paused | None:
        """Whether calls for this organisation are paused (its circuit is open): they fail
        fast with ``ProviderCircuitOpen`` until then. Reads only; calls nothing."""
        ...

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

    async def find_marked_invoice(
        self, creds: Credentials, *, marker: str, contact_id: str, issue_date: date
    ) -> Invoice | None:
        """The invoice a creation wrote ``marker`` on (``providers.markers``), among the
        contact's invoices of that issue date; None only when the search was read to the end.
        A failed search raises: it is never an answer."""
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
        self,
        creds: Credentials,
        invoice_id: str,
        *,
        to: str | None = None,
        idempotency_key: str | None = None,
    ) -> Invoice:
        """Have the provider email the invoice to the customer; returns it marked sent. With
        ``idempotency_key`` (Xero Idempotency-Key, QuickBooks requestid) a repeat of the same
        request sends no second email."""
        ...

    async def create_credit_note(
        self, creds: Credentials, draft: CreditNoteDraft, *, idempotency_key: str
    ) -> CreditNote:
        """Create an approved sales credit note exactly once per ``idempotency_key`` (Xero
        PUT /CreditNotes ACCRECCREDIT AUTHORISED, QuickBooks POST /creditmemo)."""
        ...

    async def apply_credit_note(
        self,
        creds: Credentials,
        credit_note: CreditNote,
        *,
        invoice_id: str,
        contact_id: str,
        amount: Decimal,
        on: date,
        idempotency_key: str,
    ) -> None:
        """Apply ``amount`` of the credit note to the invoice exactly once per key (Xero: an
        Allocation; QuickBooks: a zero-amount Payment linking the memo and the invoice).
        The invoice's amount due falls by ``amount``; re-read it for its new state."""
        ...

    async def create_repeating_invoice(
        self, creds: Credentials, draft: RepeatingInvoiceDraft, *, idempotency_key: str
    ) -> RepeatingInvoice:
        """Create a repeating invoice whose invoices are drafts, once per ``idempotency_key``
        (Xero PUT /RepeatingInvoices). ProviderUnsupported where ``features.repeating_invoices``
        is empty."""
        ...

    async def get_repeating_invoice(self, creds: Credentials, ident: str) -> RepeatingInvoice:
        """A repeating invoice with its next date (ProviderNotFound when there is none)."""
        ...

    async def delete_repeating_invoice(self, creds: Credentials, ident: str) -> RepeatingInvoice:
        """Delete a repeating invoice: it generates no more invoices (those made stay)."""
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

    def can_approve(self, role: str | None) -> bool:
        """Whether the connecting user's role (stored with the connection) may approve sales
        invoices; False where the provider has no approval (no call)."""
        ...

    def contact_url(self, organisation: Organisation, contact_id: str) -> str:
        """Staff-facing deep link that opens the contact in the provider's own app (no call)."""
        ...
