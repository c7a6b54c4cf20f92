"""From a verified delivery's raw body to ``Inbound`` events, one function per sender.

Parsing is pure; the providers' own payload parsers are reused. Anything that is not the
sender's shape raises ``MalformedDelivery`` (400, nothing stored).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from app.providers.quickbooks import webhooks as qbo_webhooks
from app.providers.xero import webhooks as xero_webhooks
from app.webhooks.exceptions import MalformedDelivery
from app.webhooks.schemas import Inbound


def xero_events(raw: bytes) -> list[Inbound]:
    try:
        delivery = xero_webhooks.parse_payload(raw)
    except (ValueError, TypeError, AttributeError) as exc:
        raise MalformedDelivery("the body is not a Xero webhook payload") from exc
    return [
        Inbound(
            source="xero",
            tenant_id=e.tenant_id,
            category=e.category,
            action=e.type,
            resource_id=e.resource_id,
            occurred_at=e.occurred_at,
            dedupe_key=e.dedupe_key,
            payload={"category": e.category, "type": e.type, "resourceId": e.resource_id},
        )
        for e in delivery.events
    ]


def quickbooks_events(raw: bytes) -> list[Inbound]:
    try:
        events = qbo_webhooks.parse_payload(raw)
    except (ValueError, TypeError, AttributeError) as exc:
        raise MalformedDelivery("the body is not a QuickBooks webhook payload") from exc
    return [
        Inbound(
            source="quickbooks",
            tenant_id=e.realm_id,
            category=e.entity,
            action=e.operation,
            resource_id=e.entity_id,
            occurred_at=e.occurred_at,
            dedupe_key=e.dedupe_key,
            payload={"entity": e.entity, "operation": e.operation, "format": e.format},
        )
        for e in events
    ]


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def pipedrive_events(raw: bytes) -> list[Inbound]:
    """A v2 delivery is one event: ``{meta, data, previous}``."""
    try:
        body = json.loads(raw)
        meta = body["meta"]
        entity = str(meta["entity"])
        action = str(meta["action"])
        company = str(meta["company_id"])
        entity_id = str(meta.get("entity_id") or "")
        event_id = str(meta.get("id") or "")
    except (ValueError, TypeError, KeyError) as exc:
        raise MalformedDelivery("the body is not a Pipedrive v2 webhook payload") from exc
    if not event_id or not company:
        raise MalformedDelivery("meta.id and meta.company_id are required")
    return [
        Inbound(
            source="pipedrive",
            tenant_id=company,
            category=entity,
            action=action,
            resource_id=entity_id,
            occurred_at=_timestamp(meta.get("timestamp")),
            dedupe_key=event_id,
            # Deals carry customer data: keep what the automation needs, not whole objects.
            payload={
                "data": _slim(body.get("data")),
                "previous": _slim(body.get("previous")),
                "user_id": meta.get("user_id"),
                "change_source": meta.get("change_source"),
            },
        )
    ]


_KEPT = ("id", "status", "stage_id", "pipeline_id", "won_time", "value", "currency", "deal_id")


def _slim(obj: Any) -> dict[str, Any] | None:
    if not isinstance(obj, dict):
        return None
    return {k: obj[k] for k in _KEPT if k in obj}
