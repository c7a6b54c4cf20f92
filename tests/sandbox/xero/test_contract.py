"""Contract tests: a tour of every Accounting endpoint the stand-in serves, each request and
JSON answer validated against Xero's official spec (the `http` fixture checks every exchange
and fails the test on any violation; see contract.py)."""

from __future__ import annotations

import pytest

from tests.sandbox.xero.contract import accounting_spec
from tests.support.xero_spec import require_spec


@pytest.fixture(autouse=True)
def _spec_required() -> None:
    require_spec()  # skipped with the reason when absent; failed in CI


async def test_every_endpoint_conforms_to_the_spec(xero, http, recorder):
    assert accounting_spec() is not None
    for path in (
        "/Organisation",
        "/Users",
        "/Currencies",
        "/TaxRates",
        "/Accounts",
        "/BrandingThemes",
        "/Items",
        "/Contacts",
        "/Invoices",
        "/TaxRates/OUTPUT2",
    ):
        assert (await xero.get(path)).status_code == 200, path
    assert (await xero.get("/Contacts", params={"page": "1", "searchTerm": "a"})).status_code == 200
    assert (
        await xero.get("/Invoices", params={"page": "1", "Statuses": "PAID,DRAFT"})
    ).status_code == 200
    contact = (
        await xero.put(
            "/Contacts",
            {
                "Contacts": [
                    {
                        "Name": "Spec Co",
                        "EmailAddress": "a@spec.test",
                        "Addresses": [{"AddressType": "STREET", "City": "Wellington"}],
                    }
                ]
            },
            params={"summarizeErrors": "false"},
        )
    ).json()["Contacts"][0]
    assert (
        await xero.post(
            f"/Contacts/{contact['ContactID']}", {"Contacts": [{"EmailAddress": "b@spec.test"}]}
        )
    ).status_code == 200
    assert (await xero.get(f"/Contacts/{contact['ContactID']}")).status_code == 200
    item = (
        await xero.put(
            "/Items",
            {
                "Items": [
                    {
                        "Code": "SPEC-1",
                        "Name": "Spec item",
                        "SalesDetails": {"UnitPrice": 12.5, "AccountCode": "200"},
                    }
                ]
            },
        )
    ).json()["Items"][0]
    assert (
        await xero.post(
            f"/Items/{item['ItemID']}", {"Items": [{"Code": "SPEC-1", "Description": "d"}]}
        )
    ).status_code == 200
    assert (await xero.get(f"/Items/{item['ItemID']}")).status_code == 200
    invoice = {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact["ContactID"]},
        "Date": "2026-03-13",
        "DueDate": "2026-03-20",
        "LineAmountTypes": "Inclusive",
        "Reference": "Deal 31",
        "Url": "https://crm.test/deal/31",
        "CurrencyCode": "USD",
        "LineItems": [
            {
                "Description": "x",
                "Quantity": 2,
                "UnitAmount": 10.5,
                "ItemCode": "SPEC-1",
                "AccountCode": "200",
                "TaxType": "OUTPUT2",
                "DiscountRate": 5,
            }
        ],
    }
    created = await xero.put(
        "/Invoices",
        {"Invoices": [invoice]},
        params={"summarizeErrors": "false", "unitdp": "4"},
        headers={"Idempotency-Key": "spec-tour-1"},
    )
    inv = created.json()["Invoices"][0]
    path = f"/Invoices/{inv['InvoiceID']}"
    assert (await xero.post(path, {"Invoices": [{"Status": "AUTHORISED"}]})).status_code == 200
    assert (
        await xero.post(
            "/Invoices", {"Invoices": [{"InvoiceID": inv["InvoiceID"], "Reference": "Deal 31b"}]}
        )
    ).status_code == 200
    assert (await xero.get(path)).status_code == 200
    assert (await xero.get(f"{path}/OnlineInvoice")).status_code == 200
    assert (await xero.post(f"{path}/Email", {})).status_code == 204
    assert (await xero.get("/Invoices", params={"IDs": inv["InvoiceID"]})).status_code == 200
    # A refused write answers the spec's Error schema.
    assert (await xero.put("/Invoices", {"Invoices": [{"Type": "ACCREC"}]})).status_code == 400
    assert (await http.get("/xero/api/connections", headers=xero.headers())).status_code == 200
    assert recorder.checked_responses >= 25 and recorder.checked_requests >= 25
