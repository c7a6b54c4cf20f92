"""The Xero adapter against an in-process fake answering with the spec's own examples.

Every request the adapter builds is validated against Xero's official OpenAPI.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal as D
from typing import Any

import httpx2
import pytest

from app.config import XeroSettings
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
from app.providers.xero import XeroProvider
from tests.providers.fakes import Recorder, json_response
from tests.providers.xero_openapi import spec_path_for, validate_xero_request, xero_spec

API = "http://xero.test/api.xro/2.0"
INV9 = "9c8f3b8e-5b0e-4a47-9d0f-6f1b0c2d3e49"
CREDS = Credentials(access_token="at-1", tenant_id="b1f3c0de-0000-4000-8000-000000000001")
FAST = RetryPolicy(attempts=3, wait_scale=0.001)
ID_KEYS = {"Invoices": "InvoiceID", "Contacts": "ContactID", "Items": "ItemID"}


def example(template: str, method: str = "get") -> Any:
    spec, _ = xero_spec()
    content = spec["paths"][template][method]["responses"]["200"]["content"]
    return next(iter(content.values()))["example"]


def spec_fake(request: httpx2.Request) -> httpx2.Response:
    """Reads answer with the spec's example; writes echo the element with new ids."""
    path = request.url.path.removeprefix("/api.xro/2.0")
    if request.headers.get("Accept") == "application/pdf":
        return httpx2.Response(
            200, content=b"%PDF-1.4 xero", headers={"Content-Type": "application/pdf"}
        )
    if request.method == "GET":
        return json_response(200, example(spec_path_for(path)))
    if path.endswith("/Email"):
        return httpx2.Response(204)
    body = loads(request.content)
    collection = next(iter(body))
    out = []
    for element in body[collection]:
        element = dict(element)
        element.setdefault(
            ID_KEYS[collection], path.split("/")[2] if path.count("/") > 1 else str(uuid.uuid4())
        )
        element.update({"HasErrors": False, "StatusAttributeString": "OK"})
        out.append(element)
    return json_response(200, {"Id": str(uuid.uuid4()), "Status": "OK", collection: out})


@pytest.fixture
async def fake() -> AsyncIterator[tuple[XeroProvider, Recorder]]:
    xero_spec()
    recorder = Recorder(spec_fake)
    async with recorder.client() as http:
        settings = XeroSettings(api_url="http://xero.test", go_url="https://go.xero.test")
        yield XeroProvider(settings, http, retry=FAST), recorder


def validate_all(recorder: Recorder) -> None:
    assert recorder.requests
    for request in recorder.requests:
        validate_xero_request(request, API)
        assert request.headers["xero-tenant-id"] == CREDS.tenant_id
        assert request.headers["Authorization"] == "Bearer at-1"


def draft(**kw: Any) -> InvoiceDraft:
    values: dict[str, Any] = {
        "contact_id": "430fa14a-f945-44d3-9f97-5df5e28441b8",
        "issue_date": date(2026, 3, 13),
        "due_date": date(2026, 3, 20),
        "currency": "NZD",
        "tax_mode": TaxMode.exclusive,
        "reference": "Deal 31",
        "url": "https://crm.example/deal/31",
        "template_id": "dabc7637-62c1-4941-8a6e-ee44fa5090e7",
        "lines": (
            InvoiceLineDraft(
                description="Consulting hour",
                quantity=D(10),
                unit_price=D("150"),
                item_code="CONS-HR",
                discount_rate=D(10),
                tax_code="OUTPUT2",
                account_code="200",
            ),
            InvoiceLineDraft(
                description="Implementation", unit_price=D("33.33335"), discount_amount=D(200)
            ),
        ),
        "tax_code": "OUTPUT2",
    }
    values.update(kw)
    return InvoiceDraft(**values)


