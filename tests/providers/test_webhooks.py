"""Webhook signatures (raw body, constant time) and payload parsing for both providers."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from app.providers import webhook_sig
from app.providers.quickbooks import webhooks as qbo
from app.providers.xero import webhooks as xero

XERO_BODY = json.dumps(
    {
        "events": [
            {
                "resourceUrl": "https://api.xero.com/api.xro/2.0/Invoices/717f2f8a",
                "resourceId": "717f2f8a",
                "eventDateUtc": "2024-06-21T01:15:39.902",
                "eventType": "Update",
                "eventCategory": "INVOICE",
                "tenantId": "c2cc9b6e",
                "tenantType": "ORGANISATION",
            }
        ],
        "firstEventSequence": 1,
        "lastEventSequence": 1,
        "entropy": "S0m3r4Nd0mt3xt",
    },
    separators=(",", ":"),
).encode()


def test_xero_signature_is_over_the_raw_body() -> None:
    key = "xero-webhook-key"
    signature = webhook_sig.sign(XERO_BODY, key)
    assert xero.verify_signature(XERO_BODY, signature, key)
    # Same JSON, different bytes: the signature no longer matches.
    reformatted = json.dumps(json.loads(XERO_BODY)).encode()
    assert not xero.verify_signature(reformatted, signature, key)
    assert not xero.verify_signature(XERO_BODY, signature, "other-key")
    assert not xero.verify_signature(XERO_BODY, None, key)
    assert not xero.verify_signature(XERO_BODY, signature, "")


def test_xero_known_signature_vector() -> None:
    # base64(HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"))
    body = b"The quick brown fox jumps over the lazy dog"
    assert webhook_sig.sign(body, "key") == "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg="


def test_xero_payload_parsing() -> None:
    payload = xero.parse_payload(XERO_BODY)
    assert not payload.is_intent_to_receive
    (event,) = payload.events
    assert (event.category, event.type) == ("INVOICE", "UPDATE")  # "Update" normalised
    assert event.tenant_id == "c2cc9b6e" and event.resource_id == "717f2f8a"
    assert event.occurred_at == datetime(2024, 6, 21, 1, 15, 39, 902000, tzinfo=UTC)
    assert event.dedupe_key.startswith("c2cc9b6e:717f2f8a:2024-06-21T01:15:39.902")


def test_xero_intent_to_receive() -> None:
    body = b'{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"x"}'
    payload = xero.parse_payload(body)
    assert payload.is_intent_to_receive and payload.first_sequence == 0


def test_xero_rejects_foreign_payloads() -> None:
    with pytest.raises(ValueError):
        xero.parse_payload(b"[]")


CLASSIC = json.dumps(
    {
        "eventNotifications": [
            {
                "realmId": "9130350000000001",
                "dataChangeEvent": {
                    "entities": [
                        {"name": "Invoice", "id": "130", "operation": "Void",
                         "lastUpdated": "2015-10-05T14:42:19-0700"},
                        {"name": "Payment", "id": "77", "operation": "Create",
                         "lastUpdated": "2015-10-05T14:42:19.000Z"},
                    ]
                },
            }
        ]
    }
).encode()  # fmt: skip

CLOUD = json.dumps(
    [
        {
            "specversion": "1.0",
            "id": "88cd52aa-33b6-4351-9aa4-47572edbd068",
            "source": "intuit.dsnBgbseACLLRZNxo2dfc4evmEJdxde58xeeYcZliOU=",
            "type": "qbo.invoice.created.v1",
            "datacontenttype": "application/json",
            "time": "2025-09-10T21:31:25.179851517Z",
            "intuitentityid": "1234",
            "intuitaccountid": "310687",
            "data": {},
        },
        {
            "specversion": "1.0",
            "id": "e2",
            "type": "qbo.customer.updated.v1",
            "time": "2025-09-10T21:31:26Z",
            "intuitentityid": "58",
            "intuitaccountid": "310687",
        },
    ]
).encode()


def test_quickbooks_signature_uses_the_verifier_token() -> None:
    signature = webhook_sig.sign(CLASSIC, "qbo-verifier")
    assert qbo.verify_signature(CLASSIC, signature, "qbo-verifier")
    assert not qbo.verify_signature(CLASSIC, signature, "client-secret")
    assert not qbo.verify_signature(CLASSIC + b" ", signature, "qbo-verifier")


def test_quickbooks_classic_payload() -> None:
    events = qbo.parse_payload(CLASSIC)
    assert [(e.entity, e.entity_id, e.operation, e.format) for e in events] == [
        ("Invoice", "130", "Void", "classic"),
        ("Payment", "77", "Create", "classic"),
    ]
    assert events[0].realm_id == "9130350000000001"
    assert events[0].occurred_at == datetime(2015, 10, 5, 21, 42, 19, tzinfo=UTC)


def test_quickbooks_cloudevents_payload() -> None:
    events = qbo.parse_payload(CLOUD)
    assert [(e.entity, e.entity_id, e.operation, e.format) for e in events] == [
        ("Invoice", "1234", "Create", "cloudevents"),
        ("Customer", "58", "Update", "cloudevents"),
    ]
    assert events[0].realm_id == "310687"
    assert events[0].dedupe_key == "88cd52aa-33b6-4351-9aa4-47572edbd068"
    assert events[0].occurred_at == datetime(2025, 9, 10, 21, 31, 25, 179851, tzinfo=UTC)


def test_quickbooks_rejects_foreign_payloads() -> None:
    with pytest.raises(ValueError):
        qbo.parse_payload(b'{"events": []}')
