"""Creating invoices exactly once: the same key, 20 concurrent requests, an answer lost after
the provider committed, a provider validation error, an orphan contact, and the audit entry."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from app.connections.models import ProviderConnection
from app.invoices.context import MetaCache
from app.invoices.models import DealInvoice
from app.tenants.models import AuditEvent
from tests.invoices.helpers import UNKNOWN_ITEM_LINE, body, create, draft


def invoice_posts(requests, provider="xero"):
    needle = "/Invoices" if provider == "xero" else "/invoice"
    return [
        r
        for r in requests
        if r.get("method") == "POST"
        and needle in r.get("path", "")
        and "/email" not in r.get("path", "")
    ]


async def provider_invoices(app, company_id, provider, contact_id):
    tokens = app.state.invoice_tokens if hasattr(app.state, "invoice_tokens") else None
    from app.connections.tokens import TokenService

    tokens = TokenService(app.state.settings, app.state.sessionmaker, app.state.http)
    adapter = tokens.facade(provider).adapter
    page = await tokens.call(
        company_id, provider, lambda c: adapter.search_invoices(c, contact_id=contact_id)
    )
    return page.items


async def test_same_key_returns_the_same_invoice(client, northwind, sandbox, sessionmaker):
    d = await draft(client, northwind.headers, 31, "xero")
    key = str(uuid.uuid4())
    first = await create(client, northwind.headers, 31, body(d), key)
    again = await create(client, northwind.headers, 31, body(d), key)
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["provider_invoice_id"] == again.json()["provider_invoice_id"]
    listed = (await client.get("/api/v1/deals/31/invoices", headers=northwind.headers)).json()
    assert [i["id"] for i in listed] == [first.json()["id"]]
    assert listed[0]["status_label"] == "Draft" and listed[0]["number"]
    assert Decimal(listed[0]["amount_due"]) == Decimal(listed[0]["total"])
    # A different invoice under a used key is refused.
    other = body(d, reference="Something else")
    refused = await create(client, northwind.headers, 31, other, key)
    assert refused.status_code == 409 and refused.json()["error"]["field"] == "Idempotency-Key"
    assert refused.json()["error"]["code"] == "idempotency_key_reused"
    async with sessionmaker() as session:
        audit = (
            (
                await session.execute(
                    select(AuditEvent).where(AuditEvent.action == "invoice.created")
                )
            )
            .scalars()
            .all()
        )
    assert len(audit) == 1
    assert audit[0].actor_user_id == northwind.user.id
    assert audit[0].details["provider_invoice_id"] == first.json()["provider_invoice_id"]


async def test_twenty_concurrent_identical_requests_create_one_invoice(
    client, northwind, sandbox, app
):
    d = await draft(client, northwind.headers, 31, "quickbooks")
    await sandbox.clear_requests()
    key = str(uuid.uuid4())
    payload = body(d, accept_tax_difference=True)
    answers = await asyncio.gather(
        *(create(client, northwind.headers, 31, payload, key) for _ in range(20))
    )
    assert sorted(a.status_code for a in answers) == [200] * 19 + [201], [a.text for a in answers]
    assert len({a.json()["provider_invoice_id"] for a in answers}) == 1
    assert len(invoice_posts(await sandbox.requests(), "quickbooks")) == 1
    found = await provider_invoices(app, northwind.user.company_id, "quickbooks", "3")
    ours = [i for i in found if i.id == answers[0].json()["provider_invoice_id"]]
    assert len(ours) == 1
    assert len([i for i in found if (i.reference or "").startswith("Acme rollout")]) == 1


async def test_an_answer_lost_after_commit_is_not_a_second_invoice(client, northwind, sandbox, app):
    d = await draft(client, northwind.headers, 31, "xero")
    await sandbox.fault(kind="commit_then_fail", path="/Invoices", count=1)
    response = await create(client, northwind.headers, 31, body(d))
    assert response.status_code == 201, response.text
    contact = d.customer.contact.id
    found = [
        i
        for i in await provider_invoices(app, northwind.user.company_id, "xero", contact)
        if i.reference == "Acme rollout"
    ]
    assert [i.id for i in found] == [response.json()["provider_invoice_id"]]


async def test_every_answer_lost_is_reconciled_by_looking_the_invoice_up(
    client, northwind, sandbox, app, sessionmaker
):
    d = await draft(client, northwind.headers, 31, "xero")
    key = str(uuid.uuid4())
    await sandbox.fault(kind="commit_then_fail", path="/Invoices", count=50)
    lost = await create(client, northwind.headers, 31, body(d), key)
    await sandbox.clear_faults()
    assert lost.status_code == 503, lost.text
    assert lost.json()["error"]["code"] == "outcome_unknown"
    async with sessionmaker() as session:
        row = (await session.execute(select(DealInvoice))).scalar_one()
    assert row.status == "unknown"
    assert (await client.get("/api/v1/deals/31/invoices", headers=northwind.headers)).json()[0][
        "status"
    ] == "unknown"
    await sandbox.clear_requests()
    again = await create(client, northwind.headers, 31, body(d), key)
    assert again.status_code == 201, again.text
    requests = await sandbox.requests()
    # Looked up first, found, so nothing was posted again.
    assert [r for r in requests if r.get("method") == "GET" and "/Invoices" in r.get("path", "")]
    assert not invoice_posts(requests)
    contact = d.customer.contact.id
    found = [
        i
        for i in await provider_invoices(app, northwind.user.company_id, "xero", contact)
        if i.reference == "Acme rollout"
    ]
    assert [i.id for i in found] == [again.json()["provider_invoice_id"]]


async def test_a_provider_validation_error_leaves_no_invoice_and_keeps_the_orphan_contact(
    client, northwind, sandbox, sessionmaker
):
    d = await draft(client, northwind.headers, 34, "xero")
    payload = body(d)
    payload["lines"] = [dict(UNKNOWN_ITEM_LINE)]
    key = str(uuid.uuid4())
    failed = await create(client, northwind.headers, 34, payload, key)
    assert failed.status_code == 422, failed.text
    error = failed.json()["error"]
    assert error["code"] == "provider_validation"
    assert "NO-SUCH-ITEM" in error["message"] or "item" in error["message"].lower()
    async with sessionmaker() as session:
        row = (await session.execute(select(DealInvoice))).scalar_one()
    assert row.status == "failed" and row.provider_invoice_id is None
    assert row.failure_reason and row.orphan_contact_id
    listed = (await client.get("/api/v1/deals/34/invoices", headers=northwind.headers)).json()
    assert len(listed) == 1 and listed[0]["status"] == "failed"
    assert listed[0]["orphan_contact_id"] == row.orphan_contact_id
    assert listed[0]["failure_reason"]
    # Corrected and sent again with the same key: the recorded contact is used, no second one.
    payload["lines"][0].pop("item_code")
    fixed = await create(client, northwind.headers, 34, payload, key)
    assert fixed.status_code == 201, fixed.text
    assert fixed.json()["contact_id"] == row.orphan_contact_id
    assert fixed.json()["orphan_contact_id"] is None
    umbrella = (
        await client.get(
            "/api/v1/providers/xero/contacts", params={"q": "Umbrella"}, headers=northwind.headers
        )
    ).json()
    assert len(umbrella) == 1


async def test_a_pending_row_whose_worker_died_is_taken_over(client, northwind, sessionmaker):
    from datetime import timedelta

    from app.db import utcnow
    from app.invoices.flows.claim import request_hash
    from app.invoices.schemas import InvoiceIn

    d = await draft(client, northwind.headers, 31, "xero")
    payload = body(d)
    key = str(uuid.uuid4())
    async with sessionmaker() as session:
        session.add(
            DealInvoice(
                company_id=northwind.user.company_id,
                provider="xero",
                deal_id=31,
                idempotency_key=key,
                request_hash=request_hash(31, InvoiceIn.model_validate(payload)),
                status="pending",
                lease_until=utcnow() - timedelta(seconds=1),
                currency="NZD",
                reference="Acme rollout",
                issue_date=d.details.issue_date,
                request_body=payload,
            )
        )
        await session.commit()
    response = await create(client, northwind.headers, 31, payload, key)
    assert response.status_code == 201, response.text
    async with sessionmaker() as session:
        rows = (await session.execute(select(DealInvoice))).scalars().all()
    assert len(rows) == 1 and rows[0].status == "created"


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("STANDARD", True), ("FINANCIALADVISER", True), ("INVOICEONLY", False), ("", False)],
)
async def test_approve_is_offered_only_to_a_connection_whose_role_may_approve(
    client, northwind, flow, app, sessionmaker, role, allowed
):
    if role == "FINANCIALADVISER":
        # Reconnect the same organisation as another Xero user: the connection takes their role.
        done = await flow.xero(northwind.user, email="fiona@northwind.test")
        assert done.status_code in (200, 303), done.text
    elif role != "STANDARD":
        # The sandbox lets no invoice-only user connect; a role recorded as such (or unknown)
        # must still never be offered approval.
        async with sessionmaker() as session:
            await session.execute(
                update(ProviderConnection)
                .where(
                    ProviderConnection.company_id == northwind.user.company_id,
                    ProviderConnection.provider == "xero",
                )
                .values(provider_role=role)
            )
            await session.commit()
    async with sessionmaker() as session:
        recorded = await session.scalar(
            select(ProviderConnection.provider_role).where(
                ProviderConnection.company_id == northwind.user.company_id,
                ProviderConnection.provider == "xero",
                ProviderConnection.status == "active",
            )
        )
    assert recorded == role
    app.state.invoice_meta = MetaCache()
    d = await draft(client, northwind.headers, 31, "xero")
    made = await create(client, northwind.headers, 31, body(d))
    assert made.status_code == 201, made.text
    created = {a["id"] for a in made.json()["actions"]}
    listed = (await client.get("/api/v1/deals/31/invoices", headers=northwind.headers)).json()
    (row,) = listed
    offered = {a["id"] for a in row["actions"]}
    # A draft can always be submitted for approval or deleted; approving needs the role.
    assert {"SUBMITTED", "DELETED"} <= created and {"SUBMITTED", "DELETED"} <= offered
    assert ("AUTHORISED" in created) is allowed
    assert ("AUTHORISED" in offered) is allowed
