"""The one place that applies a provider's invoice to our row (house rule 4).

Creation, the actions on an invoice, and the status sync (webhooks, catch-up, refresh) all
call ``apply_invoice``, so our row says what the provider says in one way only, and an older
answer (a webhook re-read that raced a newer action, events out of order) never overwrites a
newer one.
"""

from __future__ import annotations

from datetime import datetime

from app.invoices.models import DealInvoice
from app.providers.base import Invoice
from app.providers.money import to_minor

DELETED = "DELETED"


def is_older(row: DealInvoice, invoice: Invoice) -> bool:
    """Whether ``invoice`` is an older version than what ``row`` already shows.

    The provider's last-updated time decides; when both carry a numeric version (QuickBooks
    SyncToken) and the times are equal or missing, the version decides.
    """
    seen, theirs = row.provider_updated_at, invoice.updated_at
    if seen is not None and theirs is not None and theirs != seen:
        return theirs < seen
    mine, version = row.provider_version, invoice.sync_token
    if mine and version and mine.isdigit() and version.isdigit():
        return int(version) < int(mine)
    return False


def apply_invoice(row: DealInvoice, invoice: Invoice, *, url: str | None = None) -> bool:
    """Update ``row`` from the provider's ``invoice``: its id, number, status, contact,
    currency, dates, subtotal, tax, total and amounts due and paid (money in the currency's
    minor units), its version, and the deep link when given. Returns False, changing nothing,
    when ``invoice`` is older than what the row already shows.

    What the provider leaves empty keeps the row's value (a number not assigned yet, a contact
    or date it did not echo back); our own lifecycle (``status``, lease, failure) is the
    caller's. The row is changed in memory only: the caller's session writes it.
    """
    if is_older(row, invoice):
        return False
    currency = invoice.currency or row.currency or ""
    row.provider_invoice_id = invoice.id
    row.provider_status = invoice.status
    row.number = invoice.number or row.number
    row.contact_id = invoice.contact_id or row.contact_id
    row.contact_name = invoice.contact_name or row.contact_name
    row.currency = currency
    row.issue_date = invoice.issue_date or row.issue_date
    row.due_date = invoice.due_date or row.due_date
    row.subtotal_minor = to_minor(invoice.subtotal, currency)
    row.tax_minor = to_minor(invoice.total_tax, currency)
    row.total_minor = to_minor(invoice.total, currency)
    row.amount_due_minor = to_minor(invoice.amount_due, currency)
    row.amount_paid_minor = to_minor(invoice.amount_paid, currency)
    row.amount_credited_minor = to_minor(invoice.amount_credited, currency)
    row.provider_updated_at = invoice.updated_at or row.provider_updated_at
    row.provider_version = invoice.sync_token or row.provider_version
    if url:
        row.url = url
    return True


def apply_deleted(row: DealInvoice, at: datetime | None = None) -> bool:
    """The provider no longer has the invoice (QuickBooks deletes; Xero's DELETED drafts are
    still readable): kept as a Deleted row with nothing due, never dropped."""
    if row.provider_status == DELETED:
        return False
    row.provider_status = DELETED
    row.amount_due_minor = 0
    if at is not None and (row.provider_updated_at is None or at > row.provider_updated_at):
        row.provider_updated_at = at
    return True
