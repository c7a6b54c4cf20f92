"""The intent invariant under double faults and crashes: never failed without a definitive
answer, found only through its own marker (never by resemblance), one provider invoice per
intent, resolved by the worker's reconciler with no client involved."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from app.connections.tokens import TokenService
from app.db import utcnow
from app.invoices.flows.claim import request_hash
from app.invoices.models import DealInvoice, DealInvoiceLink
from app.invoices.schemas import InvoiceIn
from app.worker.models import Job
from app.worker.outbox import enqueue
from tests.invoices.helpers import UNKNOWN_ITEM_LINE, body, create, draft, until


async def xero_invoices(app: Any, company_id: str, contact_id: str) -> list[Any]:
    tokens = TokenService(app.state.settings, app.state.sessionmaker, app.state.http)
    adapter = tokens.facade("xero").adapter
    page = await tokens.call(
        company_id, "xero", lambda c: adapter.search_invoices(c, contact_id=contact_id)
    )
    return [i for i in page.items if i.status != "DELETED"]


async def row_of(sessionmaker: Any, key: str) -> DealInvoice:
    async with sessionmaker() as session:
        row = (
            await session.execute(select(DealInvoice).where(DealInvoice.idempotency_key == key))
        ).scalar_one()
    return row


async def crashed_before_sending(
    sessionmaker: Any, company_id: str, payload: dict[str, Any], key: str, deal_id: int = 31
) -> None:
    """The rows a process leaves when it dies between recording the intent (and the deal's
    link to it, in the same transaction) and calling Xero."""
    async with sessionmaker() as session:
        row_id = str(uuid.uuid4())
        session.add(
            DealInvoice(
                id=row_id,
                company_id=company_id,
                provider="xero",
                deal_id=deal_id,
                idempotency_key=key,
                request_hash=request_hash(deal_id, InvoiceIn.model_validate(payload)),
                status="pending",
                lease_until=utcnow() - timedelta(seconds=1),
                claim_token=str(uuid.uuid4()),
                currency=payload["currency"],
                reference=payload.get("reference"),
                issue_date=date.fromisoformat(payload["issue_date"]),
                deal_url=f"https://northwind.example/deal/{deal_id}",
                request_body=payload,
            )
        )
        await session.flush()
        session.add(DealInvoiceLink(company_id=company_id, invoice_id=row_id, deal_id=deal_id))
        await session.commit()


async def resolve(sessionmaker: Any, company_id: str, row_id: str) -> None:
    """Run the reconciler's job for one intent through the worker and wait for it."""
    key = f"test-resolve:{row_id}:{uuid.uuid4()}"
    async with sessionmaker() as session:
        await enqueue(
            session, "invoices.resolve_intent", company_id=company_id, key=key, row_id=row_id
        )
        await session.commit()

    async def done() -> bool:
        async with sessionmaker() as session:
            job = (await session.execute(select(Job).where(Job.key == key))).scalar_one_or_none()
        return job is not None and job.status == "done"

    await until(done)


async def test_a_double_fault_never_fails_the_intent_nor_lets_its_key_make_a_second_invoice(
    client, northwind, sandbox, sessionmaker, app
):
    d = await draft(client, northwind.headers, 31, "xero")
    key = str(uuid.uuid4())
    # The create commits at Xero but its answer is lost, and the lookup fails too.
    await sandbox.fault(kind="commit_then_fail", path="/Invoices$", method="PUT", count=50)
    await sandbox.fault(kind="status", status=500, path="/Invoices$", method="GET", count=50)
    first = await create(client, northwind.headers, 31, body(d), key)
    assert first.status_code == 503 and first.json()["error"]["code"] == "outcome_unknown"
    # Only the lookup still fails: the intent stays unknown, never failed.
    await sandbox.clear_faults()
    await sandbox.fault(kind="status", status=500, path="/Invoices$", method="GET", count=50)
    second = await create(client, northwind.headers, 31, body(d), key)
    assert second.status_code == 503, second.text
    row = await row_of(sessionmaker, key)
    assert row.status == "unknown" and row.provider_invoice_id is None
    # A changed body under the key is refused, whatever the faults.
    await sandbox.clear_faults()
    changed = await create(client, northwind.headers, 31, body(d, reference="Changed"), key)
    assert changed.status_code == 409
    assert changed.json()["error"]["code"] == "idempotency_key_reused"
    # With Xero answering again, the key finds its own invoice: one invoice, recorded once.
    third = await create(client, northwind.headers, 31, body(d), key)
    assert third.status_code == 201, third.text
    mine = [
        i
        for i in await xero_invoices(app, northwind.user.company_id, d.customer.contact.id)
        if i.reference == "Acme rollout"
    ]
    assert [i.id for i in mine] == [third.json()["provider_invoice_id"]]
    assert mine[0].marker and (await row_of(sessionmaker, key)).status == "created"


