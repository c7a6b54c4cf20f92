"""The QuickBooks adapter against an in-process fake shaped like quickbooks.md's examples."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import httpx2
import pytest

from app.config import QuickBooksSettings
from app.invoices.rules.meta import features_json
from app.kit.http import RetryPolicy
from app.providers.base import (
    ContactInput,
    Credentials,
    GlobalDiscount,
    InvoiceDraft,
    InvoiceLineDraft,
    ItemInput,
    Organisation,
    TaxMode,
)
from app.providers.errors import (
    ProviderAuthError,
    ProviderConflict,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderUnavailable,
    ProviderUnsupported,
    ProviderValidationError,
)
from app.providers.jsonutil import loads
from app.providers.quickbooks import QuickBooksProvider
from app.providers.quickbooks.records import quote
from tests.providers.fakes import Recorder, json_response

REALM = "9130350000000001"
CREDS = Credentials(access_token="qat", tenant_id=REALM)
FAST = RetryPolicy(attempts=3, wait_scale=0.001)

INVOICE = {
    "Id": "3",
    "SyncToken": "1",
    "domain": "QBO",
    "sparse": False,
    "MetaData": {
        "CreateTime": "2020-04-03T14:11:02-07:00",
        "LastUpdatedTime": "2020-04-06T08:39:26-07:00",
    },
    "DocNumber": "1001",
    "TxnDate": "2020-04-03",
    "DueDate": "2020-05-03",
    "CurrencyRef": {"value": "USD", "name": "United States Dollar"},
    "CustomerRef": {"value": "4", "name": "C&L Enterprises"},
    "LinkedTxn": [],
    "Line": [
        {
            "Id": "1",
            "LineNum": 1,
            "Amount": 100.0,
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {
                "ItemRef": {"value": "2", "name": "Hours"},
                "UnitPrice": 50,
                "Qty": 2,
                "ItemAccountRef": {"value": "1", "name": "Services"},
                "TaxCodeRef": {"value": "NON"},
            },
        },
        {"Amount": 100.0, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}},
    ],
    "TxnTaxDetail": {"TotalTax": 0},
    "TotalAmt": 100.0,
    "Balance": 40.0,
    "PrintStatus": "NotSet",
    "EmailStatus": "NotSet",
    "BillEmail": {"Address": "ap@cl.test"},
    "GlobalTaxCalculation": "TaxExcluded",
}
COMPANY = {
    "CompanyName": "Northwind Traders US",
    "Country": "US",
    "DefaultTimeZone": "America/New_York",
}
PREFS = {
    "CurrencyPrefs": {"MultiCurrencyEnabled": True, "HomeCurrency": {"value": "USD"}},
    "SalesFormsPrefs": {"CustomTxnNumbers": False, "AllowDiscount": True},
    "TaxPrefs": {"UsingSalesTax": True, "PartnerTaxEnabled": True},
}
ROWS: dict[str, list[dict[str, Any]]] = {
    "Customer": [{"Id": "4", "DisplayName": "C&L Enterprises", "SyncToken": "0",
                  "PrimaryEmailAddr": {"Address": "ap@cl.test"}, "CurrencyRef": {"value": "USD"},
                  "BillAddr": {"Line1": "1 Main St", "City": "Austin",
                               "CountrySubDivisionCode": "TX", "PostalCode": "78701"},
                  "Notes": "Key account\nTax ID: US-98-7654321"}],
    "Item": [{"Id": "2", "Name": "Consulting hour", "Sku": "CONS-HR", "UnitPrice": 150,
              "IncomeAccountRef": {"value": "79"}, "Active": True, "SyncToken": "0"},
             {"Id": "5", "Name": "Support plan (monthly)", "UnitPrice": 99, "Active": True},
             {"Id": "9", "Name": "Old thing", "Sku": "CONS-HR", "Active": False}],
    "Account": [{"Id": "79", "Name": "Sales", "AccountType": "Income", "Classification": "Revenue"},
                {"Id": "80", "Name": "Other", "AccountType": "Other Income"},
                {"Id": "35", "Name": "Checking", "AccountType": "Bank"}],
    "TaxCode": [{"Id": "TAX", "Name": "TAX", "Active": True},
                {"Id": "NON", "Name": "NON", "Active": True}],
    "TaxRate": [],
    "CompanyCurrency": [{"Code": "EUR", "Name": "Euro", "Active": True},
                        {"Code": "GBP", "Name": "British Pound", "Active": True}],
    "Invoice": [INVOICE],
}  # fmt: skip


class FakeQuickBooks:
    def __init__(self) -> None:
        self.sync_token = 1
        self.stale_once = False

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path.removeprefix(f"/v3/company/{REALM}/")
        params = request.url.params
        assert params["minorversion"] == "75"
        if request.method == "GET":
            if path.endswith("/pdf"):
                return httpx2.Response(200, content=b"%PDF-qbo")
            if path == "query":
                entity = re.search(r"FROM (\w+)", params["query"]).group(1)  # type: ignore[union-attr]
                rows = ROWS.get(entity, [])
                return json_response(200, {"QueryResponse": {entity: rows} if rows else {}})
            if path == "preferences":
                return json_response(200, {"Preferences": PREFS})
            if path.startswith("companyinfo/"):
                return json_response(200, {"CompanyInfo": COMPANY})
            if path == "cdc":
                deleted = {"Id": "8", "status": "Deleted", "MetaData": {}}
                return json_response(
                    200,
                    {"CDCResponse": [{"QueryResponse": [{"Invoice": [INVOICE, deleted]}]}],
                     "time": "2026-03-20T10:00:00-07:00"},
                )  # fmt: skip
            entity, ident = path.split("/")
            if entity == "invoice" and ident == "404":
                return json_response(
                    400,
                    {"Fault": {"Error": [{"Message": "Object Not Found", "code": "610"}],
                               "type": "ValidationFault"}},
                )  # fmt: skip
            row = dict(next(r for r in ROWS[entity.capitalize()] if r["Id"] == ident))
            row["SyncToken"] = str(self.sync_token)
            if params.get("include") == "invoiceLink":
                row["InvoiceLink"] = "https://connect.intuit.test/t/abc"
            return json_response(200, {entity.capitalize(): row})
        assert "requestid" in params
        if path.endswith("/send"):
            assert request.headers["Content-Type"] == "application/octet-stream"
            return json_response(200, {"Invoice": {**INVOICE, "EmailStatus": "EmailSent"}})
        body = loads(request.content)
        if self.stale_once:
            self.stale_once = False
            self.sync_token += 1
            return json_response(
                400,
                {"Fault": {"Error": [{"Message": "Stale Object Error", "code": "5010"}],
                           "type": "ValidationFault"}},
            )  # fmt: skip
        if "SyncToken" in body:
            assert body["SyncToken"] == str(self.sync_token), "stale token sent"
        entity = path.capitalize()
        operation = params.get("operation")
        if operation == "delete":
            return json_response(200, {"Invoice": {"Id": body["Id"], "status": "Deleted"}})
        if operation == "void":
            return json_response(
                200,
                {"Invoice": {**INVOICE, "TotalAmt": 0, "Balance": 0,
                             "PrivateNote": "Voided", "SyncToken": "2"}},
            )  # fmt: skip
        return json_response(200, {entity: {"Id": body.get("Id", "101"), "SyncToken": "0", **body}})


@pytest.fixture
async def fake() -> AsyncIterator[tuple[QuickBooksProvider, Recorder, FakeQuickBooks]]:
    qbo = FakeQuickBooks()
    recorder = Recorder(qbo)
    async with recorder.client() as http:
        settings = QuickBooksSettings(api_url="http://qbo.test", app_url="https://app.qbo.test")
        yield QuickBooksProvider(settings, http, retry=FAST), recorder, qbo


def statements(recorder: Recorder) -> list[str]:
    return [r.url.params["query"] for r in recorder.requests if r.url.path.endswith("/query")]


async def test_organisation_features_and_lookups(fake: Any) -> None:
    qbo, recorder, _ = fake
    org = await qbo.get_organisation(CREDS)
    assert (org.id, org.name, org.base_currency, org.country) == (
        REALM, "Northwind Traders US", "USD", "US")  # fmt: skip
    features = await qbo.get_features(CREDS)
    link = features_json(features)
    assert link["invoiceTaxModeOptions"] == {"taxExclusive": True, "taxInclusive": False,
                                             "noTax": True}  # fmt: skip
    assert link["invoiceTaxOption"] == "single"
    assert link["invoiceDiscountOptions"] == {"globalDiscount": True, "lineDiscount": False}
    assert not features.templates and not features.approval
    assert link["validations"]["product"]["name"]["maxLength"] == 100
    currencies = await qbo.list_currencies(CREDS)
    assert [(c.code, c.is_base) for c in currencies] == [
        ("USD", True), ("EUR", False), ("GBP", False)]  # fmt: skip
    rates = await qbo.list_tax_rates(CREDS)
    assert [(r.code, r.rate_decided_by_provider) for r in rates] == [("TAX", True), ("NON", False)]
    accounts = await qbo.list_accounts(CREDS)
    assert [a.id for a in accounts] == ["79", "80"]
    assert await qbo.list_templates(CREDS) == []
    assert all(r.headers["Authorization"] == "Bearer qat" for r in recorder.requests)


async def test_contacts(fake: Any) -> None:
    qbo, recorder, state = fake
    page = await qbo.search_contacts(CREDS, "O'Brien", page=2, page_size=10)
    assert statements(recorder)[-1] == (
        "SELECT * FROM Customer WHERE DisplayName LIKE '%O\\'Brien%' ORDERBY DisplayName "
        "STARTPOSITION 11 MAXRESULTS 10"
    )
    assert page.items[0].tax_number == "US-98-7654321"
    contact = await qbo.get_contact(CREDS, "4")
    assert contact.address is not None and contact.address.city == "Austin"
    created = await qbo.create_contact(
        CREDS, ContactInput(name="Acme: NZ", email="a@acme.test", currency="NZD",
                            tax_number="NZ-1"), idempotency_key="cust-11",
    )  # fmt: skip
    sent = recorder.last()
    assert sent.url.params["requestid"] == "cust-11"
    body = loads(sent.content)
    assert body["DisplayName"] == "Acme- NZ" and body["CurrencyRef"] == {"value": "NZD"}
    assert body["Notes"] == "Tax ID: NZ-1" and created.tax_number == "NZ-1"
    state.stale_once = True
    updated = await qbo.update_contact(CREDS, "4", ContactInput(tax_number="US-1"))
    body = loads(recorder.last().content)
    assert body["sparse"] is True and body["Id"] == "4"
    assert body["Notes"] == "Key account\nTax ID: US-1"  # other notes kept
    assert updated.tax_number == "US-1"


async def test_items(fake: Any) -> None:
    qbo, recorder, _ = fake
    by_code = await qbo.search_items(CREDS, code="cons-hr")
    assert [i.id for i in by_code] == ["2"]  # the inactive duplicate Sku is left out
    assert statements(recorder)[-1] == "SELECT *, Sku FROM Item MAXRESULTS 1000"
    by_name = await qbo.search_items(CREDS, name="support")
    assert [i.name for i in by_name] == ["Support plan (monthly)"]
    assert "Name LIKE '%support%'" in statements(recorder)[-1]
    assert (await qbo.get_item(CREDS, "2")).code == "CONS-HR"
    with pytest.raises(ProviderValidationError) as exc:
        await qbo.create_item(CREDS, ItemInput(name="Kit"), idempotency_key="i")
    assert exc.value.field == "account_code"
    made = await qbo.create_item(
        CREDS, ItemInput(name="Kit", code="HW-KIT", unit_price=D("349.95"), account_code="79"),
        idempotency_key="item-6",
    )  # fmt: skip
    assert loads(recorder.last().content)["Type"] == "Service"
    assert made.code == "HW-KIT" and made.unit_price == D("349.95")
    changed = await qbo.update_item(CREDS, "2", ItemInput(unit_price=D(160)))
    assert loads(recorder.last().content)["Name"] == "Consulting hour"
    assert changed.unit_price == D(160)


def draft(**kw: Any) -> InvoiceDraft:
    values: dict[str, Any] = {
        "contact_id": "4",
        "issue_date": date(2026, 3, 13),
        "due_date": date(2026, 3, 20),
        "currency": "USD",
        "tax_mode": TaxMode.exclusive,
        "reference": "Deal 32",
        "url": "https://crm.example/deal/32",
        "tax_code": "TAX",
        "bill_email": "gary@globex.test",
        "global_discount": GlobalDiscount(rate=D(5)),
        "lines": (
            InvoiceLineDraft(description="Annual licence", quantity=D(5), unit_price=D(1200),
                             item_id="3"),
            InvoiceLineDraft(description="Support", quantity=D(12), unit_price=D("99.005"),
                             item_id="5", tax_code="NON"),
        ),
    }  # fmt: skip
    values.update(kw)
    return InvoiceDraft(**values)


async def test_create_invoice(fake: Any) -> None:
    qbo, recorder, _ = fake
    invoice = await qbo.create_invoice(CREDS, draft(), idempotency_key="deal-32-gen-1")
    sent = recorder.last()
    assert sent.url.params["requestid"] == "deal-32-gen-1"
    body = loads(sent.content)
    lines = body["Line"]
    assert lines[0]["Amount"] == D("6000.00")
    assert lines[1]["Amount"] == D("1188.06")  # 12 x 99.005 = 1188.06 (Qty x UnitPrice)
    assert lines[0]["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "TAX"}
    assert lines[1]["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "NON"}
    assert lines[2] == {
        "Amount": D("359.40"),
        "DetailType": "DiscountLineDetail",
        "DiscountLineDetail": {"PercentBased": True, "DiscountPercent": 5},
    }
    assert body["GlobalTaxCalculation"] == "TaxExcluded"
    assert body["PrivateNote"] == "Deal 32\nhttps://crm.example/deal/32"
    assert body["BillEmail"] == {"Address": "gary@globex.test"}
    assert invoice.id == "101" and invoice.status == "ACTIVE"


async def test_create_refuses_what_quickbooks_cannot_take(fake: Any) -> None:
    qbo, recorder, _ = fake
    bad = draft(
        template_id="t1",
        lines=(InvoiceLineDraft(description="x", unit_price=D(1), discount_rate=D(10)),),
    )
    with pytest.raises(ProviderValidationError) as exc:
        await qbo.create_invoice(CREDS, bad, idempotency_key="k")
    assert [e.field for e in exc.value.errors] == ["lines[0].discount_rate", "template_id"]
    with pytest.raises(ValueError, match="50"):
        await qbo.create_invoice(CREDS, draft(), idempotency_key="k" * 51)
    assert recorder.requests == []


async def test_invoice_reads(fake: Any) -> None:
    qbo, recorder, _ = fake
    invoice = await qbo.get_invoice(CREDS, "3")
    assert invoice.total == D("100.0") and invoice.amount_due == D("40.0")
    assert invoice.amount_paid == D("60.0") and invoice.has_payments
    assert invoice.subtotal == D("100.0") and len(invoice.lines) == 1
    assert invoice.lines[0].quantity == D(2) and invoice.lines[0].item_id == "2"
    assert invoice.updated_at == datetime(2020, 4, 6, 15, 39, 26, tzinfo=UTC)
    assert invoice.online_url == "https://connect.intuit.test/t/abc"
    with pytest.raises(ProviderNotFound):
        await qbo.get_invoice(CREDS, "404")
    await qbo.get_invoices(CREDS, [str(i) for i in range(1, 151)])
    ins = [s for s in statements(recorder) if "IN (" in s]
    assert len(ins) == 2 and ins[0].count("'") == 200
    page = await qbo.search_invoices(
        CREDS, contact_id="4", date_from=date(2026, 1, 1), date_to=date(2026, 3, 31),
        page=1, page_size=20,
    )  # fmt: skip
    assert statements(recorder)[-1] == (
        "SELECT * FROM Invoice WHERE CustomerRef = '4' AND TxnDate >= '2026-01-01' AND "
        "TxnDate <= '2026-03-31' ORDERBY TxnDate DESC STARTPOSITION 1 MAXRESULTS 20"
    )
    assert page.items[0].id == "3" and not page.has_more
    since = datetime.now(UTC) - timedelta(days=2)
    changes = await qbo.changed_invoices(CREDS, since)
    assert recorder.last().url.params["entities"] == "Invoice"
    assert [i.id for i in changes.invoices] == ["3"] and changes.deleted_ids == ("8",)
    with pytest.raises(ProviderValidationError):
        await qbo.changed_invoices(CREDS, datetime.now(UTC) - timedelta(days=31))


async def test_invoice_actions(fake: Any) -> None:
    qbo, recorder, state = fake
    with pytest.raises(ProviderUnsupported):
        await qbo.submit_invoice(CREDS, "3")
    with pytest.raises(ProviderUnsupported):
        await qbo.approve_invoice(CREDS, "3")
    voided = await qbo.void_invoice(CREDS, "3")
    assert voided.status == "VOIDED" and voided.total == 0
    assert recorder.last().url.params["operation"] == "void"
    assert loads(recorder.last().content) == {"Id": "3", "SyncToken": "1"}
    state.stale_once = True
    deleted = await qbo.delete_invoice(CREDS, "3")
    assert deleted.status == "DELETED" and deleted.number == "1001"
    # The stale answer made the adapter re-read the token and try again with the new one.
    assert loads(recorder.last().content) == {"Id": "3", "SyncToken": "2"}
    emailed = await qbo.email_invoice(CREDS, "3", to="gary@globex.test")
    assert emailed.is_sent and recorder.last().url.params["sendTo"] == "gary@globex.test"
    assert await qbo.invoice_pdf(CREDS, "3") == b"%PDF-qbo"
    assert await qbo.share_url(CREDS, "3") == "https://connect.intuit.test/t/abc"
    org = Organisation(id=REALM, name="N", base_currency="USD")
    assert qbo.invoice_url(org, "3") == "https://app.qbo.test/app/invoice?txnId=3"


def provider_with(handler: Any) -> tuple[QuickBooksProvider, Recorder]:
    recorder = Recorder(handler)
    return QuickBooksProvider(
        QuickBooksSettings(api_url="http://qbo.test"), recorder.client(), retry=FAST
    ), recorder


@pytest.mark.parametrize(
    ("status", "body", "error", "field"),
    [
        (400, {"Fault": {"Error": [{"Message": "Duplicate Document Number Error",
                                    "Detail": "Duplicate Document Number Error : You must specify "
                                              "a different number. This number has already "
                                              "been used. DocNumber=1001 is assigned to "
                                              "TxnType=Invoice with TxnId=3",
                                    "code": "6140"}], "type": "ValidationFault"}},
         ProviderValidationError, "invoice_number"),
        (400, {"Fault": {"Error": [{"Message": "Duplicate Name Exists Error", "code": "6240"}],
                         "type": "ValidationFault"}}, ProviderValidationError, "name"),
        (200, {"Fault": {"Error": [{"Message": "Invalid Reference Id", "code": "2500",
                                    "element": "CustomerRef"}], "type": "ValidationFault"}},
         ProviderValidationError, "contact_id"),
        (401, {"Fault": {"Error": [{"Message": "AuthenticationFailed", "code": "100"}],
                         "type": "AuthenticationFault"}}, ProviderAuthError, None),
        (400, {"Fault": {"Error": [{"Message": "Stale Object Error", "code": "5010"}],
                         "type": "ValidationFault"}}, ProviderConflict, None),
        (503, None, ProviderUnavailable, None),
    ],
)  # fmt: skip
async def test_faults(status: int, body: Any, error: type, field: str | None) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if body is None:
            return httpx2.Response(status, content=b"<html>down</html>")
        return json_response(status, body)

    qbo, _ = provider_with(handler)
    with pytest.raises(error) as exc:
        await qbo.create_invoice(CREDS, draft(), idempotency_key="k")
    if field:
        assert exc.value.field == field
    if error is ProviderValidationError:
        assert exc.value.status_code == 422 and exc.value.message


async def test_xml_429_is_a_rate_limit_with_sixty_seconds() -> None:
    xml = b'<IntuitResponse><Fault type="SERVICE"><Error code="3001"/></Fault></IntuitResponse>'
    qbo, recorder = provider_with(lambda r: httpx2.Response(429, content=xml))
    with pytest.raises(ProviderRateLimited) as exc:
        await qbo.get_invoice(CREDS, "3")
    assert exc.value.retry_after == 60 and not exc.value.daily
    assert len(recorder.requests) == 1  # 60 s is beyond what a request waits in place


def test_quote_escapes() -> None:
    assert quote("O'Brien \\ Co") == "'O\\'Brien \\\\ Co'"
