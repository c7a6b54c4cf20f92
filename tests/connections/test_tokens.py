"""Tokens: refresh ahead of expiry and on 401, one refresh at a time, rotation committed
before use, lost answers retried inside the grace window, invalid_grant → needs_reauth."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.connections.exceptions import NeedsReauth, NotConnected
from app.connections.models import ProviderConnection
from app.db import utcnow
from tests.connections.conftest import TOKEN_PATH


async def refreshes(sandbox, provider: str = "xero") -> list[dict]:
    path = "/connect/token" if provider == "xero" else "/tokens/bearer"
    return [
        r
        for r in await sandbox.requests(path=path)
        if "grant_type=refresh_token" in (r.get("body") or "")
    ]


async def row_of(sessionmaker, company_id: str, provider: str = "xero") -> ProviderConnection:
    async with sessionmaker() as session:
        result = await session.execute(
            select(ProviderConnection).where(
                ProviderConnection.company_id == company_id,
                ProviderConnection.provider == provider,
            )
        )
        return result.scalars().one()


async def expire(sandbox, sessionmaker, company_id: str, provider: str = "xero") -> None:
    """The moment of expiry: the provider's clock passes the token's life, and ours agrees."""
    await sandbox.advance(1801 if provider == "xero" else 3601)
    async with sessionmaker() as session:
        await session.execute(
            update(ProviderConnection)
            .where(ProviderConnection.company_id == company_id)
            .where(ProviderConnection.provider == provider)
            .values(expires_at=utcnow() + timedelta(seconds=30))
        )
        await session.commit()


@pytest.fixture
async def connected(flow, make_user, sandbox):
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    assert (await flow.xero(admin)).status_code == 200
    await sandbox.clear_requests()
    return admin


async def test_fresh_token_is_used_without_refreshing(connected, tokens, sandbox, sessionmaker):
    row = await row_of(sessionmaker, connected.company_id)
    creds = await tokens.credentials(connected.company_id, "xero")
    assert creds.access_token == row.access_token
    assert creds.tenant_id == row.tenant_id
    assert await refreshes(sandbox) == []


async def test_refresh_ahead_of_expiry_rotates_and_commits(
    connected, tokens, sandbox, sessionmaker
):
    before = await row_of(sessionmaker, connected.company_id)
    await expire(sandbox, sessionmaker, connected.company_id)
    creds = await tokens.credentials(connected.company_id, "xero")
    assert creds.access_token != before.access_token
    after = await row_of(sessionmaker, connected.company_id)
    # Committed before it was handed out: a new session sees the rotated set.
    assert after.access_token == creds.access_token
    assert after.refresh_token != before.refresh_token
    assert after.previous_refresh_token == before.refresh_token
    assert after.rotated_at is not None
    assert after.token_version == before.token_version + 1
    assert after.expires_at > utcnow() + timedelta(minutes=25)
    assert len(await refreshes(sandbox)) == 1
    org = await tokens.facade("xero").organisation(creds)
    assert org.name == "Northwind Traders NZ"


async def test_a_401_refreshes_once_and_retries(connected, client, auth_headers, sandbox):
    # Only the provider's clock moves: we still believe the token is fresh, Xero does not.
    await sandbox.advance(1801)
    response = await client.post("/api/v1/connections/xero/check", headers=auth_headers(connected))
    assert response.status_code == 200, response.text
    assert response.json()["organisation_name"] == "Northwind Traders NZ"
    assert len(await refreshes(sandbox)) == 1
    organisation_calls = await sandbox.requests(path="/api.xro/2.0/Organisation")
    assert [r["status"] for r in organisation_calls] == [401, 200]


async def test_twenty_concurrent_calls_at_expiry_make_one_refresh(
    connected, tokens, sandbox, sessionmaker
):
    await expire(sandbox, sessionmaker, connected.company_id)
    # A slow refresh, so that all twenty find the token expiring while it is under way.
    await sandbox.fault(kind="latency", latency_ms=300, path=TOKEN_PATH["xero"])
    facade = tokens.facade("xero")
    results = await asyncio.gather(
        *(tokens.call(connected.company_id, "xero", facade.organisation) for _ in range(20))
    )
    assert {r.name for r in results} == {"Northwind Traders NZ"}
    assert len(await refreshes(sandbox)) == 1
    organisation_calls = await sandbox.requests(path="/api.xro/2.0/Organisation")
    assert len(organisation_calls) == 20
    assert {r["status"] for r in organisation_calls} == {200}


async def test_twenty_concurrent_requests_over_http_make_one_refresh(
    connected, client, auth_headers, sandbox, sessionmaker
):
    await expire(sandbox, sessionmaker, connected.company_id)
    headers = auth_headers(connected)
    responses = await asyncio.gather(
        *(client.get("/api/v1/connections", headers=headers) for _ in range(2)),
        *(client.post("/api/v1/connections/xero/check", headers=headers) for _ in range(20)),
    )
    assert {r.status_code for r in responses} == {200}
    assert len(await refreshes(sandbox)) == 1


async def test_quickbooks_refresh_at_expiry(flow, make_user, tokens, sandbox, sessionmaker):
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    assert (await flow.quickbooks(admin)).status_code == 200
    await sandbox.clear_requests()
    await expire(sandbox, sessionmaker, admin.company_id, "quickbooks")
    facade = tokens.facade("quickbooks")
    results = await asyncio.gather(
        *(tokens.call(admin.company_id, "quickbooks", facade.organisation) for _ in range(20))
    )
    assert {r.name for r in results} == {"Northwind Traders US"}
    assert len(await refreshes(sandbox, "quickbooks")) == 1


async def test_lost_refresh_answer_is_retried_inside_the_grace_window(
    connected, tokens, sandbox, sessionmaker
):
    before = await row_of(sessionmaker, connected.company_id)
    await expire(sandbox, sessionmaker, connected.company_id)
    await sandbox.fault(kind="commit_then_fail", path=TOKEN_PATH["xero"], count=1)
    creds = await tokens.credentials(connected.company_id, "xero")
    calls = await refreshes(sandbox)
    assert len(calls) == 2
    # Both attempts carried the same (by then previous) refresh token.
    assert calls[0]["body"] == calls[1]["body"]
    # The first was applied by Xero, then its answer was lost on the way back.
    assert calls[0]["fault"] and not calls[1]["fault"]
    after = await row_of(sessionmaker, connected.company_id)
    assert after.status == "active"
    assert after.previous_refresh_token == before.refresh_token
    org = await tokens.facade("xero").organisation(creds)
    assert org.name == "Northwind Traders NZ"
    # The newest token keeps working afterwards.
    await expire(sandbox, sessionmaker, connected.company_id)
    assert (await tokens.credentials(connected.company_id, "xero")).access_token


async def test_dropped_refresh_answer_is_retried(connected, tokens, sandbox, sessionmaker):
    await expire(sandbox, sessionmaker, connected.company_id)
    await sandbox.fault(kind="drop", path=TOKEN_PATH["xero"], count=1)
    creds = await tokens.credentials(connected.company_id, "xero")
    assert creds.access_token
    assert len(await refreshes(sandbox)) == 2


async def test_provider_down_during_refresh_is_503_and_harmless(
    connected, tokens, sandbox, sessionmaker, client, auth_headers
):
    await expire(sandbox, sessionmaker, connected.company_id)
    await sandbox.fault(kind="status", status=503, path=TOKEN_PATH["xero"])
    response = await client.post("/api/v1/connections/xero/check", headers=auth_headers(connected))
    assert response.status_code == 503
    assert response.headers["retry-after"]
    row = await row_of(sessionmaker, connected.company_id)
    assert row.status == "active" and row.refresh_lease_until is None
    await sandbox.clear_faults()
    response = await client.post("/api/v1/connections/xero/check", headers=auth_headers(connected))
    assert response.status_code == 200


async def test_invalid_grant_needs_reauth_and_every_caller_gets_409(
    connected, flow, tokens, sandbox, sessionmaker, client, auth_headers, settings
):
    # The same company's QuickBooks connection must keep working throughout.
    assert (await flow.quickbooks(connected)).status_code == 200
    row = await row_of(sessionmaker, connected.company_id)
    # Someone revokes the grant at Xero (e.g. from Xero's connected apps page).
    await tokens.facade("xero").oauth.revoke(row.refresh_token)
    await sandbox.clear_requests()
    await expire(sandbox, sessionmaker, connected.company_id)

    with pytest.raises(NeedsReauth) as raised:
        await tokens.credentials(connected.company_id, "xero")
    assert raised.value.status_code == 409
    assert raised.value.extra["reconnect_url"] == (
        f"{settings.public_url}/connections/xero/connect"
    )
    row = await row_of(sessionmaker, connected.company_id)
    assert row.status == "needs_reauth"
    assert row.access_token is None and row.refresh_token is None
    assert len(await refreshes(sandbox)) == 1

    headers = auth_headers(connected)
    responses = await asyncio.gather(
        *(client.post("/api/v1/connections/xero/check", headers=headers) for _ in range(5))
    )
    for response in responses:
        assert response.status_code == 409
        error = response.json()["error"]
        assert error["code"] == "needs_reauth"
        assert error["reconnect_url"].endswith("/connections/xero/connect")
        assert "reconnect" in error["message"].lower()
    assert len(await refreshes(sandbox)) == 1  # no more attempts on a dead grant

    listing = await client.get("/api/v1/connections", headers=headers)
    states = {c["provider"]: c["status"] for c in listing.json()}
    assert states == {"xero": "needs_reauth", "quickbooks": "active"}
    qbo = await client.post("/api/v1/connections/quickbooks/check", headers=headers)
    assert qbo.status_code == 200

    page = await client.get("/connections", headers=headers)
    assert "Needs reconnecting" in page.text

    # Reconnecting brings it back to active.
    assert (await flow.xero(connected)).status_code == 200
    check = await client.post("/api/v1/connections/xero/check", headers=headers)
    assert check.status_code == 200


async def test_invalid_grant_after_another_process_rotated_uses_theirs(
    connected, tokens, sandbox, sessionmaker, app
):
    """A refresher that gets invalid_grant re-reads the row once before giving up."""
    from app.connections.tokens import TokenService

    other = TokenService(app.state.settings, app.state.sessionmaker, app.state.http)
    stale = await row_of(sessionmaker, connected.company_id)
    await expire(sandbox, sessionmaker, connected.company_id)
    rotated = await other.credentials(connected.company_id, "xero")
    # Simulate a process still holding the stale version: force a refresh against it.
    versioned = await tokens.versioned(
        connected.company_id, "xero", stale_version=stale.token_version
    )
    assert versioned.creds.access_token == rotated.access_token
    assert len(await refreshes(sandbox)) == 1


async def test_not_connected_is_409_with_connect_url(make_user, client, auth_headers, tokens):
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    with pytest.raises(NotConnected):
        await tokens.credentials(admin.company_id, "xero")
    response = await client.post("/api/v1/connections/xero/check", headers=auth_headers(admin))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_connected"
    assert response.json()["error"]["reconnect_url"].endswith("/connections/xero/connect")


async def test_organisation_disconnected_at_xero_needs_reauth(
    flow, make_user, client, auth_headers, sessionmaker, tokens
):
    """The admin removed our app from the organisation inside Xero: Xero answers 403 for the
    tenant, and the connection asks to be reconnected instead of failing obscurely."""
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    assert (await flow.xero(admin)).status_code == 200
    row = await row_of(sessionmaker, admin.company_id)
    creds = await tokens.credentials(admin.company_id, "xero")
    await tokens.facade("xero").xero_delete_connection(creds.access_token, row.xero_connection_id)
    response = await client.post("/api/v1/connections/xero/check", headers=auth_headers(admin))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "needs_reauth"
    assert "no longer gives access" in response.json()["error"]["message"]
    assert (await row_of(sessionmaker, admin.company_id)).status == "needs_reauth"
