"""Verify, store, enqueue: everything the inbox does before it answers.

The answer comes after the commit, so a 2xx means the events are safely stored and their jobs
recorded; the work itself happens in jobs (the senders give us 3 to 10 seconds).
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.connections.models import ConnectionStatus, ProviderConnection
from app.db import insert_ignoring_conflicts, new_uuid, utcnow
from app.logs import log
from app.providers import webhook_sig
from app.tenants.models import Company
from app.webhooks.exceptions import BadSignature
from app.webhooks.models import EventStatus, WebhookEvent
from app.webhooks.schemas import Inbound, Receipt
from app.worker.outbox import enqueue

PROCESS_JOB = "webhooks.process"
# Events one processing job takes at once (Xero reads 100 invoices per call).
BATCH_SIZE = 100


def check_hmac(raw: bytes, signature: str | None, key: str) -> None:
    """Raise BadSignature unless ``signature`` is base64(HMAC-SHA256(key, raw body)), the
    scheme of Xero and Intuit alike (compared in constant time)."""
    if not key or not signature:
        raise BadSignature("the webhook signature is missing")
    if not webhook_sig.verify(raw, signature, key):
        raise BadSignature("the webhook signature does not match")


def check_basic(authorization: str | None, settings: Settings) -> None:
    """Pipedrive authenticates with the HTTP Basic credentials we registered."""
    user, password = settings.pipedrive.webhook_user, settings.pipedrive.webhook_password
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    if not password or not authorization:
        raise BadSignature("the webhook credentials are missing")
    if not hmac.compare_digest(expected.encode(), authorization.strip().encode()):
        raise BadSignature("the webhook credentials do not match")


async def _provider_tenants(
    session: AsyncSession, provider: str, tenant_ids: set[str]
) -> dict[str, str]:
    rows = await session.execute(
        select(ProviderConnection.tenant_id, ProviderConnection.company_id).where(
            ProviderConnection.provider == provider,
            ProviderConnection.tenant_id.in_(tenant_ids),
            ProviderConnection.status != ConnectionStatus.disconnected.value,
        )
    )
    return {tenant: company for tenant, company in rows.all()}


async def _pipedrive_tenants(session: AsyncSession, tenant_ids: set[str]) -> dict[str, str]:
    numbers = {int(t) for t in tenant_ids if t.isdigit()}
    rows = await session.execute(
        select(Company.pipedrive_company_id, Company.id).where(
            Company.pipedrive_company_id.in_(numbers)
        )
    )
    return {str(number): company for number, company in rows.all()}


async def companies_of(
    session: AsyncSession, source: str, events: Sequence[Inbound]
) -> dict[str, str]:
    """tenant id → our company id, for the tenants we know (others are dropped)."""
    tenants = {e.tenant_id for e in events if e.tenant_id}
    if not tenants:
        return {}
    if source == "pipedrive":
        return await _pipedrive_tenants(session, tenants)
    return await _provider_tenants(session, source, tenants)


def _row(event: Inbound, source: str, company_id: str, now: datetime) -> dict[str, Any]:
    return {
        "id": new_uuid(),
        "company_id": company_id,
        "source": source,
        "dedupe_key": event.stored_key,
        "tenant_id": event.tenant_id[:64],
        "category": event.category[:40],
        "action": event.action[:40],
        "resource_id": event.resource_id[:64],
        "occurred_at": event.occurred_at,
        "received_at": now,
        "payload": event.payload,
        "status": EventStatus.received.value,
        "outcome": "",
    }


async def store(session: AsyncSession, source: str, events: Sequence[Inbound]) -> Receipt:
    """Store each new event and record the jobs that process them, in the caller's
    transaction: one statement for the events, one job per company and 100 new events (a job
    processes up to 100 waiting events of its company at once)."""
    companies = await companies_of(session, source, events)
    now = utcnow()
    rows = []
    for event in events:
        company_id = companies.get(event.tenant_id)
        if company_id is None:
            # Unknown or uninstalled tenant: answered 2xx so the sender does not disable the
            # webhook for everyone, and dropped.
            log.info(
                "webhook_dropped", source=source, tenant=event.tenant_id, reason="unknown tenant"
            )
            continue
        rows.append(_row(event, source, company_id, now))
    stored: dict[str, list[str]] = {}
    if rows:
        table = WebhookEvent.__table__
        result = await session.execute(
            insert_ignoring_conflicts(session, table, rows, ["source", "dedupe_key"]).returning(
                table.c.id, table.c.company_id
            )
        )
        for event_id, company_id in result.all():
            stored.setdefault(company_id, []).append(event_id)
    for company_id, ids in stored.items():
        for first in ids[::BATCH_SIZE]:
            await enqueue(session, PROCESS_JOB, company_id=company_id, event_id=first)
    kept = sum(len(ids) for ids in stored.values())
    receipt = Receipt(
        received=len(events),
        stored=kept,
        duplicates=len(rows) - kept,
        dropped=len(events) - len(rows),
    )
    log.info("webhook_received", source=source, **receipt.model_dump())
    return receipt


async def forget_old(session: AsyncSession, settings: Settings) -> int:
    """Delete events older than the retention period (14 days by default)."""
    cutoff = utcnow() - timedelta(days=settings.webhook_retention_days)
    result = await session.execute(delete(WebhookEvent).where(WebhookEvent.received_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


async def waiting_by_source(session: AsyncSession, company_id: str) -> dict[str, int]:
    """Events received but not processed yet, per source (shown as sync health)."""
    rows = await session.execute(
        select(WebhookEvent.source, func.count())
        .where(
            WebhookEvent.company_id == company_id,
            WebhookEvent.status == EventStatus.received.value,
        )
        .group_by(WebhookEvent.source)
    )
    return {source: int(count) for source, count in rows.all()}
