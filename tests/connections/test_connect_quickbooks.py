"""Connecting QuickBooks end to end through the sandbox."""

from __future__ import annotations

from sqlalchemy import select

from app.connections.models import ProviderConnection
from tests.connections.conftest import REALM, local


async def _rows(db):
    db.expire_all()
    return (await db.execute(select(ProviderConnection))).scalars().all()


async def test_connect_quickbooks(flow, make_user, client, auth_headers, db):
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101, name="Nora Admin")
    start = await client.get("/connections/quickbooks/connect", headers=auth_headers(admin))
    assert start.status_code == 303
    assert "/quickbooks/appcenter/connect/oauth2?" in start.headers["location"]
    assert "com.intuit.quickbooks.accounting" in start.headers["location"]

    page = await flow.quickbooks(admin)
    assert page.status_code == 200, page.text
    assert "QuickBooks connected" in page.text

    listing = await client.get("/api/v1/connections", headers=auth_headers(admin))
    qbo = next(c for c in listing.json() if c["provider"] == "quickbooks")
    assert qbo["status"] == "active"
    assert qbo["tenant_id"] == REALM
    assert qbo["organisation_name"] == "Northwind Traders US"
    assert qbo["base_currency"] == "USD"
    assert qbo["connected_by"] == "Nora Admin"
    one = await client.get("/api/v1/connections/quickbooks", headers=auth_headers(admin))
    assert one.json()["tenant_id"] == REALM


async def test_denied_quickbooks_consent_stores_nothing(flow, make_user, db):
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    page = await flow.quickbooks(admin, deny=True)
    assert page.status_code == 400
    assert "declined" in page.text
    assert await _rows(db) == []


async def test_callback_without_realm_is_refused(flow, make_user, client, db):
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    await flow.arm_quickbooks()
    callback = await flow.authorize(await flow.start(admin, "quickbooks"))
    stripped = local(callback).replace(f"realmId={REALM}", "realmId=")
    page = await client.get(stripped)
    assert page.status_code == 400
    assert "realmId" in page.text
    assert await _rows(db) == []


async def test_quickbooks_company_claimed_elsewhere_is_refused(flow, make_user, db):
    first = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    second = await make_user(pipedrive_company_id=7002, pipedrive_user_id=201)
    assert (await flow.quickbooks(first)).status_code == 200
    page = await flow.quickbooks(second)
    assert page.status_code == 409
    assert "already connected to another Pipedrive company" in page.text
    rows = await _rows(db)
    assert [r.company_id for r in rows] == [first.company_id]


async def test_one_company_can_hold_both_providers(flow, make_user, client, auth_headers):
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    assert (await flow.xero(admin)).status_code == 200
    assert (await flow.quickbooks(admin)).status_code == 200
    listing = await client.get("/api/v1/connections", headers=auth_headers(admin))
    assert {c["provider"]: c["status"] for c in listing.json()} == {
        "xero": "active",
        "quickbooks": "active",
    }