async def test_lookups_map_the_spec_examples(fake: tuple[XeroProvider, Recorder]) -> None:
    xero, recorder = fake
    org = await xero.get_organisation(CREDS)
    assert org.name == "Dev Evangelist - Sid Test 3 (NZ-2016-02)"
    assert (org.base_currency, org.country) == ("NZD", "NZ")
    features = await xero.get_features(CREDS)
    assert features_json(features)["invoiceTaxOption"] == "multiple"
    currencies = await xero.list_currencies(CREDS)
    assert [(c.code, c.is_base) for c in currencies] == [("NZD", True)]
    rates = await xero.list_tax_rates(CREDS)
    assert "INPUT2" not in {r.code for r in rates}  # CanApplyToRevenue false
    assert any(r.code == "OUTPUT2" and r.rate == D(15) for r in rates)
    accounts = await xero.list_accounts(CREDS)
    assert [(a.code, a.name) for a in accounts] == [("200", "Sales")]
    templates = await xero.list_templates(CREDS)
    assert templates[0].name == "Standard" and templates[0].is_default
    users = await xero.list_users(CREDS)
    assert users[0].role == "FINANCIALADVISER" and users[0].email == "test@email.com"
    validate_all(recorder)


async def test_contacts_and_items(fake: tuple[XeroProvider, Recorder]) -> None:
    xero, recorder = fake
    page = await xero.search_contacts(CREDS, "kat", page=1, page_size=100)
    assert page.items[0].name == "Katherine Warren" and not page.has_more
    assert recorder.last().url.params["searchTerm"] == "kat"
    contact = await xero.get_contact(CREDS, page.items[0].id)
    assert contact.id
    created = await xero.create_contact(
        CREDS,
        ContactInput(
            name="Acme Ltd",
            email="accounts@acme.test",
            tax_number="NZ-123-456-789",
            external_ref="pd-org-11",
            currency="NZD",
            phone="+64 9 555 0100",
        ),
        idempotency_key="contact-11",
    )
    assert created.name == "Acme Ltd" and created.external_ref == "pd-org-11"
    put = recorder.last()
    assert put.method == "PUT" and put.headers["Idempotency-Key"] == "contact-11"
    assert put.url.params["summarizeErrors"] == "false"
    updated = await xero.update_contact(CREDS, created.id, ContactInput(email="new@acme.test"))
    assert updated.email == "new@acme.test"
    assert loads(recorder.last().content) == {
        "Contacts": [{"ContactID": created.id, "EmailAddress": "new@acme.test"}]
    }
    by_code = await xero.search_items(CREDS, code="123")
    assert [i.name for i in by_code] == ["Guitars"]
    assert by_code[0].unit_price == D("5000") and by_code[0].tax_code == "OUTPUT2"
    by_name = await xero.search_items(CREDS, name="guit")
    assert [i.code for i in by_name] == ["123"]
    item = await xero.get_item(CREDS, by_code[0].id)
    assert item.id
    made = await xero.create_item(
        CREDS,
        ItemInput(code="HW-KIT", name="Hardware kit", unit_price=D("349.95"), account_code="200"),
        idempotency_key="item-6",
    )
    assert made.code == "HW-KIT" and made.unit_price == D("349.95")
    changed = await xero.update_item(CREDS, made.id, ItemInput(unit_price=D("359.95")))
    assert changed.unit_price == D("359.95")
    validate_all(recorder)


async def test_create_invoice_body_is_exact_and_valid(
    fake: tuple[XeroProvider, Recorder],
) -> None:
    xero, recorder = fake
    invoice = await xero.create_invoice(CREDS, draft(), idempotency_key="deal-31-gen-1")
    request = recorder.last()
    assert request.method == "PUT"
    assert dict(request.url.params) == {"summarizeErrors": "false", "unitdp": "4"}
    assert request.headers["Idempotency-Key"] == "deal-31-gen-1"
    # Decimals travel digit for digit; the 5-dp price is kept to Xero's 4.
    assert b'"UnitAmount":33.3334' in request.content
    assert b'"DiscountRate":10' in request.content
    body = loads(request.content)["Invoices"][0]
    assert body["Type"] == "ACCREC" and body["Status"] == "DRAFT"
    assert body["LineAmountTypes"] == "Exclusive"
    assert body["BrandingThemeID"] == "dabc7637-62c1-4941-8a6e-ee44fa5090e7"
    assert body["LineItems"][1]["TaxType"] == "OUTPUT2"  # invoice-level default
    assert invoice.status == "DRAFT" and invoice.reference == "Deal 31"
    validate_all(recorder)


