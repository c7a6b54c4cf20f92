"""Xero webhooks (xero.md §14): signature check and typed events. Pure functions.

Verify over the raw body before parsing; answer 401 to a bad signature (this is also how the
"Intent to Receive" handshake is passed) and an empty 200 within 5 s otherwise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from app.providers import webhook_sig
from app.providers.xero.mapping import parse_datetime

SIGNATURE_HEADER = "x-xero-signature"


@dataclass(frozen=True)
class XeroEvent:
    """One change: refetch ``resource_id`` with ``tenant_id``'s token (payloads carry ids)."""

    tenant_id: str
    tenant_type: str
    category: str  # INVOICE, CONTACT, CREDITNOTE, SUBSCRIPTION (upper-cased)
    type: str  # CREATE, UPDATE (upper-cased: the docs show "Update", the spec "UPDATE")
    resource_id: str
    resource_url: str | None
    occurred_at: datetime | None

    @property
    def dedupe_key(self) -> str:
        """(tenant, resource, time): xero.md suggests de-duplicating on these."""
        stamp = self.occurred_at.isoformat() if self.occurred_at else ""
        return f"{self.tenant_id}:{self.resource_id}:{stamp}:{self.type}"


@dataclass(frozen=True)
class XeroWebhook:
    events: tuple[XeroEvent, ...]
    first_sequence: int
    last_sequence: int
    entropy: str | None

    @property
    def is_intent_to_receive(self) -> bool:
        """The handshake Xero sends when the webhook is set up: no events, sequences 0."""
        return not self.events


def verify_signature(raw_body: bytes, signature: str | None, webhook_key: str) -> bool:
    """True when ``x-xero-signature`` is base64(HMAC-SHA256(webhook key, raw body))."""
    return webhook_sig.verify(raw_body, signature, webhook_key)


def parse_payload(raw_body: bytes) -> XeroWebhook:
    """The payload as typed events; ValueError when it is not a Xero webhook body."""
    data = json.loads(raw_body)
    if not isinstance(data, dict) or "events" not in data:
        raise ValueError("not a Xero webhook payload")
    events = []
    for e in data.get("events") or []:
        events.append(
            XeroEvent(
                tenant_id=str(e.get("tenantId") or ""),
                tenant_type=str(e.get("tenantType") or "").upper(),
                category=str(e.get("eventCategory") or "").upper(),
                type=str(e.get("eventType") or "").upper(),
                resource_id=str(e.get("resourceId") or ""),
                resource_url=e.get("resourceUrl"),
                occurred_at=parse_datetime(e.get("eventDateUtc")),
            )
        )
    return XeroWebhook(
        events=tuple(events),
        # ITR sends 0 although the spec says minimum 1: don't validate strictly.
        first_sequence=int(data.get("firstEventSequence") or 0),
        last_sequence=int(data.get("lastEventSequence") or 0),
        entropy=data.get("entropy"),
    )
