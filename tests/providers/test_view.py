"""The unified invoice view: every status of both providers, labels, amounts and actions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from typing import Any

import pytest

from app.providers.base import Invoice, ProviderName
from app.providers.view import OPERATIONS, invoice_view, quickbooks_view, xero_view
from app.providers.xero.spec import role_can_approve

TODAY = date(2026, 3, 20)


def xero_invoice(status: str, **kw: Any) -> Invoice:
    values: dict[str, Any] = {
        "id": "inv-1",
        "number": "INV-0001",
        "contact_name": "Acme Ltd",
        "status": status,
        "currency": "NZD",
        "issue_date": date(2026, 3, 13),
        "due_date": date(2026, 3, 27),
        "total": D("115.00"),
        "amount_due": D("115.00"),
    }
    values.update(kw)
    return Invoice(**values)


XERO_TABLE = [
    # status, extra, label, stage, actions, overdue, shareable
    ("DRAFT", {}, "Draft", "draft",
     ["SUBMITTED", "AUTHORISED", "DELETED", "DOWNLOAD"], False, False),
    ("SUBMITTED", {}, "Awaiting approval", "awaiting_approval",
     ["AUTHORISED", "DELETED", "EMAIL", "DOWNLOAD"], False, False),
    ("AUTHORISED", {}, "Awaiting payment", "issued",
     ["VOIDED", "EMAIL", "DOWNLOAD", "URL"], False, True),
    ("AUTHORISED", {"due_date": date(2026, 3, 19)}, "Awaiting payment", "issued",
     ["VOIDED", "EMAIL", "DOWNLOAD", "URL"], True, True),
    ("AUTHORISED", {"amount_paid": D("15.00"), "amount_due": D("100.00"), "has_payments": True},
     "Awaiting payment", "partially_paid", ["EMAIL", "DOWNLOAD", "URL"], False, True),
    ("AUTHORISED", {"amount_credited": D("15.00"), "amount_due": D("100.00"),
                    "has_payments": True},
     "Awaiting payment", "partially_paid", ["EMAIL", "DOWNLOAD", "URL"], False, True),
    ("PAID", {"amount_paid": D("115.00"), "amount_due": D(0), "paid_date": date(2026, 3, 18),
              "has_payments": True, "due_date": date(2026, 3, 1)},
     "Paid", "paid", ["EMAIL", "DOWNLOAD", "URL"], False, True),
    ("VOIDED", {"amount_due": D(0)}, "Voided", "voided", ["DOWNLOAD"], False, False),
    ("DELETED", {"amount_due": D(0)}, "Deleted", "deleted", [], False, False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("status", "extra", "label", "stage", "actions", "overdue", "shareable"), XERO_TABLE
)
def test_xero_statuses(
    status: str,
    extra: dict[str, Any],
    label: str,
    stage: str,
    actions: list[str],
    overdue: bool,
    shareable: bool,
) -> None:
    view = xero_view(xero_invoice(status, **extra), today=TODAY, can_approve=True)
    assert view.status_code == status
    assert view.status_label == label
    assert view.stage == stage
    assert [a.id for a in view.actions] == actions
    assert view.overdue is overdue
    assert view.is_shareable is shareable
    assert view.total == D("115.00")
    assert view.due == extra.get("amount_due", D("115.00"))


@pytest.mark.parametrize("status", ["DRAFT", "SUBMITTED"])
def test_xero_approve_only_when_role_allows(status: str) -> None:
    view = xero_view(xero_invoice(status), today=TODAY, can_approve=False)
    assert not view.allows("AUTHORISED")
    assert view.allows("DELETED")


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("STANDARD", True), ("FINANCIALADVISER", True), ("financialadviser", True),
     ("INVOICEONLY", False), ("READONLY", False), ("MANAGEDCLIENT", False), (None, False)],
)  # fmt: skip
def test_xero_roles_that_approve(role: str | None, allowed: bool) -> None:
    assert role_can_approve(role) is allowed


def test_xero_paid_date_only_when_paid() -> None:
    view = xero_view(
        xero_invoice("AUTHORISED", paid_date=date(2026, 3, 1)), today=TODAY, can_approve=True
    )
    assert view.paid_date is None


def qbo_invoice(**kw: Any) -> Invoice:
    values: dict[str, Any] = {
        "id": "130",
        "number": "1037",
        "contact_name": "Globex Corporation",
        "status": "ACTIVE",
        "currency": "USD",
        "issue_date": date(2026, 3, 1),
        "due_date": date(2026, 3, 31),
        "total": D("500.00"),
        "amount_due": D("500.00"),
    }
    values.update(kw)
    return Invoice(**values)


QBO_TABLE = [
    ({}, "OPEN", "Open", "issued", ["VOIDED", "DELETED", "EMAIL", "DOWNLOAD"], False),
    ({"online_url": "https://pay.example/i/130"}, "OPEN", "Open", "issued",
     ["VOIDED", "DELETED", "EMAIL", "DOWNLOAD", "URL"], False),
    ({"due_date": date(2026, 3, 19)}, "OVERDUE", "Overdue", "issued",
     ["VOIDED", "DELETED", "EMAIL", "DOWNLOAD"], True),
    ({"amount_due": D("200.00"), "amount_paid": D("300.00"), "has_payments": True},
     "PARTIALLY_PAID", "Partially paid", "partially_paid", ["EMAIL", "DOWNLOAD"], False),
    ({"amount_due": D("200.00"), "amount_paid": D("300.00"), "has_payments": True,
      "due_date": date(2026, 3, 2)},
     "PARTIALLY_PAID", "Partially paid", "partially_paid", ["EMAIL", "DOWNLOAD"], True),
    ({"amount_due": D(0), "amount_paid": D("500.00"), "has_payments": True,
      "due_date": date(2026, 3, 2)},
     "PAID", "Paid", "paid", ["EMAIL", "DOWNLOAD"], False),
    ({"status": "VOIDED", "total": D(0), "amount_due": D(0), "online_url": "https://x"},
     "VOIDED", "Voided", "voided", ["DOWNLOAD"], False),
    ({"status": "DELETED"}, "DELETED", "Deleted", "deleted", [], False),
]  # fmt: skip


@pytest.mark.parametrize(("extra", "status", "label", "stage", "actions", "overdue"), QBO_TABLE)
def test_quickbooks_statuses(
    extra: dict[str, Any],
    status: str,
    label: str,
    stage: str,
    actions: list[str],
    overdue: bool,
) -> None:
    view = quickbooks_view(qbo_invoice(**extra), today=TODAY)
    assert view.status_code == status
    assert view.status_label == label
    assert view.stage == stage
    assert [a.id for a in view.actions] == actions
    assert view.overdue is overdue
    assert not view.allows("AUTHORISED") and not view.allows("SUBMITTED")


def test_quickbooks_due_today_is_not_overdue() -> None:
    view = quickbooks_view(qbo_invoice(due_date=TODAY), today=TODAY)
    assert view.status_code == "OPEN"


def test_every_action_is_carried_out_by_an_adapter_operation() -> None:
    view = invoice_view(ProviderName.xero, xero_invoice("DRAFT"), today=TODAY)
    assert [a.id for a in view.actions] == ["SUBMITTED", "AUTHORISED", "DELETED", "DOWNLOAD"]
    delete = next(a for a in view.actions if a.id == "DELETED")
    assert delete.require_confirmation == "destructive"
    assert all(a.id in OPERATIONS for a in view.actions)
