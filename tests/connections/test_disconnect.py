"""Disconnecting: revoke at the provider, delete the tokens, keep the history; isolation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.connections.models import ProviderConnection
from app.connections.service import revoke_company_connections
from app.kit.refresher import InvalidGrant
from tests.connections.conftest import XERO_AU, XERO_NZ


async def _row(sessionmaker, company_id, provider="xero"):
    async with sessionmaker() as session:
        result = await session.execute(
            select(ProviderConnection)
            .where(ProviderConnection.company_id == company_id)
            .where(ProviderConnection.provider == provider)
            .order_by(ProviderConnection.connected_at)
        )
        return result.scalars().all()


async def test_disconnect_xero_revokes_and_keeps_history(
    flow, make_user, client, auth_headers, sandbox, sessionmaker, tokens
):
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    assert (await flow.xero(admin)).status_code == 200
    (row,) = await _row(sessionmaker, admin.company_id)
    old_refresh = row.refresh_token
    await sandbox.clear_requests()

    response = await client.delete("/api/v1/connections/xero", headers=auth_headers(admin))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "provider": "xero",
        "status": "disconnected",
        "revoked_at_provider": True,
    }
    deletes = [r for r in await sandbox.requests(path="/connections/") if r["method"] == "DELETE"]
    assert [r["path"] for r in deletes] == [f"/xero/api/connections/{row.xero_connection_id}"]
    assert len(await sandbox.requests(path="/connect/revocation")) == 1

    (row,) = await _row(sessionmaker, admin.company_id)
    assert row.status == "disconnected" and row.disconnected_at is not None
    assert row.access_token is None and row.refresh_token is None
    assert row.previous_refresh_token is None
    # History stays readable: the organisation is still named.
    listing = await client.get("/api/v1/connections", headers=auth_headers(admin))
    xero = next(c for c in listing.json() if c["provider"] == "xero")
    assert xero["status"] == "disconnected"
    assert xero["organisation_name"] == "Northwind Traders NZ"
    assert xero["tenant_id"] == XERO_NZ
    # The grant is dead at Xero.
    with pytest.raises(InvalidGrant):
        await tokens.facade("xero").refresh(old_refresh)
    # A second disconnect finds nothing live.
    again = await client.delete("/api/v1/connections/xero", headers=auth_headers(admin))
    assert again.status_code == 404
    check = await client.post("/api/v1/connections/xero/check", headers=auth_headers(admin))
    assert check.status_code == 409 and check.json()["error"]["code"] == "not_connected"


async def test_reconnect_after_disconnect_adds_a_new_row(
    flow, make_user, client, auth_headers, sessionmaker
):
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    assert (await flow.xero(admin)).status_code == 200
    assert (
        await client.delete("/api/v1/connections/xero", headers=auth_headers(admin))
    ).status_code == 200
    assert (await flow.xero(admin)).status_code == 200
    rows = await _row(sessionmaker, admin.company_id)
    assert [r.status for r in rows] == ["disconnected", "active"]


async def test_disconnect_quickbooks_revokes(
    flow, make_user, client, auth_headers, sandbox, sessionmaker, tokens
):
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    assert (await flow.quickbooks(admin)).status_code == 200
    (row,) = await _row(sessionmaker, admin.company_id, "quickbooks")
    old_refresh = row.refresh_token
    await sandbox.clear_requests()
    response = await client.delete("/api/v1/connections/quickbooks", headers=auth_headers(admin))
    assert response.status_code == 200
    assert response.json()["revoked_at_provider"] is True
    assert len(await sandbox.requests(path="/oauth2/tokens/revoke")) == 1
    with pytest.raises(InvalidGrant):
        await tokens.facade("quickbooks").refresh(old_refresh)


async def test_disconnect_when_provider_is_down_changes_nothing(
    flow, make_user, client, auth_headers, sandbox, sessionmaker
):
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    assert (await flow.quickbooks(admin)).status_code == 200
    await sandbox.fault(kind="status", status=503, path="/oauth2/tokens/revoke")
    response = await client.delete("/api/v1/connections/quickbooks", headers=auth_headers(admin))
    assert response.status_code == 503
    assert "the connection was kept" in response.json()["error"]["message"]
    (row,) = await _row(sessionmaker, admin.company_id, "quickbooks")
    assert row.status == "active" and row.refresh_token


async def test_disconnect_a_connection_that_needs_reauth(
    flow, make_user, client, auth_headers, sandbox, sessionmaker, tokens
):
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    assert (await flow.xero(admin)).status_code == 200
    (row,) = await _row(sessionmaker, admin.company_id)
    await tokens.facade("xero").oauth.revoke(row.refresh_token)
    await sandbox.advance(1801)
    check = await client.post("/api/v1/connections/xero/check", headers=auth_headers(admin))
    assert check.status_code == 409
    response = await client.delete("/api/v1/connections/xero", headers=auth_headers(admin))
    assert response.status_code == 200
    assert response.json()["revoked_at_provider"] is False
    (row,) = await _row(sessionmaker, admin.company_id)
    assert row.status == "disconnected"


async def test_disconnect_from_the_page_returns_the_card(
    flow, make_user, client, auth_headers, sessionmaker
):
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    assert (await flow.xero(admin)).status_code == 200
    response = await client.delete(
        "/connections/xero", headers={**auth_headers(admin), "HX-Request": "true"}
    )
    assert response.status_code == 200
    assert 'id="conn-xero"' in response.text
    assert "Disconnected" in response.text and "Connect Xero" in response.text
    assert "<html" not in response.text  # a fragment for htmx to swap in
    (row,) = await _row(sessionmaker, admin.company_id)
    assert row.status == "disconnected"


async def test_isolation_and_permissions(flow, make_user, client, auth_headers, sessionmaker):
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    rep = await make_user(pipedrive_company_id=7001, pipedrive_user_id=102, is_admin=False)
    outsider = await make_user(pipedrive_company_id=7002, pipedrive_user_id=201)
    assert (await flow.xero(admin)).status_code == 200

    # Any user of the company may read; only admins disconnect.
    listing = await client.get("/api/v1/connections", headers=auth_headers(rep))
    assert listing.status_code == 200
    assert next(c for c in listing.json() if c["provider"] == "xero")["status"] == "active"
    assert (
        await client.delete("/api/v1/connections/xero", headers=auth_headers(rep))
    ).status_code == 403
    assert (await client.delete("/connections/xero", headers=auth_headers(rep))).status_code == 403

    # Another company sees nothing of it and cannot touch it.
    other = await client.get("/api/v1/connections", headers=auth_headers(outsider))
    assert {c["status"] for c in other.json()} == {"not_connected"}
    one = await client.get("/api/v1/connections/xero", headers=auth_headers(outsider))
    assert one.json()["status"] == "not_connected" and one.json()["tenant_id"] is None
    gone = await client.delete("/api/v1/connections/xero", headers=auth_headers(outsider))
    assert gone.status_code == 404
    check = await client.post("/api/v1/connections/xero/check", headers=auth_headers(outsider))
    assert check.status_code == 409
    assert (await client.get("/api/v1/connections")).status_code == 401
    assert (
        await client.get("/api/v1/connections/sage", headers=auth_headers(admin))
    ).status_code == 404

    (row,) = await _row(sessionmaker, admin.company_id)
    assert row.status == "active"


async def test_revoke_company_connections_for_a_purge(
    flow, make_user, sandbox, sessionmaker, app, settings
):
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    other = await make_user(pipedrive_company_id=7002, pipedrive_user_id=201)
    assert (await flow.xero(admin)).status_code == 200
    assert (await flow.quickbooks(admin)).status_code == 200
    assert (
        await flow.xero(other, email="colin@contoso.test", tenant_ids=(XERO_AU,))
    ).status_code == 200
    await sandbox.clear_requests()
    # Even with Xero's revocation failing, the company's tokens go.
    await sandbox.fault(kind="status", status=500, path="/connect/revocation")
    async with sessionmaker() as session:
        count = await revoke_company_connections(
            settings, session, sessionmaker, app.state.http, admin.company_id
        )
        await session.commit()
    assert count == 2
    assert len(await sandbox.requests(path="/oauth2/tokens/revoke")) == 1
    assert len(await sandbox.requests(path="/connect/revocation")) >= 1
    for provider in ("xero", "quickbooks"):
        (row,) = await _row(sessionmaker, admin.company_id, provider)
        assert row.status == "disconnected" and row.refresh_token is None
    (kept,) = await _row(sessionmaker, other.company_id)
    assert kept.status == "active" and kept.refresh_token


async def test_disconnect_spares_another_company_served_by_the_same_xero_user(
    flow, make_user, client, auth_headers, sandbox
):
    """Revoking a Xero grant removes all of that Xero user's connections: when the same person
    connected another company of ours, only this tenant's connection is deleted."""
    first = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    second = await make_user(pipedrive_company_id=7002, pipedrive_user_id=201)
    assert (await flow.xero(first)).status_code == 200
    assert (await flow.xero(second, tenant_ids=(XERO_AU,))).status_code == 200
    await sandbox.clear_requests()
    response = await client.delete("/api/v1/connections/xero", headers=auth_headers(first))
    assert response.status_code == 200
    assert response.json()["revoked_at_provider"] is False
    assert await sandbox.requests(path="/connect/revocation") == []
    assert len(await sandbox.requests(path="/xero/api/connections/")) == 1
    check = await client.post("/api/v1/connections/xero/check", headers=auth_headers(second))
    assert check.status_code == 200
    assert check.json()["organisation_name"] == "Northwind Demo AU"
    # Once the last company served by that user disconnects, the grant is revoked.
    response = await client.delete("/api/v1/connections/xero", headers=auth_headers(second))
    assert response.json()["revoked_at_provider"] is True
    assert len(await sandbox.requests(path="/connect/revocation")) == 1


async def test_purging_a_company_revokes_its_connections(
    flow, make_user, sandbox, sessionmaker, app
):
    """The hook registered at start-up runs when a company is purged (last user uninstalls)."""
    from app.tenants.models import Company
    from app.tenants.service import purge_company

    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    other = await make_user(pipedrive_company_id=7002, pipedrive_user_id=201)
    assert (await flow.xero(admin)).status_code == 200
    assert (await flow.quickbooks(admin)).status_code == 200
    assert (
        await flow.xero(other, email="colin@contoso.test", tenant_ids=(XERO_AU,))
    ).status_code == 200
    await sandbox.clear_requests()
    async with sessionmaker() as session:
        company = await session.get(Company, admin.company_id)
        await purge_company(session, company)
        await session.commit()
    assert len(await sandbox.requests(path="/connect/revocation")) == 1
    assert len(await sandbox.requests(path="/oauth2/tokens/revoke")) == 1
    assert await _row(sessionmaker, admin.company_id) == []
    (kept,) = await _row(sessionmaker, other.company_id)
    assert kept.status == "active" and kept.refresh_token
