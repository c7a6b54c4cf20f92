"""The adapters' repeating-invoice calls (issue 16 item 3): Xero's create (PUT
/RepeatingInvoices, a DRAFT template with its Schedule and Idempotency-Key), read and delete,
each request valid against Xero's official OpenAPI; pure mapping both ways; QuickBooks says
it holds none (its schedules stay on our worker)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal as D

import httpx2
import pytest

from app.config import QuickBooksSettings, XeroSettings
from app.kit.http import RetryPolicy
from app.providers.base import (
    Credentials,
    Features,
    InvoiceDraft,
    InvoiceLineDraft,
    ProviderUnsupported,
    RepeatingInvoice,
    RepeatingInvoiceDraft,
    TaxMode,
)
from app.providers.quickbooks import QuickBooksProvider
from app.providers.xero import XeroProvider
from app.providers.xero.repeating import repeating_from_json, repeating_to_json
from app.providers.xero.spec import FEATURES as XERO_FEATURES
from tests.providers.fakes import Recorder, json_response
from tests.providers.xero_openapi import validate_xero_request, xero_spec

CREDS = Credentials(access_token="at-1", tenant_id="b1f3c0de-0000-4000-8000-000000000001")
FAST = RetryPolicy(attempts=2, wait_scale=0.001)
REP_ID = "5b8c1c9e-1f0e-4c77-9d3e-2f4a6b8c0d1e"


def draft(end: date | None = date(2027, 2, 14)) -> RepeatingInvoiceDraft:
    return RepeatingInvoiceDraft(
        invoice=InvoiceDraft(
            contact_id="430fa14a-f945-44d3-9f97-5df5e28441b8",
            issue_date=date(2026, 3, 14),
            currency="NZD",
            tax_mode=TaxMode.exclusive,
            reference="Support plan (monthly, 12 times)",
            lines=(
                InvoiceLineDraft(
                    description="Support plan",
                    quantity=D(1),
                    unit_price=D("99"),
                    item_code="SUP",
                    tax_code="OUTPUT2",
                    account_code="200",
                ),
            ),
        ),
        unit="month",
        every=1,
        start=date(2026, 3, 14),
        end=end,
        due_days=20,
    )


def test_mapping_is_a_draft_template_of_the_schedule() -> None:
    body = repeating_to_json(draft())
    assert body["Status"] == "DRAFT" and body["Type"] == "ACCREC"
    assert body["Schedule"] == {
        "Period": 1,
        "Unit": "MONTHLY",
        "DueDate": 20,
        "DueDateType": "DAYSAFTERBILLDATE",
        "StartDate": "2026-03-14",
        "EndDate": "2027-02-14",
    }
    assert "Date" not in body and "EndDate" not in repeating_to_json(draft(None))["Schedule"]
    weekly = repeating_to_json(draft().model_copy(update={"unit": "week"}))
    assert weekly["Schedule"]["Unit"] == "WEEKLY"
    back = repeating_from_json(
        dict(
            body,
            RepeatingInvoiceID=REP_ID,
            Schedule=dict(body["Schedule"], NextScheduledDate="2026-04-14"),
        )
    )
    assert back == RepeatingInvoice(
        id=REP_ID,
        status="DRAFT",
        contact_id="430fa14a-f945-44d3-9f97-5df5e28441b8",
        unit="month",
        every=1,
        start=date(2026, 3, 14),
        next_date=date(2026, 4, 14),
        end=date(2027, 2, 14),
    )


def test_capability_names_the_frequencies_held() -> None:
    assert XERO_FEATURES.repeating_invoices == frozenset({"weekly", "monthly"})
    # QuickBooks builds its Features without it: the default holds nothing.
    assert Features.model_fields["repeating_invoices"].default == frozenset()


def xero_fake(request: httpx2.Request) -> httpx2.Response:
    if request.method == "GET":
        element = dict(repeating_to_json(draft()), RepeatingInvoiceID=REP_ID)
        return json_response(200, {"RepeatingInvoices": [element]})
    body = json.loads(request.content)["RepeatingInvoices"][0]
    if body.get("Status") == "DELETED":
        element = dict(repeating_to_json(draft()), RepeatingInvoiceID=REP_ID, Status="DELETED")
        return json_response(200, {"RepeatingInvoices": [element]})
    return json_response(200, {"RepeatingInvoices": [dict(body, RepeatingInvoiceID=REP_ID)]})


async def test_xero_create_read_delete_are_valid_requests() -> None:
    xero_spec()
    recorder = Recorder(xero_fake)
    async with recorder.client() as http:
        xero = XeroProvider(XeroSettings(api_url="http://xero.test"), http, retry=FAST)
        made = await xero.create_repeating_invoice(CREDS, draft(), idempotency_key="k-rep")
        read = await xero.get_repeating_invoice(CREDS, made.id)
        gone = await xero.delete_repeating_invoice(CREDS, made.id)
    assert (made.id, made.status, made.unit, made.end) == (
        REP_ID,
        "DRAFT",
        "month",
        date(2027, 2, 14),
    )
    assert read.id == REP_ID and gone.status == "DELETED"
    for request in recorder.requests:
        validate_xero_request(request, "http://xero.test/api.xro/2.0")
    create, get, delete = recorder.requests
    assert (create.method, create.url.path) == ("PUT", "/api.xro/2.0/RepeatingInvoices")
    assert create.headers["Idempotency-Key"] == "k-rep"
    assert (get.method, get.url.path) == ("GET", f"/api.xro/2.0/RepeatingInvoices/{REP_ID}")
    assert (delete.method, delete.url.path) == ("POST", f"/api.xro/2.0/RepeatingInvoices/{REP_ID}")
    assert json.loads(delete.content) == {"RepeatingInvoices": [{"Status": "DELETED"}]}


async def test_quickbooks_holds_no_repeating_invoice() -> None:
    recorder = Recorder(xero_fake)
    async with recorder.client() as http:
        qbo = QuickBooksProvider(QuickBooksSettings(api_url="http://qbo.test"), http, retry=FAST)
        with pytest.raises(ProviderUnsupported):
            await qbo.create_repeating_invoice(CREDS, draft(), idempotency_key="k")
    assert recorder.requests == []
