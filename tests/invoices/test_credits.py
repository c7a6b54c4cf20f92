"""Credit notes through the JSON API and the sandboxes (issue 16 item 2): full and partial
credits on Xero (CreditNotes + Allocations) and QuickBooks (CreditMemo + a zero-amount
Payment), exactly once per Idempotency-Key, plain 422s before any provider write, 404 for
another company's invoice."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal as D
from typing import Any

from tests.invoices.helpers import body, create, draft


async def made(client: Any, headers: dict[str, str], provider: str) -> dict[str, Any]:
    """An issued invoice of deal 31: QuickBooks' is open at once, Xero's is approved."""
    d = await draft(client, headers, 31, provider)
    response = await create(client, headers, 31, body(d))
    assert response.status_code == 201, response.text
    invoice = dict(response.json())
    if provider == "xero":
        approved = await client.post(
            f"/api/v1/deals/31/invoices/{invoice['id']}/actions/AUTHORISED", headers=headers
        )
        assert approved.status_code == 200, approved.text
        invoice = dict(approved.json())
    return invoice


def credit(
    client: Any, headers: dict[str, str], row: str, payload: dict[str, Any], key: str | None = None
) -> Any:
    extra = {"Idempotency-Key": key or str(uuid.uuid4())} if key != "" else {}
    return client.post(
        f"/api/v1/deals/31/invoices/{row}/credits", json=payload, headers={**headers, **extra}
    )


async def provider_writes(sandbox: Any, fragment: str) -> list[dict[str, Any]]:
    return [
        r
        for r in await sandbox.requests()
        if r["method"] in ("PUT", "POST") and fragment.lower() in r["path"].lower()
    ]


async def test_xero_partial_then_full_credit_allocates_and_pays(client, northwind, sandbox):
    invoice = await made(client, northwind.headers, "xero")
    total = D(invoice["total"])
    part = await credit(client, northwind.headers, invoice["id"], {"amount": "100.00"})
    assert part.status_code == 201, part.text
    first = part.json()
    assert D(first["credit"]["total"]) == D("100.00")
    assert D(first["credit"]["applied"]) == D("100.00")
    assert first["credit"]["number"].startswith("CN-")
    assert D(first["invoice"]["amount_due"]) == total - D("100.00")
    assert D(first["invoice"]["amount_credited"]) == D("100.00")
    assert first["invoice"]["provider_status"] == "AUTHORISED" and first["invoice"]["can_credit"]
    # Credited, it can no longer be voided (Xero refuses), so the void is not offered.
    assert "VOIDED" not in [a["id"] for a in first["invoice"]["actions"]]
    rest = await credit(client, northwind.headers, invoice["id"], {"full": True})
    assert rest.status_code == 201, rest.text
    after = rest.json()["invoice"]
    assert D(rest.json()["credit"]["total"]) == total - D("100.00")
    assert after["provider_status"] == "PAID" and D(after["amount_due"]) == 0
    assert D(after["amount_credited"]) == total and not after["can_credit"]
    more = await credit(client, northwind.headers, invoice["id"], {"amount": "1"})
    assert more.status_code == 422 and "left to credit" in more.json()["error"]["message"]
    listed = await client.get(
        f"/api/v1/deals/31/invoices/{invoice['id']}/credits", headers=northwind.headers
    )
    assert [c["total"] for c in listed.json()] == ["100.00", str(total - D("100.00"))]


async def test_xero_credit_of_chosen_lines_copies_them(client, northwind, sandbox):
    invoice = await made(client, northwind.headers, "xero")
    options = await client.get(
        f"/api/v1/deals/31/invoices/{invoice['id']}/credit-options", headers=northwind.headers
    )
    assert options.status_code == 200, options.text
    offered = options.json()
    assert D(offered["left"]) == D(invoice["total"]) and len(offered["lines"]) >= 2
    first = offered["lines"][0]
    done = await credit(client, northwind.headers, invoice["id"], {"line_ids": [first["id"]]})
    assert done.status_code == 201, done.text
    assert D("0") < D(done.json()["credit"]["total"]) < D(invoice["total"])
    unknown = await credit(client, northwind.headers, invoice["id"], {"line_ids": ["nope"]})
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "line_ids"
    again = await client.get(
        f"/api/v1/deals/31/invoices/{invoice['id']}/credit-options", headers=northwind.headers
    )
    assert D(again.json()["left"]) == D(invoice["total"]) - D(done.json()["credit"]["total"])


async def test_a_double_submit_credits_once(client, northwind, sandbox):
    for provider, fragment in (("xero", "/CreditNotes"), ("quickbooks", "/creditmemo")):
        invoice = await made(client, northwind.headers, provider)
        key = str(uuid.uuid4())
        await sandbox.clear_requests()
        first, again = await asyncio.gather(
            credit(client, northwind.headers, invoice["id"], {"amount": "50"}, key),
            credit(client, northwind.headers, invoice["id"], {"amount": "50"}, key),
        )
        assert {first.status_code, again.status_code} <= {200, 201}, (first.text, again.text)
        assert first.json()["credit"]["id"] == again.json()["credit"]["id"]
        third = await credit(client, northwind.headers, invoice["id"], {"amount": "50"}, key)
        assert third.status_code == 200
        assert D(third.json()["invoice"]["amount_due"]) == D(invoice["total"]) - D("50")
        listed = await client.get(
            f"/api/v1/deals/31/invoices/{invoice['id']}/credits", headers=northwind.headers
        )
        assert len(listed.json()) == 1, provider
        # The provider performed one credit note whatever it was asked: repeats were replays.
        other = await credit(client, northwind.headers, invoice["id"], {"amount": "60"}, key)
        assert other.status_code == 409
        assert other.json()["error"]["code"] == "idempotency_key_reused"
        assert len(await provider_writes(sandbox, fragment)) >= 1


async def test_quickbooks_full_and_partial_credit(client, northwind, sandbox):
    invoice = await made(client, northwind.headers, "quickbooks")
    total = D(invoice["total"])
    part = await credit(client, northwind.headers, invoice["id"], {"amount": "10.50"})
    assert part.status_code == 201, part.text
    assert D(part.json()["invoice"]["amount_due"]) == total - D("10.50")
    assert part.json()["invoice"]["status_label"] == "Partially paid"
    writes = await provider_writes(sandbox, "/payment")
    assert writes, "the memo is applied through a Payment"
    full = await credit(client, northwind.headers, invoice["id"], {"full": True})
    assert full.status_code == 201, full.text
    after = full.json()["invoice"]
    assert D(after["amount_due"]) == 0 and after["status_label"] == "Paid"
    assert D(after["amount_credited"]) == total


async def test_refusals_come_before_any_provider_write(client, northwind, contoso, sandbox):
    invoice = await made(client, northwind.headers, "quickbooks")
    over = await credit(client, northwind.headers, invoice["id"], {"amount": "99999999"})
    assert over.status_code == 422 and over.json()["error"]["field"] == "amount"
    assert "left to credit" in over.json()["error"]["message"]
    none = await credit(client, northwind.headers, invoice["id"], {"amount": "5"}, key="")
    assert none.status_code == 422 and none.json()["error"]["field"] == "Idempotency-Key"
    both = await credit(client, northwind.headers, invoice["id"], {"amount": "5", "full": True})
    assert both.status_code == 422
    voided = await client.post(
        f"/api/v1/deals/31/invoices/{invoice['id']}/actions/VOIDED", headers=northwind.headers
    )
    assert voided.status_code == 200
    await sandbox.clear_requests()
    refused = await credit(client, northwind.headers, invoice["id"], {"full": True})
    assert refused.status_code == 422
    assert refused.json()["error"]["message"] == (
        "This invoice is voided: a voided invoice cannot be credited."
    )
    # The void's background sync may still read the invoice, and its changelog note may still
    # be posted to the deal in Pipedrive; no write may reach the provider.
    assert await provider_writes(sandbox, "/v3/company/") == []
    theirs = await credit(client, contoso.headers, invoice["id"], {"full": True})
    assert theirs.status_code == 404
    for path in ("credits", "credit-options"):
        listed = await client.get(
            f"/api/v1/deals/31/invoices/{invoice['id']}/{path}", headers=contoso.headers
        )
        assert listed.status_code == 404, path


async def test_a_xero_draft_cannot_be_credited(client, northwind, sandbox):
    d = await draft(client, northwind.headers, 31, "xero")
    response = await create(client, northwind.headers, 31, body(d))
    assert response.status_code == 201
    refused = await credit(client, northwind.headers, response.json()["id"], {"amount": "1"})
    assert refused.status_code == 422
    assert "draft" in refused.json()["error"]["message"]
    assert await provider_writes(sandbox, "/CreditNotes") == []


async def test_a_paid_invoice_is_credited_and_the_credit_stays_with_the_customer(
    client, northwind, sandbox
):
    invoice = await made(client, northwind.headers, "xero")
    paid = await sandbox.http.post(
        "/_sandbox/xero/payments",
        json={"InvoiceID": invoice["provider_invoice_id"], "Amount": invoice["total"]},
    )
    assert paid.status_code == 200, paid.text
    done = await credit(client, northwind.headers, invoice["id"], {"amount": "25"})
    assert done.status_code == 201, done.text
    result = done.json()
    # Nothing is owed, so nothing is allocated: the customer keeps NZ$25 of credit.
    assert D(result["credit"]["total"]) == D("25") and D(result["credit"]["applied"]) == 0
    assert result["invoice"]["provider_status"] == "PAID"
    assert D(result["invoice"]["amount_credited"]) == D("25")
    assert await provider_writes(sandbox, "/Allocations") == []


async def test_a_credit_costs_four_provider_calls(client, northwind, sandbox):
    """Read the invoice, create the note, apply it, re-read the invoice (measured)."""
    expected = {
        "xero": ("/xero/api/", ["GET", "PUT", "PUT", "GET"]),
        "quickbooks": ("/quickbooks/api/", ["GET", "POST", "POST", "GET"]),
    }
    for provider, (prefix, methods) in expected.items():
        invoice = await made(client, northwind.headers, provider)
        await sandbox.clear_requests()
        done = await credit(client, northwind.headers, invoice["id"], {"amount": "20"})
        assert done.status_code == 201, done.text
        calls = [
            r
            for r in await sandbox.requests()
            if r["path"].startswith(prefix) and not background_sync(r)
        ]
        assert [r["method"] for r in calls] == methods, calls


def background_sync(request: dict[str, Any]) -> bool:
    """A read by the status sync, which the provider's webhook for the new invoice or payment
    starts in the background meanwhile: QuickBooks' query endpoint, Xero's invoice list by
    ids or modified date (the credit reads its one invoice by id)."""
    query = request.get("query") or ""
    listed = "IDs=" in query or "page=" in query or "where=" in query.lower()
    return request["path"].endswith("/query") or listed
