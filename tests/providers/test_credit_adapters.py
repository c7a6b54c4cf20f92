"""The adapters' credit-note calls, exact and valid: Xero's bodies against the official
OpenAPI (PUT /CreditNotes, PUT /CreditNotes/{id}/Allocations, each with its Idempotency-Key);
QuickBooks' CreditMemo and its zero-amount applying Payment (with their requestids)."""

from __future__ import annotations

import json
import uuid
from datetime import date
from decimal import Decimal as D
from typing import Any

import httpx2

from app.config import QuickBooksSettings, XeroSettings
from app.kit.http import RetryPolicy
from app.providers.base import Credentials, CreditNote, CreditNoteDraft, InvoiceLineDraft, TaxMode
from app.providers.quickbooks import QuickBooksProvider
from app.providers.xero import XeroProvider
from tests.providers.fakes import Recorder, json_response
from tests.providers.xero_openapi import validate_xero_request, xero_spec

CREDS = Credentials(access_token="at-1", tenant_id="b1f3c0de-0000-4000-8000-000000000001")
FAST = RetryPolicy(attempts=2, wait_scale=0.001)
NOTE_ID = "7df8949c-b71f-40c0-bbcf-39f2f450f286"


def draft() -> CreditNoteDraft:
    return CreditNoteDraft(
        contact_id="430fa14a-f945-44d3-9f97-5df5e28441b8",
        issue_date=date(2026, 3, 14),
        currency="NZD",
        tax_mode=TaxMode.exclusive,
        reference="Credit for INV-0001",
        lines=(
            InvoiceLineDraft(
                description="Consulting hour",
                quantity=D(2),
                unit_price=D("150"),
                item_code="CONS-HR",
                item_id="ignored-by-xero",
                tax_code="OUTPUT2",
                account_code="200",
            ),
        ),
    )


def xero_fake(request: httpx2.Request) -> httpx2.Response:
    body = json.loads(request.content)
    if request.url.path.endswith("/Allocations"):
        element = dict(body["Allocations"][0], AllocationID=str(uuid.uuid4()))
        return json_response(200, {"Allocations": [element]})
    element = dict(
        body["CreditNotes"][0],
        CreditNoteID=NOTE_ID,
        CreditNoteNumber="CN-0007",
        Total=345.0,
        RemainingCredit=345.0,
    )
    return json_response(200, {"CreditNotes": [element]})


async def test_xero_credit_note_and_allocation_are_valid_requests() -> None:
    xero_spec()
    recorder = Recorder(xero_fake)
    async with recorder.client() as http:
        xero = XeroProvider(XeroSettings(api_url="http://xero.test"), http, retry=FAST)
        note = await xero.create_credit_note(CREDS, draft(), idempotency_key="k-credit")
        assert note == CreditNote(
            id=NOTE_ID,
            number="CN-0007",
            status="AUTHORISED",
            currency="NZD",
            total=D("345"),
            remaining=D("345"),
            issue_date=date(2026, 3, 14),
        )
        await xero.apply_credit_note(
            CREDS,
            note,
            invoice_id="9c8f3b8e-5b0e-4a47-9d0f-6f1b0c2d3e49",
            contact_id="430fa14a-f945-44d3-9f97-5df5e28441b8",
            amount=D("100.00"),
            on=date(2026, 3, 14),
            idempotency_key="k-apply",
        )
    for request in recorder.requests:
        validate_xero_request(request, "http://xero.test/api.xro/2.0")
    sent, allocation = recorder.bodies()
    assert sent["CreditNotes"][0]["Type"] == "ACCRECCREDIT"
    assert sent["CreditNotes"][0]["Status"] == "AUTHORISED"
    assert allocation == {
        "Allocations": [
            {
                "Invoice": {"InvoiceID": "9c8f3b8e-5b0e-4a47-9d0f-6f1b0c2d3e49"},
                "Amount": 100.0,
                "Date": "2026-03-14",
            }
        ]
    }
    keys = [r.headers["Idempotency-Key"] for r in recorder.requests]
    assert keys == ["k-credit", "k-apply"]


def qbo_fake(request: httpx2.Request) -> httpx2.Response:
    body: dict[str, Any] = json.loads(request.content)
    if request.url.path.endswith("/payment"):
        return json_response(200, {"Payment": dict(body, Id="88")})
    memo = dict(body, Id="77", DocNumber="CM0001", TotalAmt=345.0, RemainingCredit=345.0)
    return json_response(200, {"CreditMemo": memo})


async def test_quickbooks_memo_and_its_zero_amount_payment() -> None:
    recorder = Recorder(qbo_fake)
    async with recorder.client() as http:
        qbo = QuickBooksProvider(QuickBooksSettings(api_url="http://qbo.test"), http, retry=FAST)
        note = await qbo.create_credit_note(CREDS, draft(), idempotency_key="k-credit")
        assert (note.id, note.number, note.total, note.remaining) == ("77", "CM0001", 345, 345)
        await qbo.apply_credit_note(
            CREDS,
            note,
            invoice_id="130",
            contact_id="58",
            amount=D("30.00"),
            on=date(2026, 3, 14),
            idempotency_key="k-apply",
        )
    memo, payment = recorder.bodies()
    assert memo["CustomerRef"] == {"value": "430fa14a-f945-44d3-9f97-5df5e28441b8"}
    assert "DueDate" not in memo and memo["PrivateNote"] == "Credit for INV-0001"
    assert memo["Line"][0]["SalesItemLineDetail"]["ItemRef"] == {"value": "ignored-by-xero"}
    assert payment == {
        "CustomerRef": {"value": "58"},
        "TotalAmt": 0,
        "TxnDate": "2026-03-14",
        "Line": [
            {"Amount": 30.0, "LinkedTxn": [{"TxnId": "130", "TxnType": "Invoice"}]},
            {"Amount": 30.0, "LinkedTxn": [{"TxnId": "77", "TxnType": "CreditMemo"}]},
        ],
    }
    assert [r.url.params["requestid"] for r in recorder.requests] == ["k-credit", "k-apply"]
    assert [r.url.path.rsplit("/", 1)[-1] for r in recorder.requests] == ["creditmemo", "payment"]
