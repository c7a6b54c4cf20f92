"""The one function that applies a provider's invoice to our row, and the provider
differences the rules read from ``Features`` rather than from the provider's name."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from app.invoices.flows.apply import apply_deleted, apply_invoice, is_older
from app.invoices.models import DealInvoice
from app.invoices.rules.checks import CheckInput, run_checks
from app.invoices.rules.dates import today_in
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


def test_today_turns_at_the_organisation_s_midnight() -> None:
    # 11:30 UTC on 4 December is already 5 December in Auckland (UTC+13 in summer).
    now = datetime(2026, 12, 4, 11, 30, tzinfo=UTC)
    assert today_in("NEWZEALANDSTANDARDTIME", now) == date(2026, 12, 5)
    assert today_in("Pacific/Auckland", now) == date(2026, 12, 5)
    assert today_in("America/Los_Angeles", now) == date(2026, 12, 4)
    assert today_in(None, now) == date(2026, 12, 4)
    assert today_in("Not/AZone", now) == date(2026, 12, 4)


def version(n: int, status: str, paid: str, token: str | None = None) -> Invoice:
    base = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    return Invoice(
        id="inv-1",
        status=status,
        currency="NZD",
        total=Decimal("100.00"),
        amount_paid=Decimal(paid),
        amount_due=Decimal("100.00") - Decimal(paid),
        updated_at=base + timedelta(seconds=n),
        sync_token=token,
    )


def test_an_older_version_never_overwrites_a_newer_one() -> None:
    r = row()
    assert apply_invoice(r, version(2, "PAID", "100.00"))
    assert not apply_invoice(r, version(1, "AUTHORISED", "0.00"))
    assert r.provider_status == "PAID" and r.amount_due_minor == 0
    # The same version again is applied (idempotent), a newer one too.
    assert apply_invoice(r, version(2, "PAID", "100.00"))


def test_quickbooks_sync_tokens_decide_when_times_tie() -> None:
    r = row()
    apply_invoice(r, version(5, "Paid", "100.00", token="7"))
    assert is_older(r, version(5, "Open", "0.00", token="6"))
    assert not is_older(r, version(5, "Paid", "100.00", token="8"))


def test_a_deleted_invoice_is_kept_as_deleted_with_nothing_due() -> None:
    r = row()
    apply_invoice(r, version(1, "Open", "0.00"))
    assert apply_deleted(r, datetime(2026, 12, 5, tzinfo=UTC))
    assert r.provider_status == "DELETED" and r.amount_due_minor == 0
    assert not apply_deleted(r)


@given(st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=20), st.randoms())
def test_in_any_order_the_newest_version_wins(stamps: list[int], rnd: random.Random) -> None:
    versions = [version(n, f"S{n}", "0.00") for n in stamps]
    rnd.shuffle(versions)
    r = row()
    for v in versions:
        apply_invoice(r, v)
    assert r.provider_status == f"S{max(stamps)}"
