"""Stage rules, a rule whose stage is deleted, the catch-up that fires a rule whose webhook
never came, and a firing keeping the rule version it started with."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from app.automation.conditions import RuleSpec, facts_of
from app.automation.context import actor, spec_of
from app.automation.firing import fire
from app.automation.models import InvoiceRule, RuleFiring
from app.worker.models import Job
from app.worker.outbox import enqueue
from tests.automation.conftest import (
    add_rule,
    deal_event,
    pipedrive_api,
    post_event,
    rule_invoices,
    set_deal,
)
from tests.invoices.helpers import until


async def run_job(sessionmaker: Any, name: str, company_id: str) -> None:
    key = f"test:{uuid.uuid4()}"
    async with sessionmaker() as session:
        await enqueue(session, name, company_id=company_id, key=key)
        await session.commit()

    async def finished() -> bool:
        async with sessionmaker() as session:
            job = (await session.scalars(select(Job).where(Job.key == key))).one()
        assert job.status != "parked", job.last_error
        return job.status == "done"

    await until(finished, timeout=30)


async def created_for(sessionmaker: Any, deal_id: int) -> Any:
    async def done() -> Any:
        rows = await rule_invoices(sessionmaker, deal_id)
        return rows if rows and rows[0].status == "created" else None

    return await until(done, timeout=30)


async def test_stage_rule_fires_on_reaching_the_stage_and_turns_off_when_it_is_deleted(
    client, settings, sandbox, sessionmaker, northwind
):
    rule = await add_rule(
        client,
        northwind.headers,
        name="Invoice at stage 5",
        trigger="stage",
        pipeline_id=1,
        stage_id=5,
        only_with_products=True,
    )
    # Deal 32 sits in stage 3: an event alone does nothing.
    await post_event(client, settings, deal_event(7001, 32, "open"))
    await set_deal(sandbox, 32, stage_id=5)
    await post_event(client, settings, deal_event(7001, 32, "open"))
    rows = await created_for(sessionmaker, 32)
    assert len(rows) == 1 and rows[0].provider == "xero"

    gone = await sandbox.http.delete("/_sandbox/pipedrive/companies/7001/stages/5")
    assert gone.status_code == 200
    await run_job(sessionmaker, "automation.catch_up", northwind.user.company_id)
    listed = (await client.get("/api/v1/automation/rules", headers=northwind.headers)).json()
    mine = next(r for r in listed if r["id"] == rule["id"])
    assert mine["enabled"] is False and "no longer exists" in mine["disabled_reason"]


async def test_catch_up_fires_a_rule_whose_webhook_never_came(
    client, sandbox, sessionmaker, northwind
):
    await add_rule(client, northwind.headers)
    await set_deal(sandbox, 31, status="won", notify=False)
    await run_job(sessionmaker, "automation.catch_up", northwind.user.company_id)
    rows = await created_for(sessionmaker, 31)
    assert len(rows) == 1

    # The firing is written by the evaluation's own job, after the invoice row it created.
    async def recorded() -> Any:
        async with sessionmaker() as session:
            return (await session.scalars(select(RuleFiring))).all()

    [firing] = await until(recorded, timeout=30)
    assert firing.source == "catch-up" and firing.outcome == "invoiced"


async def test_a_firing_keeps_the_rule_version_it_started_with(
    client, app, sandbox, sessionmaker, northwind
):
    rule = await add_rule(client, northwind.headers, provider="xero")
    async with sessionmaker() as session:
        started = spec_of(await session.get(InvoiceRule, rule["id"]))
    # The rule is edited (to QuickBooks) while the firing that read version 1 is under way.
    edit = {"name": "Now QuickBooks", "provider": "quickbooks", "trigger": "won"}
    changed = await client.put(
        f"/api/v1/automation/rules/{rule['id']}", json=edit, headers=northwind.headers
    )
    assert changed.json()["version"] == 2
    await set_deal(sandbox, 31, status="won", notify=False)
    api = await pipedrive_api(app, sessionmaker, northwind.user.company_id)
    deal = await api.deal(31)
    user = await actor(app.state, northwind.user.company_id, northwind.user.id)
    outcome = await fire(app.state, user, started, facts_of(deal.raw, True), api, "webhook")
    assert "invoiced" in outcome, outcome
    rows = await rule_invoices(sessionmaker, 31)
    assert [r.provider for r in rows] == ["xero"]
    async with sessionmaker() as session:
        firing = (await session.scalars(select(RuleFiring))).one()
    assert firing.rule_version == 1 and RuleSpec.from_snapshot(firing.rule_snapshot) == started