async def test_a_look_alike_invoice_is_never_adopted(client, northwind, sandbox, sessionmaker, app):
    """Two intents with identical invoices are two invoices: the one whose process died before
    sending finds nothing of its own and sends; the lost one finds only its own."""
    d = await draft(client, northwind.headers, 31, "xero")
    payload = body(d)
    company = northwind.user.company_id
    lost_key, crashed_key = str(uuid.uuid4()), str(uuid.uuid4())
    await sandbox.fault(kind="commit_then_fail", path="/Invoices$", method="PUT", count=50)
    lost = await create(client, northwind.headers, 31, payload, lost_key)
    assert lost.status_code == 503
    await sandbox.clear_faults()
    await crashed_before_sending(sessionmaker, company, payload, crashed_key)
    crashed = await row_of(sessionmaker, crashed_key)
    await resolve(sessionmaker, company, crashed.id)
    crashed = await row_of(sessionmaker, crashed_key)
    assert crashed.status == "created", crashed.failure_reason
    lost_row = await row_of(sessionmaker, lost_key)
    async with sessionmaker() as session:
        lost_row.lease_until = None
        await session.merge(lost_row)
        await session.commit()
    await resolve(sessionmaker, company, lost_row.id)
    lost_row = await row_of(sessionmaker, lost_key)
    assert lost_row.status == "created"
    assert lost_row.provider_invoice_id != crashed.provider_invoice_id
    ours = {
        i.id
        for i in await xero_invoices(app, company, d.customer.contact.id)
        if i.reference == "Acme rollout"
    }
    assert ours == {lost_row.provider_invoice_id, crashed.provider_invoice_id}


async def test_the_reconciler_resolves_intents_with_no_client(
    client, northwind, sandbox, sessionmaker, app
):
    d = await draft(client, northwind.headers, 31, "xero")
    company = northwind.user.company_id
    key = str(uuid.uuid4())
    await crashed_before_sending(sessionmaker, company, body(d), key)
    listed = (await client.get("/api/v1/deals/31/invoices", headers=northwind.headers)).json()
    assert [i["status"] for i in listed] == ["pending"]
    # The periodic job finds it (its lease has passed) and records its resolution.
    app.state.settings.intent_reconciler = True
    try:
        async with sessionmaker() as session:
            await enqueue(session, "invoices.resolve_due", key=f"test-due:{uuid.uuid4()}")
            await session.commit()

        async def created() -> bool:
            return (await row_of(sessionmaker, key)).status == "created"

        await until(created)
    finally:
        app.state.settings.intent_reconciler = False
    row = await row_of(sessionmaker, key)
    assert row.provider_invoice_id and row.number and row.tries == 1
    listed = (await client.get("/api/v1/deals/31/invoices", headers=northwind.headers)).json()
    assert [(i["status"], i["provider_invoice_id"]) for i in listed] == [
        ("created", row.provider_invoice_id)
    ]
    # The client's retry with the key now answers with that invoice, creating nothing.
    again = await create(client, northwind.headers, 31, body(d), key)
    assert (
        again.status_code == 200 and again.json()["provider_invoice_id"] == row.provider_invoice_id
    )


async def test_a_refusal_found_by_the_reconciler_fails_the_intent_and_the_panel_says_why(
    client, northwind, sandbox, sessionmaker
):
    d = await draft(client, northwind.headers, 31, "xero")
    payload = body(d)
    payload["lines"] = [dict(UNKNOWN_ITEM_LINE)]
    key = str(uuid.uuid4())
    await crashed_before_sending(sessionmaker, northwind.user.company_id, payload, key)
    row = await row_of(sessionmaker, key)
    await resolve(sessionmaker, northwind.user.company_id, row.id)
    row = await row_of(sessionmaker, key)
    assert row.status == "failed" and row.failure_reason and row.provider_invoice_id is None
    listed = (await client.get("/api/v1/deals/31/invoices", headers=northwind.headers)).json()
    assert [i["status"] for i in listed] == ["failed"] and listed[0]["failure_reason"]


async def test_an_outage_leaves_the_intent_unknown_with_a_backoff(
    client, northwind, sandbox, sessionmaker
):
    d = await draft(client, northwind.headers, 31, "xero")
    key = str(uuid.uuid4())
    await crashed_before_sending(sessionmaker, northwind.user.company_id, body(d), key)
    row = await row_of(sessionmaker, key)
    await sandbox.fault(kind="status", status=503, path="/Invoices", count=200)
    await resolve(sessionmaker, northwind.user.company_id, row.id)
    await sandbox.clear_faults()
    row = await row_of(sessionmaker, key)
    assert row.status == "unknown" and row.claim_token is None
    assert row.lease_until is not None and row.lease_until > utcnow()