async def test_invoice_reads_and_actions(fake: tuple[XeroProvider, Recorder]) -> None:
    xero, recorder = fake
    invoice = await xero.get_invoice(CREDS, "a03ffcd2-5d91-4c7e-b483-318584e9e439")
    assert invoice.status == "PAID" and invoice.total == D("148062.76")
    assert invoice.issue_date == date(2019, 3, 7) and invoice.due_date == date(2019, 3, 13)
    assert invoice.has_payments and invoice.amount_due == D(0)
    assert invoice.updated_at is not None and invoice.updated_at.tzinfo is not None
    ids = [str(uuid.uuid4()) for _ in range(250)]
    await xero.get_invoices(CREDS, ids)
    batches = [r for r in recorder.requests if r.url.params.get("IDs")]
    assert [len(r.url.params["IDs"].split(",")) for r in batches] == [100, 100, 50]
    page = await xero.search_invoices(
        CREDS, contact_id="430fa14a-f945-44d3-9f97-5df5e28441b8",
        date_from=date(2026, 1, 1), date_to=date(2026, 3, 31), page=2, page_size=50,
    )  # fmt: skip
    params = recorder.last().url.params
    assert (
        params["where"] == 'Type=="ACCREC"&&Date>=DateTime(2026,01,01)&&Date<=DateTime(2026,03,31)'
    )
    assert params["ContactIDs"] == "430fa14a-f945-44d3-9f97-5df5e28441b8"
    assert (params["page"], params["pageSize"]) == ("2", "50")
    assert page.page == 2
    changes = await xero.changed_invoices(CREDS, datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    assert recorder.last().headers["If-Modified-Since"] == "2026-03-01T12:00:00+00:00"
    assert changes.invoices
    for method, status in (
        (xero.submit_invoice, "SUBMITTED"),
        (xero.approve_invoice, "AUTHORISED"),
        (xero.void_invoice, "VOIDED"),
        (xero.delete_invoice, "DELETED"),
    ):
        result = await method(CREDS, INV9)
        assert result.status == status
        sent = recorder.last()
        assert sent.method == "POST" and sent.url.path.endswith(f"/Invoices/{INV9}")
        assert loads(sent.content) == {"Invoices": [{"InvoiceID": INV9, "Status": status}]}
        assert sent.headers["Idempotency-Key"]
    emailed = await xero.email_invoice(CREDS, "a03ffcd2-5d91-4c7e-b483-318584e9e439")
    email_call = recorder.requests[-2]
    assert email_call.url.path.endswith("/Email") and loads(email_call.content) == {}
    assert emailed.id
    assert (await xero.invoice_pdf(CREDS, INV9)).startswith(b"%PDF")
    assert recorder.last().headers["Accept"] == "application/pdf"
    url = await xero.share_url(CREDS, INV9)
    assert url == "https://in.xero.com/bCWCCfytGdTXoJam9HENWlQt07G6zcDaj4gQojHu"
    validate_all(recorder)


async def test_deep_link_and_unsupported_inputs(fake: tuple[XeroProvider, Recorder]) -> None:
    xero, recorder = fake
    org = Organisation(id="t", name="N", base_currency="NZD", short_code="!NwT01")
    assert xero.invoice_url(org, "inv-1") == (
        "https://go.xero.test/organisationlogin/default.aspx?shortcode=!NwT01"
        "&redirecturl=/AccountsReceivable/View.aspx?InvoiceID=inv-1"
    )
    with pytest.raises(ProviderUnsupported):
        await xero.email_invoice(CREDS, "inv-1", to="x@example.com")
    with pytest.raises(ProviderValidationError) as exc:
        await xero.create_invoice(
            CREDS, draft(global_discount=GlobalDiscount(rate=D(5))), idempotency_key="k"
        )
    assert exc.value.field == "global_discount"
    with pytest.raises(ProviderValidationError) as exc:
        await xero.create_invoice(
            CREDS, draft(status="AUTHORISED", due_date=None), idempotency_key="k"
        )
    assert exc.value.field == "due_date"
    with pytest.raises(ValueError, match="idempotency_key"):
        await xero.create_invoice(CREDS, draft(), idempotency_key="x" * 129)
    assert recorder.requests == []


def provider_with(handler: Any, retry: RetryPolicy = FAST) -> tuple[XeroProvider, Recorder]:
    recorder = Recorder(handler)
    settings = XeroSettings(api_url="http://xero.test")
    return XeroProvider(settings, recorder.client(), retry=retry), recorder


VALIDATION = {
    "ErrorNumber": 10,
    "Type": "ValidationException",
    "Message": "A validation exception occurred",
    "Elements": [
        {
            "ValidationErrors": [
                {"Message": "Organisation is not subscribed to currency XYZ"},
                {"Message": "The document DueDate field must be specified."},
            ],
            "LineItems": [{"ValidationErrors": [{"Message": "Discount must not be greater"}]}],
        }
    ],
}


async def test_validation_errors_name_fields() -> None:
    xero, _ = provider_with(lambda r: json_response(400, VALIDATION))
    with pytest.raises(ProviderValidationError) as exc:
        await xero.create_invoice(CREDS, draft(), idempotency_key="k")
    error = exc.value
    assert error.status_code == 422
    assert [(e.field, e.message) for e in error.errors] == [
        ("currency", "Organisation is not subscribed to currency XYZ"),
        ("due_date", "The document DueDate field must be specified."),
        ("lines[0]", "Discount must not be greater"),
    ]
    assert error.to_dict()["provider"] == "xero" and error.provider_code == "10"


async def test_summarized_element_errors_on_200() -> None:
    element = {"HasErrors": True, "ValidationErrors": [{"Message": "Invoice # must be unique."}]}
    xero, _ = provider_with(lambda r: json_response(200, {"Invoices": [element]}))
    with pytest.raises(ProviderValidationError) as exc:
        await xero.create_invoice(CREDS, draft(), idempotency_key="k")
    assert exc.value.field == "invoice_number"


async def test_invalid_status_change_is_a_conflict() -> None:
    body = {"Elements": [{"ValidationErrors": [
        {"Message": "Invoice not of valid status for modification"}]}]}  # fmt: skip
    xero, _ = provider_with(lambda r: json_response(400, body))
    with pytest.raises(ProviderConflict) as exc:
        await xero.void_invoice(CREDS, "inv-1")
    assert exc.value.status_code == 409


@pytest.mark.parametrize(
    ("status", "body", "error", "reason"),
    [
        (401, {"Title": "Unauthorized", "Detail": "AuthorizationUnsuccessful"}, ProviderAuthError,
         "token_rejected"),
        (403, {"Title": "Forbidden", "Detail": "AuthenticationUnsuccessful"}, ProviderAuthError,
         "tenant_access"),
        (404, {}, ProviderNotFound, None),
    ],
)  # fmt: skip
async def test_error_statuses(status: int, body: Any, error: type, reason: str | None) -> None:
    xero, recorder = provider_with(lambda r: json_response(status, body))
    with pytest.raises(error) as exc:
        await xero.get_invoice(CREDS, "inv-1")
    if reason:
        assert exc.value.reason == reason
    assert len(recorder.requests) == 1


async def test_daily_limit_is_surfaced_not_retried() -> None:
    xero, recorder = provider_with(
        lambda r: json_response(429, {}, {"Retry-After": "3600", "X-Rate-Limit-Problem": "day"})
    )
    with pytest.raises(ProviderRateLimited) as exc:
        await xero.get_invoice(CREDS, "inv-1")
    assert exc.value.daily and exc.value.retry_after == 3600
    assert exc.value.headers["Retry-After"] == "3600"
    assert len(recorder.requests) == 1


async def test_minute_limit_waits_retry_after_then_succeeds() -> None:
    answers = [
        json_response(429, {}, {"Retry-After": "2", "X-Rate-Limit-Problem": "minute"}),
    ]

    def handler(request: httpx2.Request) -> httpx2.Response:
        if answers:
            return answers.pop()
        return json_response(200, {"Invoices": [{"InvoiceID": "inv-1", "Status": "DRAFT"}]})

    xero, recorder = provider_with(handler)
    invoice = await xero.get_invoice(CREDS, "inv-1")
    assert invoice.id == "inv-1" and len(recorder.requests) == 2


async def test_outage_retries_reads_and_keyed_writes_only() -> None:
    xero, recorder = provider_with(lambda r: json_response(503, {}))
    with pytest.raises(ProviderUnavailable) as exc:
        await xero.get_invoice(CREDS, "inv-1")
    assert len(recorder.requests) == FAST.attempts
    assert exc.value.status_code == 503 and exc.value.retry_after
    recorder.requests.clear()
    with pytest.raises(ProviderUnavailable):
        await xero.create_invoice(CREDS, draft(), idempotency_key="k-1")
    # The same key on every attempt: Xero replays instead of creating twice.
    assert [r.headers["Idempotency-Key"] for r in recorder.requests] == ["k-1"] * FAST.attempts
