"""The one function that applies a provider's invoice to our row, and the provider
differences the rules read from ``Features`` rather than from the provider's name."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from app.invoices.flows.apply import apply_invoice
from app.invoices.models import DealInvoice
from app.invoices.rules.checks import CheckInput, run_checks
from app.invoices.rules.lines import provider_draft
from app.invoices.schemas import LineIn, TotalsOut
from app.providers.base import Invoice, TaxMode
from tests.invoices.test_rules import QBO, XERO

D = Decimal


def row(**over) -> DealInvoice:
    values = {
        "company_id": "c",
        "provider": "xero",
        "idempotency_key": "k",
        "request_hash": "h",
        "currency": "NZD",
        "number": "INV-1",
        "contact_id": "contact-1",
        "contact_name": "Acme",
        "issue_date": date(2026, 3, 1),
        "due_date": date(2026, 3, 31),
        "url": "https://go.example/1",
    }
    values.update(over)
    return DealInvoice(**values)


def test_apply_invoice_takes_the_providers_figures_in_minor_units():
    ours = row(currency="JPY")
    apply_invoice(
        ours,
        Invoice(
            id="inv-9",
            number="INV-9",
            status="AUTHORISED",
            currency="JPY",
            contact_id="contact-2",
            contact_name="Acme Ltd",
            issue_date=date(2026, 3, 2),
            due_date=date(2026, 4, 1),
            subtotal=D("1000"),
            total_tax=D("150"),
            total=D("1150"),
            amount_due=D("150"),
            amount_paid=D("1000"),
        ),
        url="https://go.example/9",
    )
    assert (ours.provider_invoice_id, ours.number, ours.provider_status) == (
        "inv-9",
        "INV-9",
        "AUTHORISED",
    )
    assert (ours.contact_id, ours.contact_name) == ("contact-2", "Acme Ltd")
    assert (ours.issue_date, ours.due_date) == (date(2026, 3, 2), date(2026, 4, 1))
    # JPY has no minor unit: 1150 yen is 1150 units.
    assert (ours.subtotal_minor, ours.tax_minor, ours.total_minor) == (1000, 150, 1150)
    assert (ours.amount_due_minor, ours.amount_paid_minor) == (150, 1000)
    assert ours.url == "https://go.example/9"


def test_apply_invoice_keeps_what_the_provider_leaves_empty():
    ours = row()
    apply_invoice(
        ours,
        Invoice(id="inv-1", status="VOIDED", currency="", total=D("0"), amount_due=D("0")),
    )
    assert ours.provider_status == "VOIDED"
    assert (ours.number, ours.contact_id, ours.contact_name) == ("INV-1", "contact-1", "Acme")
    assert (ours.currency, ours.issue_date) == ("NZD", date(2026, 3, 1))
    assert ours.url == "https://go.example/1"
    assert ours.total_minor == 0 and ours.amount_due_minor == 0


def checks_of(meta, **over):
    values = {
        "currency": "EUR",
        "tax_mode": TaxMode.no_tax,
        "tax_code": None,
        "lines": [LineIn(description="Work", quantity=D("1"), unit_price=D("10"))],
        "totals": TotalsOut(subtotal=D("10"), tax=D("0"), total=D("10")),
        "contact_id": "c1",
        "creating_contact": False,
        "contact_name": "Acme",
        "contact_currency": "USD",
    }
    values.update(over)
    return {c.code: c for c in run_checks(meta, CheckInput(**values))}


def test_checks_follow_the_features_not_the_provider_name():
    xero, qbo = checks_of(XERO), checks_of(QBO)
    assert "add it in Xero" in xero["currency_not_enabled"].message
    assert qbo["currency_not_enabled"].message == "The currency EUR is not enabled in QuickBooks."
    # Only where contacts bill in one currency must the invoice's match it.
    assert "currency_mismatch" not in xero
    assert "bills in USD" in qbo["currency_mismatch"].message
    # A line without an item: a warning where description-only lines exist, else an error.
    assert xero["item_missing"].severity == "warning"
    assert qbo["item_missing"].severity == "error"


def test_the_draft_names_items_and_billing_email_as_the_features_say():
    line = LineIn(
        description="Work", quantity=D("1"), unit_price=D("10"), item_id="17", item_code="W-1"
    )
    common = {
        "contact_id": "c1",
        "issue_date": date(2026, 3, 1),
        "due_date": None,
        "currency": "USD",
        "tax_mode": TaxMode.no_tax,
        "tax_code": None,
        "template_id": None,
        "reference": None,
        "url": None,
        "lines": [line],
        "discount": None,
        "bill_email": "ap@example.com",
    }
    xero, qbo = provider_draft(XERO, **common), provider_draft(QBO, **common)
    assert (xero.lines[0].item_id, xero.lines[0].item_code, xero.bill_email) == (
        None,
        "W-1",
        None,
    )
    assert (qbo.lines[0].item_id, qbo.lines[0].item_code, qbo.bill_email) == (
        "17",
        None,
        "ap@example.com",
    )
