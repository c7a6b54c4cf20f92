"""QuickBooks' refresh-token hard cap: stored at connect, admins warned 30 days before."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from app.connections.models import ProviderConnection
from app.db import utcnow


async def _row(db) -> ProviderConnection:
    db.expire_all()
    return (
        await db.execute(
            select(ProviderConnection).where(ProviderConnection.provider == "quickbooks")
        )
    ).scalar_one()


async def test_the_hard_cap_is_stored_and_warned_of_30_days_before(
    flow, make_user, client, auth_headers, db
):
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    assert (await flow.quickbooks(admin)).status_code == 200
    row = await _row(db)
    # Intuit announces the five-year cap when asked (the sandbox starts it at the consent).
    assert row.refresh_hard_expires_at is not None
    five_years = utcnow() + timedelta(days=5 * 365)
    assert abs(row.refresh_hard_expires_at - five_years) < timedelta(days=1)

    far = await client.get("/connections", headers=auth_headers(admin))
    assert far.status_code == 200
    assert 'id="renew-quickbooks"' not in far.text
    listing = await client.get("/api/v1/connections/quickbooks", headers=auth_headers(admin))
    assert listing.json()["renew_by"] is None

    soon = utcnow() + timedelta(days=20)
    await db.execute(
        update(ProviderConnection)
        .where(ProviderConnection.id == row.id)
        .values(refresh_hard_expires_at=soon)
    )
    await db.commit()
    page = await client.get("/connections", headers=auth_headers(admin))
    assert 'id="renew-quickbooks"' in page.text
    assert soon.strftime("%d %b %Y") in page.text
    listing = await client.get("/api/v1/connections/quickbooks", headers=auth_headers(admin))
    assert listing.json()["renew_by"] is not None

    panel = await client.get(
        "/pipedrive/panel", params={"selectedIds": 31}, headers=auth_headers(admin)
    )
    assert panel.status_code == 200, panel.text
    assert 'id="renew-quickbooks"' in panel.text
    assert "Reconnect QuickBooks" in panel.text


async def test_a_refresh_keeps_the_announced_cap(flow, make_user, db, tokens):
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    assert (await flow.quickbooks(admin)).status_code == 200
    row = await _row(db)
    await db.execute(
        update(ProviderConnection)
        .where(ProviderConnection.id == row.id)
        .values(refresh_hard_expires_at=None, expires_at=utcnow() - timedelta(minutes=1))
    )
    await db.commit()
    await tokens.credentials(row.company_id, "quickbooks")
    assert (await _row(db)).refresh_hard_expires_at is not None
