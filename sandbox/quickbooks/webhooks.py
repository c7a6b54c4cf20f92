"""Outgoing QuickBooks webhooks: classic eventNotifications or CloudEvents, signed with the
verifier token (quickbooks.md §11)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC
from typing import TYPE_CHECKING, Any

from sandbox.quickbooks.clocktime import COMPANY_TZ
from sandbox.quickbooks.state import Event

if TYPE_CHECKING:
    from sandbox.app import Sandbox

FORMATS = ("cloudevents", "legacy")
NOTIFIED = ("Invoice", "Customer", "Payment")
# CloudEvents type verbs; "voided" is UNCONFIRMED (quickbooks.md §11: only created, deleted,
# updated are seen in Intuit's samples).
VERBS = {"Create": "created", "Update": "updated", "Delete": "deleted", "Void": "voided"}


def sign(verifier_token: str, body: bytes) -> str:
    digest = hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def webhook_format(sandbox: Sandbox, realm: str) -> str:
    saved = sandbox.store.get("qbo:webhook-format", realm)
    return saved["format"] if saved else "cloudevents"


def set_webhook_format(sandbox: Sandbox, realm: str, fmt: str) -> None:
    sandbox.store.put("qbo:webhook-format", realm, {"format": fmt})


def legacy_body(realm: str, events: list[Event]) -> list[dict[str, Any]] | dict[str, Any]:
    return {
        "eventNotifications": [
            {
                "realmId": realm,
                "dataChangeEvent": {
                    "entities": [
                        {
                            "name": e.entity,
                            "id": e.entity_id,
                            "operation": e.operation,
                            # As in the documented sample: company time, offset without colon.
                            "lastUpdated": e.at.astimezone(COMPANY_TZ).strftime(
                                "%Y-%m-%dT%H:%M:%S%z"
                            ),
                        }
                        for e in events
                    ]
                },
            }
        ]
    }


def cloudevents_body(realm: str, events: list[Event], source: str) -> list[dict[str, Any]]:
    return [
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": source,
            "type": f"qbo.{e.entity.lower()}.{VERBS[e.operation]}.v1",
            "datacontenttype": "application/json",
            "time": e.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "intuitentityid": e.entity_id,
            "intuitaccountid": realm,
            "data": {},
        }
        for e in events
    ]


def emit(sandbox: Sandbox, realm: str, events: list[Event]) -> None:
    """Post one signed notification for the request's changes (at most 100 events each)."""
    wanted = [e for e in events if e.entity in NOTIFIED]
    url = sandbox.settings.quickbooks_webhook_url
    if not wanted or not url:
        return
    source = (
        "intuit."
        + base64.b64encode(
            hashlib.sha256(sandbox.settings.quickbooks_client.client_id.encode()).digest()
        ).decode()
    )
    fmt = webhook_format(sandbox, realm)
    for start in range(0, len(wanted), 100):
        chunk = wanted[start : start + 100]
        payload: Any = (
            cloudevents_body(realm, chunk, source)
            if fmt == "cloudevents"
            else legacy_body(realm, chunk)
        )
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {
            "content-type": "application/json",
            "intuit-signature": sign(sandbox.settings.quickbooks_verifier_token, body),
        }
        sandbox.webhooks.send("quickbooks", url, body, headers)
