"""The unified invoice view (issue 4 item 6): one pure mapping per provider.

From an ``Invoice`` DTO to the provider's own status and label, its place in a provider-neutral
lifecycle (``InvoiceStage``), the amounts, the overdue flag, and the actions the provider allows
in that state. ``today`` is passed in (in the organisation's timezone) so that the overdue rule
is a pure function. Surfaces shape the view for their callers (the extension:
``app.extension.view``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from app.providers.base import Invoice, ProviderName
from app.providers.quickbooks.spec import STATUS_LABELS as QBO_LABELS
from app.providers.xero.spec import STATUS_LABELS as XERO_LABELS

Confirmation = Literal["regular", "destructive"]

ZERO = Decimal("0")


class InvoiceAction(BaseModel):
    """One button: ``id`` is the intended new state for status changes (e.g. VOIDED)."""

    model_config = ConfigDict(frozen=True)

    id: str
    label: str
    require_confirmation: Confirmation | None = None


SUBMIT = InvoiceAction(id="SUBMITTED", label="Submit for approval")
APPROVE = InvoiceAction(id="AUTHORISED", label="Approve invoice")
VOID = InvoiceAction(id="VOIDED", label="Void invoice", require_confirmation="regular")
DELETE = InvoiceAction(id="DELETED", label="Delete invoice", require_confirmation="destructive")
EMAIL = InvoiceAction(id="EMAIL", label="Send email invoice")
PDF = InvoiceAction(id="DOWNLOAD", label="Download invoice")
SHARE = InvoiceAction(id="URL", label="Get invoice URL to share")

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


class InvoiceStage(StrEnum):
    """Where an invoice is in its life, whatever the provider calls it."""

    draft = "draft"
    awaiting_approval = "awaiting_approval"
    # Issued and unpaid (whether overdue or not: see ``InvoiceView.overdue``).
    issued = "issued"
    partially_paid = "partially_paid"
    paid = "paid"
    voided = "voided"
    deleted = "deleted"


class InvoiceView(BaseModel):
    """What we show for an invoice, in the provider's words and in neutral ones."""

    model_config = ConfigDict(frozen=True)

    provider: ProviderName
    status_code: str
    status_label: str
    stage: InvoiceStage
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


XERO_STAGES = {
    "DRAFT": InvoiceStage.draft,
    "SUBMITTED": InvoiceStage.awaiting_approval,
    "PAID": InvoiceStage.paid,
    "VOIDED": InvoiceStage.voided,
    "DELETED": InvoiceStage.deleted,
}
QUICKBOOKS_STAGES = {
    "OPEN": InvoiceStage.issued,
    "OVERDUE": InvoiceStage.issued,
    "PARTIALLY_PAID": InvoiceStage.partially_paid,
    "PAID": InvoiceStage.paid,
    "VOIDED": InvoiceStage.voided,
    "DELETED": InvoiceStage.deleted,
}


def _overdue(invoice: Invoice, due: Decimal, today: date) -> bool:
    return due > ZERO and invoice.due_date is not None and invoice.due_date < today


def xero_view(invoice: Invoice, *, today: date, can_approve: bool) -> InvoiceView:
    """Xero statuses and transitions (xero.md §10.5, §10.7).

    DRAFT → SUBMITTED/AUTHORISED/DELETED; SUBMITTED → AUTHORISED/DELETED; AUTHORISED → VOIDED
    only with no payments or credits allocated; email only SUBMITTED/AUTHORISED/PAID; approval
    only when the connected user's role allows it (``can_approve``, see spec.role_can_approve)
    and the invoice has a due date (Xero refuses to approve one without: "The document DueDate
    field must be specified.").
    """
    status = invoice.status.upper()
    paid = invoice.amount_paid + invoice.amount_credited
    due = invoice.amount_due
    shareable = status in {"AUTHORISED", "PAID"}
    actions: list[InvoiceAction] = []
    if status == "DRAFT":
        actions.append(SUBMIT)
    if status in {"DRAFT", "SUBMITTED"} and can_approve and invoice.due_date is not None:
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
    stage = XERO_STAGES.get(status, InvoiceStage.issued)
    if status == "AUTHORISED" and ZERO < paid < invoice.total:
        stage = InvoiceStage.partially_paid
    return InvoiceView(
        provider=ProviderName.xero,
        status_code=status,
        status_label=XERO_LABELS.get(status, status.title()),
        stage=stage,
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
    return InvoiceView(
        provider=ProviderName.quickbooks,
        status_code=status,
        status_label=QBO_LABELS[status],
        stage=QUICKBOOKS_STAGES[status],
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
