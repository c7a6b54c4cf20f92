"""The unified invoice view (issue 4 item 6): one pure mapping per provider.

From an ``Invoice`` DTO to the provider's own status and label, Pipedrive's status code, the
amounts, the overdue flag, and the actions valid in that state, shaped like
pipedrive-invoicing-extension.md §7.6/§7.8. ``today`` is passed in (in the organisation's
timezone) so that the overdue rule is a pure function.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from app.providers.base import Invoice, ProviderName
from app.providers.quickbooks.spec import STATUS_LABELS as QBO_LABELS
from app.providers.xero.spec import STATUS_LABELS as XERO_LABELS

PipedriveStatus = Literal[
    "draft", "created", "issued", "paid", "voided", "deleted", "partiallyPaid"
]
Confirmation = Literal["regular", "destructive"]

ZERO = Decimal("0")

# The extension page's table and its example disagree on the email/link action names
# (§7.8, UNCONFIRMED which Pipedrive accepts); we follow the example, which matches the
# endpoint names. Change them here only.
CHANGE_STATUS = "changeInvoiceStatus"
DOWNLOAD = "downloadInvoice"
SEND_EMAIL = "postInvoiceEmail"
SHARE_LINK = "getInvoiceShareURL"


class InvoiceAction(BaseModel):
    """One button: ``id`` is the intended new state for status changes (e.g. VOIDED)."""

    model_config = ConfigDict(frozen=True)

    id: str
    label: str
    provider_action: str
    require_confirmation: Confirmation | None = None

    def to_pipedrive(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "label": self.label,
            "providerAction": self.provider_action,
        }
        if self.require_confirmation:
            out["requireConfirmation"] = self.require_confirmation
        return out


SUBMIT = InvoiceAction(id="SUBMITTED", label="Submit for approval", provider_action=CHANGE_STATUS)
APPROVE = InvoiceAction(id="AUTHORISED", label="Approve invoice", provider_action=CHANGE_STATUS)
VOID = InvoiceAction(
    id="VOIDED", label="Void invoice", provider_action=CHANGE_STATUS, require_confirmation="regular"
)
DELETE = InvoiceAction(
    id="DELETED",
    label="Delete invoice",
    provider_action=CHANGE_STATUS,
    require_confirmation="destructive",
)
EMAIL = InvoiceAction(id="EMAIL", label="Send email invoice", provider_action=SEND_EMAIL)
PDF = InvoiceAction(id="DOWNLOAD", label="Download invoice", provider_action=DOWNLOAD)
SHARE = InvoiceAction(id="URL", label="Get invoice URL to share", provider_action=SHARE_LINK)

# Which AccountingProvider method carries out each action id.
OPERATIONS = {
    "SUBMITTED": "submit_invoice",
    "AUTHORISED": "approve_invoice",
    "VOIDED": "void_invoice",
    "DELETED": "delete_invoice",
    "EMAIL": "email_invoice",
    "DOWNLOAD": "invoice_pdf",
    "URL": "share_url",
}


class InvoiceView(BaseModel):
    """What we show for an invoice, in the provider's words and in Pipedrive's."""

    model_config = ConfigDict(frozen=True)

    provider: ProviderName
    status_code: str
    status_label: str
    pipedrive_status: PipedriveStatus
    total: Decimal
    paid: Decimal
    due: Decimal
    currency: str
    due_date: date | None
    paid_date: date | None
    overdue: bool
    is_sent: bool
    is_shareable: bool
    actions: tuple[InvoiceAction, ...]

    def allows(self, action_id: str) -> bool:
        """Whether ``action_id`` is offered in the current state."""
        return any(a.id == action_id for a in self.actions)

    def to_pipedrive(
        self, invoice: Invoice, *, provider_invoice_url: str, contact_name: str | None = None
    ) -> dict[str, Any]:
        """The ``Invoice`` object of pipedrive-invoicing-extension.md §7.6.

        Amounts are JSON numbers there; they leave as Decimals for the JSON encoder to write.
        """
        out: dict[str, Any] = {
            "id": invoice.id,
            "invoiceNumber": invoice.number or "",
            "contactName": contact_name or invoice.contact_name or "",
            "statusCode": self.status_code,
            "statusLabel": self.status_label,
            "pipedriveStatusCode": self.pipedrive_status,
            "total": self.total,
            "paidAmount": self.paid,
            "dueAmount": self.due,
            "currencyCode": self.currency,
            "actions": [a.to_pipedrive() for a in self.actions],
            "providerInvoiceUrl": provider_invoice_url,
            "isShareable": self.is_shareable,
            "isSent": self.is_sent,
        }
        if self.due_date:
            out["dueDate"] = self.due_date.isoformat()
        if self.paid_date:
            out["paidDate"] = self.paid_date.isoformat()
        return out


def _overdue(invoice: Invoice, due: Decimal, today: date) -> bool:
    return due > ZERO and invoice.due_date is not None and invoice.due_date < today


def xero_view(invoice: Invoice, *, today: date, can_approve: bool) -> InvoiceView:
    """Xero statuses and transitions (xero.md §10.5, §10.7).

    DRAFT → SUBMITTED/AUTHORISED/DELETED; SUBMITTED → AUTHORISED/DELETED; AUTHORISED → VOIDED
    only with no payments or credits allocated; email only SUBMITTED/AUTHORISED/PAID; approval
    only when the connected user's role allows it (``can_approve``, see spec.role_can_approve).
    """
    status = invoice.status.upper()
    paid = invoice.amount_paid + invoice.amount_credited
    due = invoice.amount_due
    shareable = status in {"AUTHORISED", "PAID"}
    actions: list[InvoiceAction] = []
    if status == "DRAFT":
        actions.append(SUBMIT)
    if status in {"DRAFT", "SUBMITTED"} and can_approve:
        actions.append(APPROVE)
    if status == "AUTHORISED" and not invoice.has_payments and paid == ZERO:
        actions.append(VOID)
    if status in {"DRAFT", "SUBMITTED"}:
        actions.append(DELETE)
    if status in {"SUBMITTED", "AUTHORISED", "PAID"}:
        actions.append(EMAIL)
    if status != "DELETED":
        actions.append(PDF)
    if shareable:
        actions.append(SHARE)
    pipedrive: PipedriveStatus = {
        "DRAFT": "draft",
        "SUBMITTED": "created",
        "PAID": "paid",
        "VOIDED": "voided",
        "DELETED": "deleted",
    }.get(status, "issued")  # type: ignore[assignment]
    if status == "AUTHORISED" and ZERO < paid < invoice.total:
        pipedrive = "partiallyPaid"
    return InvoiceView(
        provider=ProviderName.xero,
        status_code=status,
        status_label=XERO_LABELS.get(status, status.title()),
        pipedrive_status=pipedrive,
        total=invoice.total,
        paid=paid,
        due=due,
        currency=invoice.currency,
        due_date=invoice.due_date,
        paid_date=invoice.paid_date if status == "PAID" else None,
        overdue=status == "AUTHORISED" and _overdue(invoice, due, today),
        is_sent=invoice.is_sent,
        is_shareable=shareable,
        actions=tuple(actions),
    )


def quickbooks_status(invoice: Invoice, today: date) -> str:
    """Derived QuickBooks status (quickbooks.md §8), evaluated top-down.

    A zero-total invoice that is not voided owes nothing, so it counts as paid.
    """
    if invoice.status == "DELETED":
        return "DELETED"
    if invoice.status == "VOIDED":
        return "VOIDED"
    balance, total = invoice.amount_due, invoice.total
    if balance <= ZERO:
        return "PAID"
    if balance < total:
        return "PARTIALLY_PAID"
    if _overdue(invoice, balance, today):
        return "OVERDUE"
    return "OPEN"


def quickbooks_view(invoice: Invoice, *, today: date) -> InvoiceView:
    """QuickBooks derived statuses and actions (quickbooks.md §3.5, §8).

    Void and delete are offered only while nothing is paid (voiding a paid invoice is
    UNCONFIRMED); email and PDF while the invoice exists; the share link when QuickBooks
    returned an InvoiceLink. There is no draft or approval step.
    """
    status = quickbooks_status(invoice, today)
    due = invoice.amount_due if status not in {"VOIDED", "DELETED"} else ZERO
    paid = invoice.amount_paid
    shareable = bool(invoice.online_url) and status not in {"VOIDED", "DELETED"}
    actions: list[InvoiceAction] = []
    if status in {"OPEN", "OVERDUE"} and not invoice.has_payments:
        actions += [VOID, DELETE]
    if status in {"OPEN", "OVERDUE", "PARTIALLY_PAID", "PAID"}:
        actions.append(EMAIL)
    if status != "DELETED":
        actions.append(PDF)
    if shareable:
        actions.append(SHARE)
    pipedrive: PipedriveStatus = {
        "OPEN": "issued",
        "OVERDUE": "issued",
        "PARTIALLY_PAID": "partiallyPaid",
        "PAID": "paid",
        "VOIDED": "voided",
        "DELETED": "deleted",
    }[status]  # type: ignore[assignment]
    return InvoiceView(
        provider=ProviderName.quickbooks,
        status_code=status,
        status_label=QBO_LABELS[status],
        pipedrive_status=pipedrive,
        total=invoice.total,
        paid=paid,
        due=due,
        currency=invoice.currency,
        due_date=invoice.due_date,
        paid_date=invoice.paid_date,
        overdue=status in {"OVERDUE", "PARTIALLY_PAID"} and _overdue(invoice, due, today),
        is_sent=invoice.is_sent,
        is_shareable=shareable,
        actions=tuple(actions),
    )


def invoice_view(
    provider: ProviderName | str, invoice: Invoice, *, today: date, can_approve: bool = True
) -> InvoiceView:
    """The unified view for either provider."""
    if ProviderName(provider) is ProviderName.xero:
        return xero_view(invoice, today=today, can_approve=can_approve)
    return quickbooks_view(invoice, today=today)
