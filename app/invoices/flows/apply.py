"""The one place that applies a provider's invoice to our row (house rule 4).

Creation, the actions on an invoice, and the status sync all call ``apply_invoice``, so our
row says what the provider says in one way only.
"""

from __future__ import annotations

from app.invoices.models import DealInvoice
from app.providers.base import Invoice
from app.providers.money import to_minor


def apply_invoice(row: DealInvoice, invoice: Invoice, *, url: str | None = None) -> None:
    """Update ``row`` from the provider's ``invoice``: its id, number, status, contact,
    currency, dates, subtotal, tax, total and amounts due and paid (money in the currency's
    minor units), and the deep link when given.

    What the provider leaves empty keeps the row's value (a number not assigned yet, a contact
    or date it did not echo back); our own lifecycle (``status``, lease, failure) is the
    caller's. The row is changed in memory only: the caller's session writes it.
    """
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
    if url:
        row.url = url
