"""Pipedrive's shapes of our invoice view: status codes, actions, the Invoice object, summary."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from app.extension import schemas as pd
from app.extension.view import PROVIDER_ACTIONS, action, invoice, status_code, summary
from app.invoices.rules.summary import totals_by_currency
from app.providers.base import ProviderName
from app.providers.view import OPERATIONS, InvoiceStage, invoice_view, quickbooks_view, xero_view
from tests.providers.test_view import TODAY, qbo_invoice, xero_invoice


@pytest.mark.parametrize(
    ("stage", "code"),
    [
        (InvoiceStage.draft, "draft"),
        (InvoiceStage.awaiting_approval, "created"),
        (InvoiceStage.issued, "issued"),
        (InvoiceStage.partially_paid, "partiallyPaid"),
        (InvoiceStage.paid, "paid"),
        (InvoiceStage.voided, "voided"),
        (InvoiceStage.deleted, "deleted"),
    ],
)
def test_every_stage_has_pipedrives_status_code(stage: InvoiceStage, code: str) -> None:
    view = xero_view(xero_invoice("DRAFT"), today=TODAY, can_approve=True)
    assert status_code(view.model_copy(update={"stage": stage})) == code


def test_provider_statuses_reach_pipedrives_codes() -> None:
    assert status_code(xero_view(xero_invoice("SUBMITTED"), today=TODAY, can_approve=True)) == (
        "created"
    )
    partly = xero_invoice("AUTHORISED", amount_paid=D("15.00"), amount_due=D("100.00"))
    assert status_code(xero_view(partly, today=TODAY, can_approve=True)) == "partiallyPaid"
    overdue = quickbooks_view(qbo_invoice(due_date=date(2026, 3, 19)), today=TODAY)
    assert overdue.status_code == "OVERDUE" and status_code(overdue) == "issued"


def test_actions_shape_follows_the_extension_contract() -> None:
    view = invoice_view(ProviderName.xero, xero_invoice("DRAFT"), today=TODAY)
    shaped = [action(a).model_dump(mode="json", exclude_none=True) for a in view.actions]
    assert shaped[0] == {
        "id": "SUBMITTED",
        "label": "Submit for approval",
        "providerAction": "changeInvoiceStatus",
    }
    delete = next(a for a in shaped if a["id"] == "DELETED")
    assert delete["requireConfirmation"] == "destructive"
    assert all(a["id"] in OPERATIONS for a in shaped)
    assert set(PROVIDER_ACTIONS) == set(OPERATIONS)


def test_invoice_object() -> None:
    inv = xero_invoice("PAID", amount_paid=D("115.00"), amount_due=D(0),
                       paid_date=date(2026, 3, 18), is_sent=True)  # fmt: skip
    view = invoice_view("xero", inv, today=TODAY)
    body = invoice(view, inv, url="https://go.example/inv-1")
    assert body.statusCode == "PAID"
    assert body.statusLabel == "Paid"
    assert body.pipedriveStatusCode == "paid"
    assert body.paidAmount == D("115.00") and body.dueAmount == D(0)
    assert body.dueDate == "2026-03-27" and body.paidDate == "2026-03-18"
    assert body.isSent is True and body.isShareable is True
    assert body.invoiceNumber == "INV-0001" and body.contactName == "Acme Ltd"
    assert body.providerInvoiceUrl == "https://go.example/inv-1"


def test_summary_counts_receivables_only() -> None:
    views = [
        xero_view(xero_invoice("DRAFT"), today=TODAY, can_approve=True),
        xero_view(xero_invoice("SUBMITTED"), today=TODAY, can_approve=True),
        xero_view(xero_invoice("AUTHORISED"), today=TODAY, can_approve=True),
        xero_view(
            xero_invoice("AUTHORISED", due_date=date(2026, 3, 19)), today=TODAY, can_approve=True
        ),
        xero_view(
            xero_invoice("PAID", amount_paid=D("115.00"), amount_due=D(0)),
            today=TODAY,
            can_approve=True,
        ),
        xero_view(xero_invoice("VOIDED", amount_due=D(0)), today=TODAY, can_approve=True),
    ]
    assert summary(totals_by_currency(views)) == [
        pd.SummaryRow(
            currency="NZD",
            outstanding=D("115.00"),
            overdue=D("115.00"),
            paid=D("115.00"),
            total=D("345.00"),
        )
    ]
