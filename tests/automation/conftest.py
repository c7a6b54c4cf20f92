"""The invoices tests' world (a company installed through the sandbox Pipedrive with Xero and
QuickBooks connected), plus steps for invoice rules."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from app.crm.pipedrive.client import PipedriveClient
from app.crm.pipedrive.models import PipedriveInstallation
from app.crm.pipedrive.service import client_for
from app.invoices.context import MetaCache
from app.invoices.models import DealInvoice
from app.worker.models import Job
from tests.connections.conftest import flow  # noqa: F401 - fixture
from tests.invoices.conftest import contoso, northwind  # noqa: F401 - fixtures
from tests.invoices.helpers import until


@pytest.fixture(autouse=True)
def fresh_caches(app: Any) -> None:
    """As the invoices tests: fresh field and metadata caches and adapters per test."""
    from app.crm.pipedrive.client import FieldDefinitionCache

    app.state.pipedrive_fields = FieldDefinitionCache()
    app.state.invoice_meta = MetaCache()
    app.state.providers = None


def deal_event(company: int, deal_id: int, status: str, event_id: str | None = None) -> bytes:
    """A webhooks v2 deal ``change`` as Pipedrive sends it."""
    return json.dumps(
        {
            "meta": {
                "action": "change",
                "entity": "deal",
                "company_id": str(company),
                "entity_id": str(deal_id),
                "id": event_id or str(uuid.uuid4()),
                "timestamp": "2026-12-04T10:00:00.000Z",
                "version": "2.0",
                "user_id": "101",
            },
            "data": {"id": deal_id, "status": status},
            "previous": {"status": "open"},
        }
    ).encode()


async def post_event(client: Any, settings: Any, raw: bytes) -> None:
    creds = f"{settings.pipedrive.webhook_user}:{settings.pipedrive.webhook_password}"
    auth = "Basic " + base64.b64encode(creds.encode()).decode()
    answer = await client.post("/webhooks/pipedrive", content=raw, headers={"authorization": auth})
    assert answer.status_code == 200, answer.text


async def set_deal(sandbox: Any, deal_id: int, **patch: Any) -> None:
    changed = await sandbox.http.patch(f"/_sandbox/pipedrive/deals/{deal_id}", json=patch)
    assert changed.status_code == 200, changed.text


async def add_rule(client: Any, headers: dict[str, str], **over: Any) -> dict[str, Any]:
    body = {"name": "Invoice won deals", "provider": "xero", "trigger": "won", **over}
    made = await client.post("/api/v1/automation/rules", json=body, headers=headers)
    assert made.status_code == 201, made.text
    rule: dict[str, Any] = made.json()
    return rule


async def rule_invoices(sessionmaker: Any, deal_id: int) -> list[DealInvoice]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(DealInvoice).where(
                DealInvoice.deal_id == deal_id, DealInvoice.idempotency_key.like("rule:%")
            )
        )
        return list(rows)


async def jobs_settled(sessionmaker: Any) -> None:
    """Every automation and webhook job has run (nothing pending or running)."""

    async def idle() -> bool:
        async with sessionmaker() as session:
            busy = await session.scalars(
                select(Job.id).where(
                    Job.status.in_(("pending", "running")),
                    Job.name.in_(("webhooks.process", "automation.evaluate_deal")),
                )
            )
            return not busy.all()

    await until(idle, timeout=30)


async def pipedrive_api(app: Any, sessionmaker: Any, company_id: str) -> PipedriveClient:
    async with sessionmaker() as session:
        row = (
            await session.scalars(
                select(PipedriveInstallation).where(PipedriveInstallation.company_id == company_id)
            )
        ).first()
    assert row is not None
    return client_for(app.state.http, app.state.settings, sessionmaker, row.id)
