"""Outgoing webhooks: batching, sequences, signatures, retries, intent-to-receive."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac

from tests.sandbox.xero.conftest import NZ, WEBHOOK_KEY, WEBHOOK_URL


async def _delivered(http, sandbox_state):
    await http.post("/_sandbox/xero/webhooks/flush")
    await sandbox_state.webhooks.drain(timeout=5)


async def test_events_are_batched_signed_and_sequenced(xero, http, inbox, sandbox_state):
    created = (await xero.create_invoice()).json()["Invoices"][0]
    await xero.post(f"/Invoices/{created['InvoiceID']}", {"Status": "SUBMITTED"})
    await asyncio.sleep(0.35)  # the batching window passes: one delivery with both events
    await sandbox_state.webhooks.drain(timeout=5)
    assert len(inbox.received) == 1
    request = inbox.received[0]
    assert str(request.url) == WEBHOOK_URL
    expected = base64.b64encode(
        hmac.new(WEBHOOK_KEY.encode(), request.content, hashlib.sha256).digest()
    ).decode()
    assert request.headers["x-xero-signature"] == expected
    batch = inbox.payloads()[0]
    assert [(e["eventCategory"], e["eventType"]) for e in batch["events"]] == [
        ("INVOICE", "CREATE"),
        ("INVOICE", "UPDATE"),
    ]
    event = batch["events"][0]
    assert event["resourceId"] == created["InvoiceID"] and event["tenantId"] == NZ
    assert event["tenantType"] == "ORGANISATION"
    assert event["resourceUrl"].endswith(f"/xero/api/api.xro/2.0/Invoices/{created['InvoiceID']}")
    assert set(event) == {
        "resourceUrl",
        "resourceId",
        "eventDateUtc",
        "eventType",
        "eventCategory",
        "tenantId",
        "tenantType",
    }
    assert batch["lastEventSequence"] == batch["firstEventSequence"] + 1 and batch["entropy"]
    # The next batch continues the sequence.
    await xero.put("/Contacts", {"Contacts": [{"Name": "Hooli"}]})
    await _delivered(http, sandbox_state)
    second = inbox.payloads()[1]
    assert second["firstEventSequence"] == batch["lastEventSequence"] + 1
    assert [(e["eventCategory"], e["eventType"]) for e in second["events"]] == [
        ("CONTACT", "CREATE")
    ]


async def test_sandbox_payments_fire_invoice_updates(xero, http, inbox, sandbox_state):
    inv = (await xero.create_invoice(Status="AUTHORISED")).json()["Invoices"][0]
    await _delivered(http, sandbox_state)
    await http.post(
        "/_sandbox/xero/payments", json={"InvoiceID": inv["InvoiceID"], "Amount": "345"}
    )
    await _delivered(http, sandbox_state)
    last = inbox.payloads()[-1]["events"]
    assert [(e["eventType"], e["resourceId"]) for e in last] == [("UPDATE", inv["InvoiceID"])]


async def test_failed_deliveries_are_retried_then_given_up(xero, http, inbox, sandbox_state):
    inbox.status = 503
    await xero.put("/Contacts", {"Contacts": [{"Name": "Retry Me"}]})
    await _delivered(http, sandbox_state)
    logged = (await http.get("/_sandbox/webhooks", params={"provider": "xero"})).json()
    assert len(logged) == 1
    assert [a["status"] for a in logged[0]["attempts"]] == [503, 503, 503]
    assert logged[0]["delivered"] is False


async def test_intent_to_receive_passes_a_correct_receiver(http, inbox):
    inbox.verify_key = WEBHOOK_KEY
    report = (await http.post("/_sandbox/xero/intent-to-receive")).json()
    assert report["passed"] is True
    assert sorted((a["signed_correctly"], a["status"]) for a in report["attempts"]) == [
        (False, 401),
        (False, 401),
        (True, 200),
        (True, 200),
    ]
    bodies = inbox.payloads()
    assert all(
        b["events"] == [] and b["firstEventSequence"] == 0 and b["lastEventSequence"] == 0
        for b in bodies
    )


async def test_intent_to_receive_fails_a_receiver_that_ignores_signatures(http, inbox):
    report = (await http.post("/_sandbox/xero/intent-to-receive")).json()
    assert report["passed"] is False
    assert [a["ok"] for a in report["attempts"] if not a["signed_correctly"]] == [False, False]
