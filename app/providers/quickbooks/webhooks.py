"""QuickBooks webhooks (quickbooks.md §11): signature check and both payload formats. Pure.

Verify ``intuit-signature`` over the raw body with the app's Verifier Token (not the client
secret), acknowledge within 3 s, and process the events later: they may repeat and reorder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from app.providers import webhook_sig
from app.providers.quickbooks.records import parse_datetime

SIGNATURE_HEADER = "intuit-signature"

# CloudEvents ``type`` verbs → the classic ``operation`` names.
_OPERATIONS = {
    "created": "Create",
    "updated": "Update",
    "deleted": "Delete",
    "voided": "Void",
    "merged": "Merge",
    "emailed": "Emailed",
}


@dataclass(frozen=True)
class QuickBooksEvent:
    """One entity change: refetch ``entity_id`` in ``realm_id`` (payloads carry ids only)."""

    realm_id: str
    entity: str  # "Invoice", "Customer", "Payment", ...
    entity_id: str
    operation: str  # Create, Update, Delete, Void, Merge, Emailed
    occurred_at: datetime | None
    format: Literal["classic", "cloudevents"]
    event_id: str | None = None

    @property
    def dedupe_key(self) -> str:
        if self.event_id:
            return self.event_id
        stamp = self.occurred_at.isoformat() if self.occurred_at else ""
        return f"{self.realm_id}:{self.entity}:{self.entity_id}:{self.operation}:{stamp}"


def verify_signature(raw_body: bytes, signature: str | None, verifier_token: str) -> bool:
    """True when ``intuit-signature`` is base64(HMAC-SHA256(verifier token, raw body))."""
    return webhook_sig.verify(raw_body, signature, verifier_token)


def is_cloudevents(data: Any) -> bool:
    """A JSON array whose first element has ``specversion`` and ``type``."""
    return (
        isinstance(data, list)
        and bool(data)
        and isinstance(data[0], dict)
        and "specversion" in data[0]
        and "type" in data[0]
    )


def _entity_name(raw: str) -> str:
    return raw[:1].upper() + raw[1:] if raw else raw


def parse_payload(raw_body: bytes) -> list[QuickBooksEvent]:
    """Events from a classic ``eventNotifications`` or a CloudEvents array payload."""
    data = json.loads(raw_body)
    if is_cloudevents(data) or data == []:
        return [_cloud_event(e) for e in data]
    if isinstance(data, dict) and "eventNotifications" in data:
        out = []
        for note in data.get("eventNotifications") or []:
            realm = str(note.get("realmId") or "")
            for entity in (note.get("dataChangeEvent") or {}).get("entities") or []:
                out.append(
                    QuickBooksEvent(
                        realm_id=realm,
                        entity=_entity_name(str(entity.get("name") or "")),
                        entity_id=str(entity.get("id") or ""),
                        operation=str(entity.get("operation") or ""),
                        occurred_at=_parse_time(entity.get("lastUpdated")),
                        format="classic",
                    )
                )
        return out
    raise ValueError("not a QuickBooks webhook payload")


def _cloud_event(event: dict[str, Any]) -> QuickBooksEvent:
    # type is qbo.<entity>.<verb>.v1, e.g. qbo.invoice.created.v1
    parts = str(event.get("type") or "").split(".")
    entity = parts[1] if len(parts) > 2 else ""
    verb = parts[2] if len(parts) > 2 else ""
    return QuickBooksEvent(
        realm_id=str(event.get("intuitaccountid") or ""),
        entity=_entity_name(entity),
        entity_id=str(event.get("intuitentityid") or ""),
        operation=_OPERATIONS.get(verb.lower(), verb.capitalize()),
        occurred_at=_parse_time(event.get("time")),
        format="cloudevents",
        event_id=event.get("id"),
    )


def _parse_time(value: Any) -> datetime | None:
    """ISO times, including ``-0700`` offsets and nanosecond fractions."""
    if not value:
        return None
    text = str(value)
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    if "." in text:
        head, _, tail = text.partition(".")
        digits = "".join(c for c in tail if c.isdigit())
        zone = tail[len(digits) :]
        text = f"{head}.{digits[:6]}{zone}"
    return parse_datetime(text)
