"""A part of a deal under faults: its intent (keyed by the part) keeps the scaled body, the
reconciler resends exactly that, and the deal's parts are counted once."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import update

from app.db import utcnow
from app.invoices.models import DealInvoice
from tests.invoices.helpers import body, create, draft
from tests.invoices.test_intents import resolve, row_of, xero_invoices


async def test_a_lost_deposit_is_resolved_by_the_reconciler_as_the_same_part(
    client, northwind, sandbox, sessionmaker, app
):
    d = await draft(client, northwind.headers, 31, "xero")
    key = str(uuid.uuid4())
    payload = body(d, part={"percent": 30})
    # Xero commits the deposit, every answer is lost and so is the lookup.
    await sandbox.fault(kind="commit_then_fail", path="/Invoices$", method="PUT", count=50)
    await sandbox.fault(kind="status", status=500, path="/Invoices$", method="GET", count=50)
    lost = await create(client, northwind.headers, 31, payload, key)
    assert lost.status_code == 503 and lost.json()["error"]["code"] == "outcome_unknown"
    row = await row_of(sessionmaker, f"{key}#percent-30")
    assert row.status == "unknown" and row.part_label == "Deposit 30 %"
    whole = Decimal(row.deal_amount_minor or 0) / 100
    assert Decimal(row.part_amount_minor or 0) / 100 == (whole * Decimal("0.3")).quantize(
        Decimal("0.01")
    )
    # The stored body is the part's: its lines come to the part.
    sent = sum(Decimal(str(x["unit_price"])) for x in row.request_body["lines"])
    assert sent * 100 == row.part_amount_minor
    await sandbox.clear_faults()
    async with sessionmaker() as session:
        await session.execute(
            update(DealInvoice).where(DealInvoice.id == row.id).values(lease_until=utcnow())
        )
        await session.commit()
    await resolve(sessionmaker, northwind.user.company_id, row.id)
    done = await row_of(sessionmaker, f"{key}#percent-30")
    assert done.status == "created" and done.subtotal_minor == row.part_amount_minor
    mine = [
        i
        for i in await xero_invoices(app, northwind.user.company_id, d.customer.contact.id)
        if i.reference == "Acme rollout"
    ]
    # Found through its own marker: one invoice at Xero for the deposit.
    assert [i.id for i in mine] == [done.provider_invoice_id]
    again = await create(client, northwind.headers, 31, payload, key)
    assert again.status_code == 200 and again.json()["id"] == done.id
    seen = (await client.get("/api/v1/deals/31/billing", headers=northwind.headers)).json()
    assert Decimal(seen["invoiced"]) * 100 == row.part_amount_minor
