"""Every change to an invoice reaches the configured URL as a signed webhook (quickbooks.md
§11): Invoice Create / Update / Void / Delete, sending it by email (an Update: EmailStatus and
SyncToken change), and a payment as Payment Create plus Invoice Update. Deliveries are read
back through the control API and their signature checked over the raw body."""

from __future__ import annotations

import pytest

from tests.sandbox.quickbooks.conftest import Deliveries, Qbo, invoice_body


@pytest.fixture
async def deliveries(api: Qbo) -> Deliveries:
    return Deliveries(api)


async def test_every_invoice_change_sends_a_signed_event(api: Qbo, deliveries: Deliveries):
    created = (await api.post("/invoice", invoice_body())).json()["Invoice"]
    iid = created["Id"]
    assert await deliveries.new_events() == [("invoice", "created", iid)]
    sparse = {"Id": iid, "SyncToken": "0", "sparse": True, "PrivateNote": "Deal 31"}
    assert (await api.post("/invoice", sparse)).status_code == 200
    assert await deliveries.new_events() == [("invoice", "updated", iid)]
    sent = await api.post(f"/invoice/{iid}/send", sendTo="gary@globex.test")
    assert sent.status_code == 200
    assert await deliveries.new_events() == [("invoice", "updated", iid)]
    voided = await api.post("/invoice", {"Id": iid, "SyncToken": "2"}, operation="void")
    assert voided.status_code == 200
    assert await deliveries.new_events() == [("invoice", "voided", iid)]
    deleted = await api.post("/invoice", {"Id": iid, "SyncToken": "3"}, operation="delete")
    assert deleted.status_code == 200
    assert await deliveries.new_events() == [("invoice", "deleted", iid)]
    # A refused write (stale SyncToken) changes nothing and so tells nobody.
    stale = await api.post("/invoice", {"Id": "1", "SyncToken": "9", "sparse": True})
    assert stale.status_code == 400
    assert await deliveries.new_events() == []


@pytest.mark.parametrize("fmt", ["cloudevents", "legacy"])
async def test_part_and_full_payments(api: Qbo, deliveries: Deliveries, fmt: str):
    await api.http.post("/_sandbox/quickbooks/webhook-format", json={"format": fmt})
    created = {"cloudevents": "created", "legacy": "Create"}[fmt]
    updated = {"cloudevents": "updated", "legacy": "Update"}[fmt]
    entity = {"cloudevents": str.lower, "legacy": str}[fmt]
    part = await api.http.post(
        "/_sandbox/quickbooks/payments", json={"invoice_id": "1", "amount": 95}
    )
    assert part.json()["Invoice"]["Balance"] == 6400
    pay_id = part.json()["Payment"]["Id"]
    assert await deliveries.new_events() == [
        (entity("Payment"), created, pay_id),
        (entity("Invoice"), updated, "1"),
    ]
    full = await api.http.post(
        "/_sandbox/quickbooks/payments", json={"invoice_id": "1", "amount": 6400}
    )
    assert full.json()["Invoice"]["Balance"] == 0
    assert await deliveries.new_events() == [
        (entity("Payment"), created, full.json()["Payment"]["Id"]),
        (entity("Invoice"), updated, "1"),
    ]
    refused = await api.http.post(
        "/_sandbox/quickbooks/payments", json={"invoice_id": "1", "amount": 1}
    )
    assert refused.status_code == 400
    assert await deliveries.new_events() == []


async def test_reads_send_nothing(api: Qbo, deliveries: Deliveries):
    assert (await api.get("/invoice/1")).status_code == 200
    assert (await api.query("select * from Invoice")).status_code == 200
    page = await api.http.get("/quickbooks/app/app/invoice", params={"txnId": "1"})
    assert page.status_code == 200
    assert await deliveries.new_events() == []
