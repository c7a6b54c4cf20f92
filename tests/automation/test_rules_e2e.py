"""Invoice rules end to end: Pipedrive deal webhooks through the real /webhooks/pipedrive route,
the inbox, the worker and the sandbox providers; exactly one invoice per (deal, rule)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.automation.conftest import (
    add_rule,
    deal_event,
    jobs_settled,
    pipedrive_api,
    post_event,
    rule_invoices,
    set_deal,
)
from tests.invoices.helpers import until


@pytest.mark.parametrize("provider", ["xero", "quickbooks"])
async def test_won_deal_gets_one_invoice_through_duplicates_replays_and_won_lost_won(
    client, app, settings, sandbox, sessionmaker, northwind, provider
):
    rule = await add_rule(client, northwind.headers, provider=provider)
    await set_deal(sandbox, 31, status="won")
    first = deal_event(7001, 31, "won")
    await post_event(client, settings, first)

    async def created():
        rows = await rule_invoices(sessionmaker, 31)
        return rows if rows and rows[0].status == "created" else None

    rows = await until(created, timeout=30)
    assert rows[0].provider == provider and rows[0].provider_invoice_id
    # A duplicate delivery, replays with new ids, and won → lost → won: still one invoice.
    await post_event(client, settings, first)
    await post_event(client, settings, deal_event(7001, 31, "won"))
    await set_deal(sandbox, 31, status="lost")
    await post_event(client, settings, deal_event(7001, 31, "lost"))
    await set_deal(sandbox, 31, status="won")
    replays = [deal_event(7001, 31, "won") for _ in range(3)]
    await asyncio.gather(*(post_event(client, settings, raw) for raw in replays))
    await jobs_settled(sessionmaker)
    rows = await rule_invoices(sessionmaker, 31)
    assert len(rows) == 1 and rows[0].status == "created"
    listed = await client.get("/api/v1/deals/31/invoices", headers=northwind.headers)
    assert [i["id"] for i in listed.json()] == [rows[0].id]
    log = (await client.get("/api/v1/automation/firings", headers=northwind.headers)).json()
    assert [(f["outcome"], f["deal_id"], f["rule_id"]) for f in log] == [
        ("invoiced", 31, rule["id"])
    ]
    assert log[0]["invoice_row_id"] == rows[0].id


async def test_a_rule_that_cannot_invoice_notes_the_deal_and_sends_nothing(
    client, app, settings, sandbox, sessionmaker, northwind
):
    # QuickBooks lines name an item: deal 33's TRAIN-DAY and HW-KIT have none there.
    await add_rule(client, northwind.headers, provider="quickbooks", name="QB on won")
    await set_deal(sandbox, 33, status="won")
    await post_event(client, settings, deal_event(7001, 33, "won"))

    async def logged():
        log = (await client.get("/api/v1/automation/firings", headers=northwind.headers)).json()
        return log if log and log[0]["activity_id"] else None

    log = await until(logged, timeout=30)
    assert log[0]["outcome"] == "blocked" and "not linked to a QuickBooks item" in log[0]["reason"]
    assert await rule_invoices(sessionmaker, 33) == []
    api = await pipedrive_api(app, sessionmaker, northwind.user.company_id)
    notes = await api.notes(33)
    assert len(notes) == 1 and "QB on won" in notes[0].content
    assert "is not linked to a QuickBooks item; link one or create it." in notes[0].content
    activities = await api.activities(33)
    owner = (await api.deal(33)).owner_id
    assert len(activities) == 1 and activities[0].owner_id == owner == 102
    assert activities[0].subject.startswith("Fix the invoice:")
    # The same deal changing without a fix: no second note (the reasons are noted already).
    await post_event(client, settings, deal_event(7001, 33, "won"))
    await jobs_settled(sessionmaker)
    assert len(await api.notes(33)) == 1 and len(await api.activities(33)) == 1

    # Fixed in our app (the items created and linked), the deal's next change invoices it,
    # and the fix-it activity is done.
    draft = await client.get(
        "/api/v1/deals/33/invoice-draft",
        params={"provider": "quickbooks"},
        headers=northwind.headers,
    )
    for line in draft.json()["lines"]:
        if line["crm_product_id"] and not line["item_id"]:
            made = await client.post(
                "/api/v1/providers/quickbooks/items",
                json={
                    "name": line["description"].splitlines()[0][:100],
                    "crm_product_id": line["crm_product_id"],
                },
                headers=northwind.headers,
            )
            assert made.status_code in (200, 201), made.text
    await post_event(client, settings, deal_event(7001, 33, "won"))

    async def invoiced():
        rows = await rule_invoices(sessionmaker, 33)
        return rows if rows and rows[0].status == "created" else None

    await until(invoiced, timeout=30)

    async def fix_done() -> bool:
        return [a.done for a in await api.activities(33)] == [True]

    await until(fix_done, timeout=30)


async def test_events_of_other_or_unknown_companies_are_dropped(
    client, app, settings, sandbox, sessionmaker, northwind, contoso
):
    await add_rule(client, northwind.headers)
    # Deal 31 is Northwind's; Contoso (7002, no rules) says it changed: nothing happens.
    await post_event(client, settings, deal_event(7002, 31, "won"))
    # A company that never installed: answered 200 and dropped by the inbox.
    await post_event(client, settings, deal_event(9999, 31, "won"))
    await jobs_settled(sessionmaker)
    assert await rule_invoices(sessionmaker, 31) == []
    # Deal 131 is Contoso's: a Northwind event naming it finds no such deal for Northwind.
    await set_deal(sandbox, 131, status="won")
    await post_event(client, settings, deal_event(7001, 131, "won"))
    await jobs_settled(sessionmaker)
    assert await rule_invoices(sessionmaker, 131) == []


async def test_rule_routes_are_admin_only_and_company_scoped(client, northwind, contoso):
    rule = await add_rule(client, northwind.headers)
    theirs = f"/api/v1/automation/rules/{rule['id']}"
    body = {"name": "x", "provider": "xero", "trigger": "won"}
    assert (await client.put(theirs, json=body, headers=contoso.headers)).status_code == 404
    assert (await client.delete(theirs, headers=contoso.headers)).status_code == 404
    assert (await client.get("/api/v1/automation/rules", headers=contoso.headers)).json() == []
    assert (await client.get("/api/v1/automation/firings", headers=contoso.headers)).json() == []
    edited = await client.put(theirs, json={**body, "name": "Won"}, headers=northwind.headers)
    assert edited.status_code == 200 and edited.json()["version"] == 2
    bad = await client.post(
        "/api/v1/automation/rules",
        json={**body, "trigger": "stage", "pipeline_id": 1, "stage_id": 99},
        headers=northwind.headers,
    )
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "stage_id"
    assert uuid.UUID(rule["id"])
