"""Pure shaping of our invoice view into Pipedrive's objects (§7.6, §7.8, §7.9).

The provider's own status, the amounts and the actions allowed come from
``app.providers.view``; Pipedrive's status codes, its action names and field spellings are
decided here only.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from app.extension import schemas as pd
from app.invoices.rules.summary import CurrencyTotals
from app.providers.base import Invoice
from app.providers.view import InvoiceAction, InvoiceStage, InvoiceView

ZERO = Decimal("0")

PIPEDRIVE_STATUS: dict[InvoiceStage, pd.PipedriveStatusCode] = {
    InvoiceStage.draft: "draft",
    InvoiceStage.awaiting_approval: "created",
    InvoiceStage.issued: "issued",
    InvoiceStage.partially_paid: "partiallyPaid",
    InvoiceStage.paid: "paid",
    InvoiceStage.voided: "voided",
    InvoiceStage.deleted: "deleted",
}

# The extension page's table and its example disagree on the email/link action names
# (§7.8, UNCONFIRMED which Pipedrive accepts); we follow the example, which matches the
# endpoint names. Change them here only.
CHANGE_STATUS = "changeInvoiceStatus"
DOWNLOAD = "downloadInvoice"
SEND_EMAIL = "postInvoiceEmail"
SHARE_LINK = "getInvoiceShareURL"

# Our action id → the ``providerAction`` Pipedrive calls back with.
PROVIDER_ACTIONS = {
    "SUBMITTED": CHANGE_STATUS,
    "AUTHORISED": CHANGE_STATUS,
    "VOIDED": CHANGE_STATUS,
    "DELETED": CHANGE_STATUS,
    "EMAIL": SEND_EMAIL,
    "DOWNLOAD": DOWNLOAD,
    "URL": SHARE_LINK,
}


def status_code(view: InvoiceView) -> pd.PipedriveStatusCode:
    """``pipedriveStatusCode``: Pipedrive's name for the invoice's stage."""
    return PIPEDRIVE_STATUS[view.stage]


def action(a: InvoiceAction) -> pd.InvoiceAction:
    """One button (§7.8): ``id`` is the intended new state for status changes."""
    return pd.InvoiceAction(
        id=a.id,
        label=a.label,
        providerAction=PROVIDER_ACTIONS[a.id],
        requireConfirmation=a.require_confirmation,
    )


def invoice(view: InvoiceView, inv: Invoice, *, url: str, name: str | None = None) -> pd.Invoice:
    """The contract's ``Invoice`` (§7.6) from the unified view."""
    return pd.Invoice(
        id=inv.id,
        invoiceNumber=inv.number or "",
        contactName=name or inv.contact_name or "",
        statusCode=view.status_code,
        statusLabel=view.status_label,
        pipedriveStatusCode=status_code(view),
        total=view.total,
        paidAmount=view.paid,
        dueAmount=view.due,
        currencyCode=view.currency,
        dueDate=view.due_date.isoformat() if view.due_date else None,
        paidDate=view.paid_date.isoformat() if view.paid_date else None,
        actions=[action(a) for a in view.actions],
        providerInvoiceUrl=url,
        isShareable=view.is_shareable,
        isSent=view.is_sent,
    )


def summary(totals: Iterable[CurrencyTotals]) -> list[pd.SummaryRow]:
    """One row per currency (§7.9) from the totals the deal panel shows too
    (``app.invoices.rules.summary``): outstanding = unpaid and not overdue, overdue = unpaid
    and overdue, paid, total (what was invoiced)."""
    return [
        pd.SummaryRow(
            currency=t.currency,
            outstanding=t.outstanding,
            overdue=t.overdue,
            paid=t.paid,
            total=t.invoiced,
        )
        for t in totals
    ]
