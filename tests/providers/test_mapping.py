"""Pure mapping details of both providers that the client tests do not reach."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal as D

import pytest

from app.providers.base import Address, ContactInput, TaxMode
from app.providers.jsonutil import dumps, loads
from app.providers.quickbooks import errors as qerrors
from app.providers.quickbooks import mapping as qm
from app.providers.quickbooks import records as qr
from app.providers.xero import errors as xerrors
from app.providers.xero import mapping as xm


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/Date(1539993600000+0000)/", datetime(2018, 10, 20, tzinfo=UTC)),
        ("/Date(1551981568133)/", datetime(2019, 3, 7, 17, 59, 28, 133000, tzinfo=UTC)),
        ("2019-12-07T18:46:19.5165400", None),
        ("2020-02-06T12:17:43.202-08:00",
         datetime(2020, 2, 6, 12, 17, 43, 202000, tzinfo=timezone(timedelta(hours=-8)))),
    ],
)  # fmt: skip
def test_xero_datetimes_are_aware(raw: str, expected: datetime | None) -> None:
    parsed = xm.parse_datetime(raw)
    assert parsed is not None and parsed.tzinfo is not None
    if expected:
        assert parsed == expected


def test_xero_ms_date_with_offset_keeps_the_instant() -> None:
    parsed = xm.parse_datetime("/Date(1539993600000+1300)/")
    assert parsed == datetime(2018, 10, 20, tzinfo=UTC)
    assert parsed is not None and parsed.utcoffset() == timedelta(hours=13)
    assert xm.parse_date("/Date(1539993600000+1300)/") == date(2018, 10, 20)
    assert xm.parse_date("2019-03-07 00:00:00") == date(2019, 3, 7)
    assert xm.parse_date(None) is None


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ("The document DueDate field must be specified.", "due_date"),
        ("The TaxType code OUTPUT2 cannot be used with account code 400.", "tax_code"),
        ("Account code '999' is not a valid code for this document.", "account_code"),
        ("The contact name Acme Ltd is already assigned to another contact.", "name"),
        ("The Contact must contain at least 1 of the following elements", "contact_id"),
        ("Something nobody mapped", None),
    ],
)
def test_xero_field_from_message(message: str, field: str | None) -> None:
    assert xerrors.guess_field(message) == field


def test_xero_contact_round_trip() -> None:
    body = xm.contact_to_json(
        ContactInput(
            name="Acme Ltd",
            address=Address(
                lines=("12 Queen Street",),
                city="Auckland",
                postal_code="1010",
                country="New Zealand",
            ),
        )
    )
    assert body["Addresses"] == [
        {"AddressType": "POBOX", "AddressLine1": "12 Queen Street", "City": "Auckland",
         "PostalCode": "1010", "Country": "New Zealand"}
    ]  # fmt: skip
    contact = xm.contact_from_json(
        {
            "ContactID": "c1",
            **body,
            "PaymentTerms": {"Sales": {"Day": 7, "Type": "DAYSAFTERBILLDATE"}},
        }
    )
    assert contact.address is not None and contact.address.city == "Auckland"
    assert contact.payment_terms is not None and contact.payment_terms.day == 7


def test_xero_voided_invoice_without_payments_has_none() -> None:
    invoice = xm.invoice_from_json(
        {"InvoiceID": "i", "Status": "VOIDED", "Total": 10, "AmountDue": 0, "AmountPaid": 0,
         "LineAmountTypes": "Inclusive", "CurrencyCode": "NZD"}
    )  # fmt: skip
    assert not invoice.has_payments and invoice.tax_mode is TaxMode.inclusive


def test_quickbooks_void_detection() -> None:
    voided = {"Id": "1", "TotalAmt": 0, "Balance": 0, "PrivateNote": "Voided - deal 31"}
    assert qm.lifecycle_status(voided) == "VOIDED"
    assert qm.lifecycle_status({"Id": "1", "TotalAmt": 0, "Balance": 0}) == "ACTIVE"
    assert qm.lifecycle_status({"Id": "1", "status": "Deleted"}) == "DELETED"


def test_quickbooks_tax_number_lives_in_notes() -> None:
    body = qr.contact_to_json(ContactInput(tax_number=""), "Tax ID: OLD\nVIP")
    assert body["Notes"] == "VIP"
    assert qr.contact_from_json({"Id": "1", "PrimaryTaxIdentifier": "X-1"}).tax_number == "X-1"


def test_quickbooks_rate_based_codes_outside_the_us() -> None:
    codes = [
        {"Id": "5", "Name": "GST", "SalesTaxRateList": {"TaxRateDetail": [
            {"TaxRateRef": {"value": "1"}}, {"TaxRateRef": {"value": "2"}}]}},
        {"Id": "6", "Name": "Purchases", "PurchaseTaxRateList": {"TaxRateDetail": [
            {"TaxRateRef": {"value": "1"}}]}},
        {"Id": "7", "Name": "Exempt"},
        {"Id": "8", "Name": "Old", "Active": False},
    ]  # fmt: skip
    rates = [{"Id": "1", "RateValue": 5}, {"Id": "2", "RateValue": "9.975"}]
    out = qr.tax_rates_from_json(codes, rates, us_sales_tax=False)
    assert [(r.code, r.rate) for r in out] == [("5", D("14.975")), ("7", D(0))]
    features = qr.features_from_json(
        {"Country": "CA"}, {"SalesFormsPrefs": {"CustomTxnNumbers": True}}
    )
    assert features.tax_option == "multiple" and TaxMode.inclusive in features.tax_modes
    assert features.invoice_number == "mandatory"


def test_quickbooks_fault_messages_are_plain() -> None:
    error = {
        "Message": "A business validation error has occurred",
        "Detail": "Unexpected Internal Error. (-30003)",
        "code": "6000",
    }
    fault = {"Error": [error]}
    ((code, message),) = qerrors.fault_messages(fault)
    assert code == "6000"
    assert message.message == (
        "A business validation error has occurred: Unexpected Internal Error. (-30003)"
    )


def test_json_keeps_decimals_exact() -> None:
    text = dumps({"a": D("0.10"), "b": [D("1E+2"), 3, None], "c": date(2026, 3, 13)})
    assert text == '{"a":0.10,"b":[100,3,null],"c":"2026-03-13"}'
    assert loads(text)["a"] == D("0.10")
    with pytest.raises(ValueError):
        dumps(D("NaN"))
