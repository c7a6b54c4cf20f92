"""Overdue follow-up end to end: an overdue invoice gives the deal's owner one Pipedrive
activity per reminder step (with the customer's online link), and they are marked done once
the payment reaches us through the provider's webhook and the worker."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from app.automation.models import OverdueFollowup
from app.connections.models import ProviderConnection
from app.tenants.clock import today_in
from app.worker.models import Job
from app.worker.outbox import enqueue
from tests.automation.conftest import pipedrive_api
from tests.invoices.helpers import body, create, draft, until
from tests.invoices.test_sync import approve, listed

ZONES = {"xero": "Pacific/Auckland", "quickbooks": "America/Los_Angeles"}


async def run_overdue(sessionmaker: Any, company_id: str) -> None:
    key = f"test-overdue:{uuid.uuid4()}"
    async with sessionmaker() as session:
        await enqueue(session, "automation.overdue", company_id=company_id, key=key)
        await session.commit()

    async def finished() -> bool:
        async with sessionmaker() as session:
            job = (await session.scalars(select(Job).where(Job.key == key))).one()
        assert job.status != "parked", job.last_error
        return job.status == "done"

    await until(finished, timeout=30)


async def created_overdue(
    client: Any, sessionmaker: Any, northwind: Any, provider: str, days: int
) -> dict[str, Any]:
    """An invoice of deal 31 whose due date passed ``days`` days ago at the organisation (so
    the provider, and every sync from it, says the same)."""
    async with sessionmaker() as session:
        zone = await session.scalar(
            select(ProviderConnection.timezone).where(
                ProviderConnection.company_id == northwind.user.company_id,
                ProviderConnection.provider == provider,
            )
        )
    today = today_in(zone)
    d = await draft(client, northwind.headers, 31, provider)
    payload = body(
        d,
        accept_tax_difference=True,
        issue_date=today - timedelta(days=days + 2),
        due_date=today - timedelta(days=days),
    )
    made = await create(client, northwind.headers, 31, payload)
    assert made.status_code == 201, made.text
    result: dict[str, Any] = made.json()
    return result


async def pay(sandbox: Any, provider: str, invoice: dict[str, Any], total: str) -> None:
    if provider == "xero":
        body: dict[str, Any] = {"InvoiceID": invoice["provider_invoice_id"], "Amount": total}
    else:
        body = {"invoice_id": invoice["provider_invoice_id"], "amount": total}
    paid = await sandbox.http.post(f"/_sandbox/{provider}/payments", json=body)
    assert paid.status_code == 200, paid.text


@pytest.mark.parametrize("provider", ["xero", "quickbooks"])
async def test_one_activity_per_step_and_done_on_payment(
    client, app, sandbox, app_server, sessionmaker, northwind, provider
):
    company_id = northwind.user.company_id
    on = {"overdue_followup": True, "overdue_steps": [1, 7, 14]}
    saved = await client.put("/api/v1/automation/settings", json=on, headers=northwind.headers)
    assert saved.status_code == 200, saved.text
    invoice = await created_overdue(client, sessionmaker, northwind, provider, 8)
    if provider == "xero":
        await approve(client, northwind, invoice["id"])
    api = await pipedrive_api(app, sessionmaker, company_id)

    # Only the first step is configured: one activity, however often the job runs.
    steps = {"overdue_followup": True, "overdue_steps": [1]}
    await client.put("/api/v1/automation/settings", json=steps, headers=northwind.headers)
    await run_overdue(sessionmaker, company_id)
    await run_overdue(sessionmaker, company_id)
    first = await api.activities(31)
    assert len(first) == 1, first
    row = await listed(client, northwind, invoice["id"])
    amount = Decimal(row["amount_due"])
    assert first[0].subject.startswith(f"Acme Ltd: {row['number']} ")
    assert first[0].subject.endswith(" is 8 days overdue")
    assert f"{amount:,.2f}" in first[0].subject
    assert first[0].owner_id == (await api.deal(31)).owner_id and first[0].done is False
    # Xero's online invoice link; QuickBooks gives an InvoiceLink only with online payments on
    # and a BillEmail (quickbooks.md §3.1), which this invoice lacks: then no link is made up.
    assert ("<a href=" in (first[0].note or "")) == (provider == "xero"), first[0].note

    # Steps 1, 7 and 14: day 8 has reached step 7, which gets its own activity.
    await client.put("/api/v1/automation/settings", json=on, headers=northwind.headers)
    await run_overdue(sessionmaker, company_id)
    await run_overdue(sessionmaker, company_id)
    second = await api.activities(31)
    assert len(second) == 2 and second[1].subject.endswith(" is 8 days overdue")
    async with sessionmaker() as session:
        steps = (await session.scalars(select(OverdueFollowup.step))).all()
    assert sorted(steps) == [1, 7]

    await pay(sandbox, provider, invoice, row["total"])

    async def shows_paid() -> bool:
        return Decimal((await listed(client, northwind, invoice["id"]))["amount_due"]) == 0

    await until(shows_paid, timeout=30)
    await run_overdue(sessionmaker, company_id)
    assert [a.done for a in await api.activities(31)] == [True, True]
