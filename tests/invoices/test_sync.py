"""Status sync end to end: signed provider webhooks through the inbox and the worker to the
status the API shows; catch-up with If-Modified-Since and CDC when webhooks never arrive; the
deal's refresh; a revoked connection stops syncing."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from app.connections.models import ConnectionStatus, ProviderConnection
from app.db import utcnow
from app.invoices.models import DealInvoice
from app.webhooks.models import WebhookEvent
from app.worker.models import Job
from app.worker.outbox import enqueue
from tests.invoices.helpers import body, create, draft, until

PANEL = "/pipedrive/panel"


async def created(client: Any, northwind: Any, provider: str) -> dict[str, Any]:
    d = await draft(client, northwind.headers, 31, provider)
    made = await create(client, northwind.headers, 31, body(d, accept_tax_difference=True))
    assert made.status_code == 201, made.text
    result: dict[str, Any] = made.json()
    return result


async def approve(client: Any, northwind: Any, row_id: str) -> None:
    done = await client.post(
        f"{PANEL}/31/invoices/{row_id}/actions/AUTHORISED", headers=northwind.headers
    )
    assert done.status_code == 200 and "approved" in done.text, done.text


async def listed(client: Any, northwind: Any, row_id: str) -> dict[str, Any]:
    response = await client.get("/api/v1/deals/31/invoices", headers=northwind.headers)
    assert response.status_code == 200, response.text
    return next(i for i in response.json() if i["id"] == row_id)


async def run_catch_up(sessionmaker: Any, company_id: str, provider: str) -> ProviderConnection:
    """Record a catch-up for the company's connection and wait for that job to finish. The
    connection is marked freshly synced first, so the periodic check does not run one of its
    own meanwhile (the request counts below are this job's alone)."""
    async with sessionmaker() as session:
        connection = (
            await session.scalars(
                select(ProviderConnection).where(
                    ProviderConnection.company_id == company_id,
                    ProviderConnection.provider == provider,
                )
            )
        ).one()
        connection.last_sync_at = utcnow()
        await enqueue(
            session,
            "invoices.catch_up",
            company_id=company_id,
            connection_id=connection.id,
            key=f"test-catch-up:{connection.id}:{uuid.uuid4()}",
        )
        await session.commit()

    async def finished() -> bool:
        async with sessionmaker() as session:
            jobs = (await session.scalars(select(Job).where(Job.key.like("test-catch-up:%")))).all()
        return bool(jobs) and all(j.status == "done" for j in jobs)

    await until(finished)
    return connection


async def hold_periodic_catch_up(sessionmaker: Any, company_id: str) -> None:
    async with sessionmaker() as session:
        await session.execute(
            update(ProviderConnection)
            .where(ProviderConnection.company_id == company_id)
            .values(last_sync_at=utcnow())
        )
        await session.commit()


async def test_a_xero_payment_reaches_the_api_through_the_webhook_and_the_worker(
    client: Any, northwind: Any, sandbox: Any, app_server: str, sessionmaker: Any
) -> None:
    invoice = await created(client, northwind, "xero")
    await approve(client, northwind, invoice["id"])
    total = (await listed(client, northwind, invoice["id"]))["total"]
    paid = await sandbox.http.post(
        "/_sandbox/xero/payments",
        json={"InvoiceID": invoice["provider_invoice_id"], "Amount": total},
    )
    assert paid.status_code == 200, paid.text

    async def shows_paid() -> dict[str, Any] | None:
        row = await listed(client, northwind, invoice["id"])
        return row if row["provider_status"] == "PAID" else None

    row = await until(shows_paid)
    assert Decimal(row["amount_due"]) == 0 and Decimal(row["amount_paid"]) == Decimal(total)
    assert row["status_label"] == "Paid"
    async with sessionmaker() as session:
        events = (
            await session.scalars(
                select(WebhookEvent).where(
                    WebhookEvent.resource_id == invoice["provider_invoice_id"]
                )
            )
        ).all()
    assert any(e.outcome == "updated: PAID" for e in events), [e.outcome for e in events]
    # Deliveries were signed and accepted: none was refused (one may still be in flight).
    deliveries = await sandbox.webhooks("xero")
    assert any(d["delivered"] for d in deliveries)
    assert all(a.get("status") in (None, 200) for d in deliveries for a in d["attempts"])


async def test_a_quickbooks_part_payment_shows_partially_paid(
    client: Any, northwind: Any, sandbox: Any, app_server: str
) -> None:
    invoice = await created(client, northwind, "quickbooks")
    paid = await sandbox.http.post(
        "/_sandbox/quickbooks/payments",
        json={"invoice_id": invoice["provider_invoice_id"], "amount": "100.00"},
    )
    assert paid.status_code == 200, paid.text

    async def part_paid() -> dict[str, Any] | None:
        row = await listed(client, northwind, invoice["id"])
        return row if Decimal(row["amount_paid"]) == Decimal("100.00") else None

    row = await until(part_paid)
    assert Decimal(row["amount_due"]) == Decimal(row["total"]) - Decimal("100.00")
    assert row["status_label"] == "Partially paid"


async def test_catch_up_brings_a_change_whose_webhook_never_came(
    client: Any, northwind: Any, sandbox: Any, sessionmaker: Any, app: Any
) -> None:
    await hold_periodic_catch_up(sessionmaker, northwind.user.company_id)
    # No webhook for this invoice at all: one batched from its creation or approval and sent
    # after the payment would bring the payment (the app re-reads the invoice it names).
    await sandbox.send_webhooks(False)
    invoice = await created(client, northwind, "xero")
    await approve(client, northwind, invoice["id"])
    total = (await listed(client, northwind, invoice["id"]))["total"]
    paid = await sandbox.http.post(
        "/_sandbox/xero/payments",
        json={"InvoiceID": invoice["provider_invoice_id"], "Amount": total},
    )
    assert paid.status_code == 200
    await asyncio.sleep(0.5)
    assert (await listed(client, northwind, invoice["id"]))["provider_status"] == "AUTHORISED"
    await sandbox.clear_requests()
    connection = await run_catch_up(sessionmaker, northwind.user.company_id, "xero")
    assert (await listed(client, northwind, invoice["id"]))["provider_status"] == "PAID"
    reads = [r for r in await sandbox.requests("/xero/api") if r["method"] == "GET"]
    invoice_reads = [r for r in reads if "/Invoices" in r["path"]]
    # One page of changes, asked with If-Modified-Since.
    assert len(invoice_reads) == 1, invoice_reads
    headers = {k.lower(): v for k, v in (invoice_reads[0].get("headers") or {}).items()}
    assert "if-modified-since" in headers, invoice_reads[0]
    async with sessionmaker() as session:
        fresh = await session.get(ProviderConnection, connection.id)
        assert fresh is not None and fresh.last_sync_at is not None
        assert fresh.synced_until is not None and fresh.last_sync_error == ""


async def test_quickbooks_catch_up_is_one_cdc_call(
    client: Any, northwind: Any, sandbox: Any, sessionmaker: Any, app: Any
) -> None:
    await hold_periodic_catch_up(sessionmaker, northwind.user.company_id)
    invoice = await created(client, northwind, "quickbooks")
    await sandbox.send_webhooks(False)
    paid = await sandbox.http.post(
        "/_sandbox/quickbooks/payments",
        json={"invoice_id": invoice["provider_invoice_id"], "amount": invoice["total"]},
    )
    assert paid.status_code == 200, paid.text
    await sandbox.clear_requests()
    await run_catch_up(sessionmaker, northwind.user.company_id, "quickbooks")
    row = await listed(client, northwind, invoice["id"])
    assert Decimal(row["amount_due"]) == 0
    calls = [r for r in await sandbox.requests("/quickbooks/api") if "/cdc" in r["path"]]
    assert len(calls) == 1


async def test_refresh_syncs_the_deal_now_and_only_the_company_s_own_rows(
    client: Any, northwind: Any, contoso: Any, sandbox: Any
) -> None:
    invoice = await created(client, northwind, "xero")
    await approve(client, northwind, invoice["id"])
    await sandbox.send_webhooks(False)
    total = (await listed(client, northwind, invoice["id"]))["total"]
    await sandbox.http.post(
        "/_sandbox/xero/payments",
        json={"InvoiceID": invoice["provider_invoice_id"], "Amount": total},
    )
    refreshed = await client.post("/api/v1/deals/31/invoices/refresh", headers=northwind.headers)
    assert refreshed.status_code == 200, refreshed.text
    row = next(i for i in refreshed.json() if i["id"] == invoice["id"])
    assert row["provider_status"] == "PAID"
    # Another company's refresh of the same deal number sees none of these rows.
    other = await client.post("/api/v1/deals/31/invoices/refresh", headers=contoso.headers)
    assert other.status_code in (404, 409) or other.json() == []


async def test_a_revoked_connection_stops_its_sync_without_retries(
    client: Any, northwind: Any, sandbox: Any, sessionmaker: Any, app: Any
) -> None:
    async with sessionmaker() as session:
        connection = (
            await session.scalars(
                select(ProviderConnection).where(
                    ProviderConnection.company_id == northwind.user.company_id,
                    ProviderConnection.provider == "xero",
                )
            )
        ).one()
        await session.execute(
            update(ProviderConnection)
            .where(ProviderConnection.id == connection.id)
            .values(status=ConnectionStatus.needs_reauth.value)
        )
        await enqueue(
            session,
            "invoices.catch_up",
            company_id=northwind.user.company_id,
            connection_id=connection.id,
        )
        await session.commit()

    async def finished() -> Job | None:
        async with sessionmaker() as session:
            job = (await session.scalars(select(Job).where(Job.name == "invoices.catch_up"))).one()
        return job if job.status == "done" else None

    job = await until(finished)
    assert job.attempts == 1
    async with sessionmaker() as session:
        rows = (await session.scalars(select(DealInvoice))).all()
    assert rows == []


async def test_the_connections_page_and_api_show_sync_health(
    client: Any, northwind: Any, sandbox: Any, sessionmaker: Any
) -> None:
    async with sessionmaker() as session:
        connection = (
            await session.scalars(
                select(ProviderConnection).where(
                    ProviderConnection.company_id == northwind.user.company_id,
                    ProviderConnection.provider == "xero",
                )
            )
        ).one()
        connection.last_sync_error = "ProviderUnavailable: Xero answered 503"
        await session.commit()
    api = await client.get("/api/v1/connections", headers=northwind.headers)
    xero = next(c for c in api.json() if c["provider"] == "xero")
    assert xero["last_sync_error"].startswith("ProviderUnavailable")
    assert xero["events_waiting"] == 0 and xero["last_sync_at"] is None
    page = await client.get("/connections", headers=northwind.headers)
    assert "Status sync" in page.text and "Xero answered 503" in page.text
