"""Every change to an invoice reaches the configured URL as a signed webhook (xero.md §14).

Xero has no payment category: a payment shows as an INVOICE UPDATE. Deliveries are read back
through the control API (`/_sandbox/webhooks`) and their signature checked over the raw body.
"""

from __future__ import annotations

from typing import Any

from tests.sandbox.xero.conftest import Xero


async def _invoice(xero: Xero, **fields: Any) -> dict[str, Any]:
    answer = await xero.create_invoice(**fields)
    assert answer.status_code == 200, answer.text
    invoice: dict[str, Any] = answer.json()["Invoices"][0]
    return invoice


async def _post(xero: Xero, invoice_id: str, body: dict[str, Any]) -> None:
    answer = await xero.post(f"/Invoices/{invoice_id}", body)
    assert answer.status_code == 200, answer.text


async def test_every_invoice_change_sends_a_signed_event(xero, http, deliveries):
    inv = await _invoice(xero)
    iid = inv["InvoiceID"]
    assert await deliveries.new_events() == [("INVOICE", "CREATE", iid)]
    steps: list[tuple[str, Any]] = [
        ("update", {"Reference": "Deal 31, revised"}),
        ("submit", {"Status": "SUBMITTED"}),
        ("back to draft", {"Status": "DRAFT"}),
        ("approve", {"Status": "AUTHORISED"}),
    ]
    for name, body in steps:
        await _post(xero, iid, body)
        assert await deliveries.new_events() == [("INVOICE", "UPDATE", iid)], name
    emailed = await xero.post(f"/Invoices/{iid}/Email", {})
    assert emailed.status_code == 204
    assert await deliveries.new_events() == [("INVOICE", "UPDATE", iid)]


async def test_part_and_full_payments_are_invoice_updates(xero, http, deliveries):
    iid = (await _invoice(xero, Status="AUTHORISED"))["InvoiceID"]
    await deliveries.new_events()
    part = await http.post("/_sandbox/xero/payments", json={"InvoiceID": iid, "Amount": "100"})
    assert part.json()["Status"] == "AUTHORISED" and part.json()["AmountDue"] == "245.00"
    assert await deliveries.new_events() == [("INVOICE", "UPDATE", iid)]
    full = await http.post("/_sandbox/xero/payments", json={"InvoiceID": iid, "Amount": "245"})
    assert full.json()["Status"] == "PAID"
    assert await deliveries.new_events() == [("INVOICE", "UPDATE", iid)]
    # A refused payment changes nothing and so tells nobody.
    over = await http.post("/_sandbox/xero/payments", json={"InvoiceID": iid, "Amount": "1"})
    assert over.status_code == 422
    assert await deliveries.new_events() == []


async def test_void_and_delete_are_invoice_updates(xero, http, deliveries):
    approved = (await _invoice(xero, Status="AUTHORISED"))["InvoiceID"]
    draft = (await _invoice(xero))["InvoiceID"]
    assert await deliveries.new_events() == [
        ("INVOICE", "CREATE", approved),
        ("INVOICE", "CREATE", draft),
    ]
    await _post(xero, approved, {"Status": "VOIDED"})
    await _post(xero, draft, {"Status": "DELETED"})
    assert await deliveries.new_events() == [
        ("INVOICE", "UPDATE", approved),
        ("INVOICE", "UPDATE", draft),
    ]
    # Refused transitions change nothing: no event.
    refused = await xero.post(f"/Invoices/{approved}", {"Status": "AUTHORISED"})
    assert refused.status_code == 400
    assert await deliveries.new_events() == []


async def test_reads_and_online_links_send_nothing(xero, http, deliveries):
    iid = (await _invoice(xero, Status="AUTHORISED"))["InvoiceID"]
    await deliveries.new_events()
    assert (await xero.get(f"/Invoices/{iid}")).status_code == 200
    assert (await xero.get(f"/Invoices/{iid}/OnlineInvoice")).status_code == 200
    assert await deliveries.new_events() == []
