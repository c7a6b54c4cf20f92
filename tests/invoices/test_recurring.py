"""Recurring billing on the worker (issue 16 item 3): a deal's monthly product with 12 cycles
billed in QuickBooks (which holds no schedule for us; a Xero monthly one lives at Xero, see
test_repeating.py), the sandbox clock moved a month at a time over 14 months, makes 12
invoices, never 13, even when a period's create is performed at QuickBooks but every answer
is lost (the run stops as a crashed worker would) and the worker is restarted (its job
machinery stopped and started again): the next run finds that period's invoice instead of
making it again; pause, stop and the admin rule; another company's schedule is 404."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from app.connections.tokens import TokenService
from app.invoices.models import BillingSchedule, DealInvoice
from app.worker.outbox import enqueue
from tests.invoices.conftest import installed
from tests.invoices.helpers import draft, until

MONTH = 31 * 24 * 3600


async def recurring_deal(sandbox: Any, cycles: int | None = 12, start: bool = False) -> int:
    """A new deal of Northwind (Acme Ltd) with a monthly support plan and no start date."""
    clock = datetime.fromisoformat((await sandbox.http.get("/_sandbox/clock")).json()["now"])
    # A date that has begun in every timezone (the QuickBooks company's is behind UTC): the
    # sandbox's UTC date is still tomorrow there for part of the day.
    now = (clock - timedelta(hours=14)).date().isoformat()
    line: dict[str, Any] = {"product_id": 5, "billing_frequency": "monthly"}
    line["billing_frequency_cycles"] = cycles
    if start:
        line["billing_start_date"] = now
    made = await sandbox.http.post(
        "/_sandbox/pipedrive/deals",
        json={
            "company_id": 7001,
            "title": "Support subscription",
            "org_id": 11,
            "currency": "NZD",
            "expected_close_date": now,
            "products": [line],
        },
    )
    assert made.status_code == 201, made.text
    return int(made.json()["deal"]["id"])


def sandbox_clock(sandbox: Any) -> Any:
    async def now() -> datetime:
        return datetime.fromisoformat((await sandbox.http.get("/_sandbox/clock")).json()["now"])

    return now


async def invoices_of(sessionmaker: Any, deal_id: int) -> int:
    async with sessionmaker() as session:
        found = await session.execute(
            select(func.count())
            .select_from(DealInvoice)
            .where(DealInvoice.deal_id == deal_id, DealInvoice.status == "created")
        )
        return int(found.scalar_one())


async def run_now(sessionmaker: Any, company_id: str, schedule_id: str) -> None:
    async with sessionmaker() as session:
        await enqueue(
            session,
            "invoices.recurring_run",
            company_id=company_id,
            key=f"test-run:{uuid.uuid4()}",
            schedule_id=schedule_id,
        )
        await session.commit()


async def run_until_done(
    sessionmaker: Any, company_id: str, schedule_id: str, expected: int
) -> None:
    """Run the schedule until ``expected`` periods are done, as the periodic check would: a
    period whose invoice is still unconfirmed (the reconciler's backoff after lost answers)
    is taken up by a later run, never by a second create."""
    for _ in range(30):
        await run_now(sessionmaker, company_id, schedule_id)

        async def caught_up() -> bool:
            row = await schedule_row(sessionmaker, schedule_id)
            return row.periods_done == expected and row.last_error is None

        try:
            await until(caught_up, timeout=3)
            return
        except AssertionError:
            continue
    row = await schedule_row(sessionmaker, schedule_id)
    raise AssertionError((row.periods_done, row.last_error))


async def period_contact(sessionmaker: Any, deal_id: int) -> str:
    async with sessionmaker() as session:
        row = (
            (await session.execute(select(DealInvoice).where(DealInvoice.deal_id == deal_id)))
            .scalars()
            .first()
        )
        assert row is not None and row.contact_id
        return row.contact_id


async def schedule_row(sessionmaker: Any, schedule_id: str) -> BillingSchedule:
    async with sessionmaker() as session:
        row = await session.get(BillingSchedule, schedule_id)
        assert row is not None
        return row


async def provider_invoices(app: Any, company_id: str, provider: str, contact_id: str) -> list[Any]:
    tokens = TokenService(app.state.settings, app.state.sessionmaker, app.state.http)
    adapter = tokens.facade(provider).adapter
    page = await tokens.call(
        company_id, provider, lambda c: adapter.search_invoices(c, contact_id=contact_id)
    )
    return [i for i in page.items if i.status != "DELETED"]


async def test_twelve_monthly_periods_make_twelve_invoices_never_thirteen(
    client, northwind, sandbox, sessionmaker, app
):
    deal_id = await recurring_deal(sandbox)
    # The dialog says when the recurring product bills from, and why that date.
    proposed = await draft(client, northwind.headers, deal_id, "quickbooks")
    said = [c.message for c in proposed.checks if c.code == "recurring_products"]
    assert len(said) == 1 and "monthly, 12 times, from the deal's expected close date" in said[0]
    dialog = await client.get(
        f"/pipedrive/panel/{deal_id}/dialog",
        params={"provider": "quickbooks"},
        headers=northwind.headers,
    )
    assert dialog.status_code == 200 and "the deal&#39;s expected close date" in dialog.text
    assert 'data-action="START-SCHEDULE"' in dialog.text
    assert "our own schedule creates each period" in dialog.text
    app.state.clock = sandbox_clock(sandbox)
    # The test runs each period itself: the periodic check would race its fault injection.
    app.state.settings.recurring_billing = False
    try:
        started = await client.post(
            f"/api/v1/deals/{deal_id}/schedules",
            params={"provider": "quickbooks"},
            headers=northwind.headers,
        )
        assert started.status_code == 201, started.text
        (schedule,) = started.json()
        assert not schedule["held_at_provider"]
        assert schedule["start_from_close"] and "expected close date" in schedule["note"]
        assert (schedule["cycles"], schedule["periods_done"]) == (12, 0)
        company = northwind.user.company_id
        for month in range(14):
            if month == 4:
                # Performed at QuickBooks, every answer lost: the run stops with the period
                # unknown.
                await sandbox.fault(
                    kind="commit_then_fail", count=12, method="POST", path=r"/invoice$"
                )
                await run_now(sessionmaker, company, schedule["id"])

                async def refused() -> bool:
                    row = await schedule_row(sessionmaker, schedule["id"])
                    return bool(row.last_error) and row.periods_done == 4

                await until(refused, timeout=60)
                await sandbox.clear_faults()
                # The worker restarts: its tasks cancelled and its broker shut down, then
                # started again; what the next run knows comes from the database.
                await app.state.jobs.stop()
                await app.state.jobs.start()
            expected = min(month + 1, 12)
            await run_until_done(sessionmaker, company, schedule["id"], expected)
            assert await invoices_of(sessionmaker, deal_id) == expected
            if month == 11:
                listed = await client.get(
                    f"/api/v1/deals/{deal_id}/schedules", headers=northwind.headers
                )
                assert listed.json()[0]["status"] == "finished"
                assert listed.json()[0]["next_date"] is None
                # At QuickBooks: the customer has exactly 12 period invoices (the lost-answer
                # period made one). Read now, while the refresh token is fresh.
                row = await schedule_row(sessionmaker, schedule["id"])
                contact = await period_contact(sessionmaker, deal_id)
                found = await provider_invoices(app, row.company_id, "quickbooks", contact)
                at_provider = [i for i in found if "monthly period" in (i.reference or "")]
                assert len(at_provider) == 12
            await sandbox.advance(MONTH)
        done = await schedule_row(sessionmaker, schedule["id"])
        assert (done.status, done.next_date, done.periods_done) == ("finished", None, 12)
        # Read from our rows: three idle months later Pipedrive's refresh token has lapsed,
        # as it does after 60 days unused.
        async with sessionmaker() as session:
            rows = (
                (await session.execute(select(DealInvoice).where(DealInvoice.deal_id == deal_id)))
                .scalars()
                .all()
            )
        assert len(rows) == 12 and all(r.status == "created" for r in rows)
        assert len({r.provider_invoice_id for r in rows}) == 12
        assert len({r.issue_date for r in rows}) == 12
        # QuickBooks has no drafts: each period is an open invoice.
        assert len({r.provider_status for r in rows}) == 1
        assert sorted(r.provider_invoice_id for r in rows) == sorted(i.id for i in at_provider)
    finally:
        app.state.clock = None
        app.state.settings.recurring_billing = True


async def test_pause_resume_stop_and_who_may(
    client, northwind, contoso, sandbox, sessionmaker, app
):
    deal_id = await recurring_deal(sandbox, cycles=None, start=True)
    app.state.clock = sandbox_clock(sandbox)
    # The test runs each period itself: the periodic check would race its fault injection.
    app.state.settings.recurring_billing = False
    try:
        started = await client.post(
            f"/api/v1/deals/{deal_id}/schedules",
            params={"provider": "quickbooks"},
            headers=northwind.headers,
        )
        assert started.status_code == 201, started.text
        schedule = started.json()[0]
        assert not schedule["start_from_close"] and schedule["note"] is None
        # The dialog's button finds the same schedule and says when it bills next.
        again = await client.post(
            f"/pipedrive/panel/{deal_id}/schedules",
            params={"provider": "quickbooks"},
            headers=northwind.headers,
        )
        assert f'data-schedule="{schedule["id"]}"' in again.text and "next on" in again.text
        base = f"/api/v1/deals/{deal_id}/schedules/{schedule['id']}"
        # The deal panel shows it with its next date, and lets an admin pause it.
        panel = await client.get(f"/pipedrive/panel/{deal_id}/invoices", headers=northwind.headers)
        assert f'data-schedule="{schedule["id"]}"' in panel.text and "next on" in panel.text
        paused = await client.post(
            f"/pipedrive/panel/{deal_id}/schedules/{schedule['id']}/pause",
            headers=northwind.headers,
        )
        assert "schedule is paused" in paused.text and 'data-action="RESUME"' in paused.text
        await run_now(sessionmaker, northwind.user.company_id, schedule["id"])
        await sandbox.advance(60)
        assert await invoices_of(sessionmaker, deal_id) == 0
        resumed = await client.post(f"{base}/resume", headers=northwind.headers)
        assert resumed.json()["status"] == "active"
        await run_now(sessionmaker, northwind.user.company_id, schedule["id"])

        async def first() -> bool:
            return await invoices_of(sessionmaker, deal_id) == 1

        await until(first, timeout=60)
        rep = await installed(client, sandbox, sessionmaker, 102)
        refused = await client.post(f"{base}/stop", headers=rep.headers)
        assert refused.status_code == 403 and "admin" in refused.json()["error"]["message"]
        stopped = await client.post(f"{base}/stop", headers=northwind.headers)
        assert stopped.json()["status"] == "stopped"
        again_stop = await client.post(f"{base}/stop", headers=northwind.headers)
        assert again_stop.status_code == 409
        theirs = await client.post(f"{base}/pause", headers=contoso.headers)
        assert theirs.status_code == 404
        listed = await client.get(f"/api/v1/deals/{deal_id}/schedules", headers=contoso.headers)
        assert listed.status_code == 404
    finally:
        app.state.clock = None
        app.state.settings.recurring_billing = True
