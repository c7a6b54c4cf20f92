"""Signed webhooks out: CloudEvents (default) and the classic shape, retries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import httpx2

from sandbox.app import sandbox_of
from tests.sandbox.quickbooks.conftest import BASE, REALM, VERIFIER, Qbo, invoice_body, make_app


def verify(request: httpx2.Request) -> None:
    expected = base64.b64encode(
        hmac.new(VERIFIER.encode(), request.content, hashlib.sha256).digest()
    ).decode()
    assert hmac.compare_digest(request.headers["intuit-signature"], expected)


async def test_cloudevents_on_invoice_create_void_and_delete(api: Qbo) -> None:
    created = (await api.post("/invoice", invoice_body())).json()["Invoice"]
    await api.post("/invoice", {"Id": created["Id"], "SyncToken": "0"}, operation="void")
    await api.post("/invoice", {"Id": created["Id"], "SyncToken": "1"}, operation="delete")
    await api.drain()
    events = []
    for request in api.hooks:
        verify(request)
        events += json.loads(request.content)
    assert [e["type"] for e in events] == [
        "qbo.invoice.created.v1",
        "qbo.invoice.voided.v1",
        "qbo.invoice.deleted.v1",
    ]
    first = events[0]
    assert first["specversion"] == "1.0" and first["intuitaccountid"] == REALM
    assert first["intuitentityid"] == created["Id"] and first["time"].endswith("Z")


async def test_legacy_format_per_realm(api: Qbo) -> None:
    chosen = await api.http.post("/_sandbox/quickbooks/webhook-format", json={"format": "legacy"})
    assert chosen.json()["format"] == "legacy"
    await api.post("/customer", {"DisplayName": "Hooli"})
    await api.drain()
    body = json.loads(api.hooks[-1].content)
    verify(api.hooks[-1])
    notification = body["eventNotifications"][0]
    assert notification["realmId"] == REALM
    entity = notification["dataChangeEvent"]["entities"][0]
    assert entity["name"] == "Customer" and entity["operation"] == "Create"
    assert entity["lastUpdated"][-5:-4] in "+-"  # e.g. -0800, as in Intuit's sample
    refused = await api.http.post("/_sandbox/quickbooks/webhook-format", json={"format": "xml"})
    assert refused.status_code == 422


async def test_payment_fires_payment_and_invoice_events(api: Qbo) -> None:
    await api.http.post("/_sandbox/quickbooks/payments", json={"invoice_id": "1", "amount": 10})
    await api.drain()
    events = json.loads(api.hooks[-1].content)
    assert [e["type"] for e in events] == ["qbo.payment.created.v1", "qbo.invoice.updated.v1"]


async def test_failed_deliveries_are_retried_then_recorded() -> None:
    hooks: list[httpx2.Request] = []
    app = make_app(hooks, status=500)
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=BASE) as http:
        qbo = await Qbo(http, app, hooks).connect()
        await qbo.post("/customer", {"DisplayName": "Retry Me"})
        await sandbox_of(app).webhooks.drain(timeout=5)
        assert len(hooks) == 3  # first try + the two configured retries
        log = (await http.get("/_sandbox/webhooks", params={"provider": "quickbooks"})).json()
        assert log[-1]["delivered"] is False
        assert [a["status"] for a in log[-1]["attempts"]] == [500, 500, 500]
