"""Connecting Xero end to end through the sandbox: consent, organisation choice, role check,
and every way the flow can be refused with nothing stored."""

from __future__ import annotations

import re

from sqlalchemy import select, text

from app.connections.models import ConnectNonce, PendingConnection, ProviderConnection
from app.connections.service import STATE_PURPOSE
from app.kit.signing import Signer
from tests.connections.conftest import XERO_AU, XERO_NZ, local
from tests.support.sessions import session_of


async def _rows(db, company_id=None):
    query = select(ProviderConnection)
    if company_id:
        query = query.where(ProviderConnection.company_id == company_id)
    db.expire_all()
    return (await db.execute(query)).scalars().all()


async def test_connect_single_organisation(flow, make_user, client, auth_headers, db):
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101, name="Nora Admin")

    start = await client.get("/connections/xero/connect", headers=auth_headers(admin))
    assert start.status_code == 303
    authorize = start.headers["location"]
    assert "/xero/login/identity/connect/authorize?" in authorize
    assert "code_challenge_method=S256" in authorize and "code_challenge=" in authorize
    assert "offline_access" in authorize and "state=" in authorize

    page = await flow.xero(admin)
    assert page.status_code == 200
    assert "Xero connected" in page.text and "Northwind Traders NZ" in page.text
    # The way back: the page carries a fresh session (the round trip ran without ours) and
    # its link asks for a one-time code when clicked; no session in the link itself.
    assert re.search(r'<a class="button" href="/connections" data-session-link>', page.text)
    code = await client.post("/api/v1/session/handoff", headers=session_of(page.text))
    back = await client.get("/connections", params={"handoff": code.json()["handoff"]})
    assert back.status_code == 200 and "Northwind Traders NZ" in back.text

    listing = await client.get("/api/v1/connections", headers=auth_headers(admin))
    xero = next(c for c in listing.json() if c["provider"] == "xero")
    assert xero["status"] == "active"
    assert xero["tenant_id"] == XERO_NZ
    assert xero["organisation_name"] == "Northwind Traders NZ"
    assert xero["base_currency"] == "NZD"
    assert xero["short_code"] == "!NwT01"
    assert xero["connected_by"] == "Nora Admin"
    assert xero["connected_by_user_id"] == admin.id
    assert xero["provider_role"] == "STANDARD"
    assert xero["connected_at"]

    (row,) = await _rows(db, admin.company_id)
    assert row.xero_connection_id and row.auth_event_id
    assert row.provider_user_email == "nora@northwind.test"
    # Tokens are encrypted at rest: the raw column never holds the token itself.
    raw = (
        await db.execute(
            text("SELECT access_token, refresh_token FROM provider_connection WHERE id = :id"),
            {"id": row.id},
        )
    ).one()
    assert row.access_token and row.refresh_token
    assert row.access_token not in raw[0] and row.refresh_token not in raw[1]
    assert raw[0].startswith("gAAAA")


async def test_several_organisations_are_offered_never_picked_silently(
    flow, make_user, client, auth_headers, db, tokens
):
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    page = await flow.xero(admin, tenant_ids=(XERO_NZ, XERO_AU))
    assert page.status_code == 200
    assert "Which Xero organisation" in page.text
    assert "Northwind Traders NZ" in page.text and "Northwind Demo AU" in page.text
    assert await _rows(db) == []  # nothing connected until the admin chooses

    pick = re.search(r'name="pick" value="([^"]+)"', page.text).group(1)
    chosen = await client.post(
        "/connections/xero/choose", data={"pick": pick, "tenant_id": XERO_AU}
    )
    assert chosen.status_code == 200, chosen.text
    assert "Northwind Demo AU" in chosen.text
    (row,) = await _rows(db, admin.company_id)
    assert row.tenant_id == XERO_AU and row.base_currency == "AUD"
    assert (await db.execute(select(PendingConnection))).scalars().all() == []
    # The organisation not chosen is disconnected at Xero: our grant reaches only AU.
    creds = await tokens.credentials(admin.company_id, "xero")
    reachable = await tokens.facade("xero").xero_connections(creds.access_token)
    assert [c.tenant_id for c in reachable] == [XERO_AU]

    again = await client.post("/connections/xero/choose", data={"pick": pick, "tenant_id": XERO_NZ})
    assert again.status_code == 400
    assert "already" in again.text
    (row,) = await _rows(db, admin.company_id)
    assert row.tenant_id == XERO_AU


async def test_choosing_an_organisation_outside_the_consent_is_refused(flow, make_user, client, db):
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    page = await flow.xero(admin, tenant_ids=(XERO_NZ, XERO_AU))
    pick = re.search(r'name="pick" value="([^"]+)"', page.text).group(1)
    response = await client.post(
        "/connections/xero/choose",
        data={"pick": pick, "tenant_id": "00000000-0000-4000-8000-000000000099"},
    )
    assert response.status_code == 400
    assert "not part of this consent" in response.text
    assert await _rows(db) == []


async def test_denied_consent_stores_nothing(flow, make_user, db):
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    page = await flow.xero(admin, deny=True)
    assert page.status_code == 400
    assert "declined" in page.text and "Nothing was saved" in page.text
    assert await _rows(db) == []


async def test_replayed_state_is_refused(flow, make_user, client, db):
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    await flow.arm_xero()
    callback = await flow.authorize(await flow.start(admin, "xero"))
    first = await client.get(local(callback))
    assert first.status_code == 200
    replay = await client.get(local(callback))
    assert replay.status_code == 400
    assert "already used" in replay.text
    assert len(await _rows(db)) == 1


async def test_a_refused_callback_still_spends_its_state(flow, make_user, client, db):
    """A state is single-use even when its first use failed (here: consent denied)."""
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    await flow.arm_xero(deny=True)
    callback = await flow.authorize(await flow.start(admin, "xero"))
    assert (await client.get(local(callback))).status_code == 400
    assert len((await db.execute(select(ConnectNonce))).scalars().all()) == 1
    replay = await client.get(local(callback))
    assert "already used" in replay.text


async def test_expired_and_forged_states_are_refused(make_user, client, settings, db):
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    signer = Signer(settings.secret_key, STATE_PURPOSE)
    expired = signer.sign({"c": admin.company_id, "u": admin.id, "p": "xero"}, -1)
    response = await client.get(f"/connections/xero/callback?code=abc&state={expired}")
    assert response.status_code == 400
    assert "expired" in response.text

    forged = Signer("another-secret-key-that-is-long-enough!", STATE_PURPOSE).sign(
        {"c": admin.company_id, "u": admin.id, "p": "xero"}, 600
    )
    response = await client.get(f"/connections/xero/callback?code=abc&state={forged}")
    assert response.status_code == 400
    assert "not valid" in response.text

    wrong_provider = signer.sign({"c": admin.company_id, "u": admin.id, "p": "quickbooks"}, 600)
    response = await client.get(f"/connections/xero/callback?code=abc&state={wrong_provider}")
    assert response.status_code == 400
    assert (await client.get("/connections/xero/callback?code=abc")).status_code == 400
    assert await _rows(db) == []


async def test_role_without_invoice_rights_is_refused(flow, make_user, db, sandbox):
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    await sandbox.clear_requests()
    page = await flow.xero(admin, email="ivan@northwind.test")
    # The tenant connection the refused consent made is removed at Xero again.
    deletes = [r for r in await sandbox.requests(path="/xero/api/connections/")]
    assert [r["method"] for r in deletes] == ["DELETE"]
    assert page.status_code == 403
    assert "Invoice only" in page.text and "Standard or Adviser" in page.text
    page = await flow.xero(admin, email="rob@northwind.test")
    assert page.status_code == 403
    assert "Read only" in page.text
    assert await _rows(db) == []


async def test_adviser_role_may_connect(flow, make_user, db):
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    page = await flow.xero(admin, email="fiona@northwind.test")
    assert page.status_code == 200, page.text
    (row,) = await _rows(db)
    assert row.provider_role == "FINANCIALADVISER"


async def test_organisation_connected_by_another_company_is_refused(
    flow, make_user, client, auth_headers, db
):
    first = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    second = await make_user(pipedrive_company_id=7002, pipedrive_user_id=201)
    assert (await flow.xero(first)).status_code == 200
    page = await flow.xero(second)
    assert page.status_code == 409
    assert "already connected to another Pipedrive company" in page.text
    assert await _rows(db, second.company_id) == []
    listing = await client.get("/api/v1/connections", headers=auth_headers(second))
    assert {c["status"] for c in listing.json()} == {"not_connected"}
    # The refused attempt left the first company's connection working.
    check = await client.post("/api/v1/connections/xero/check", headers=auth_headers(first))
    assert check.status_code == 200


async def test_claimed_organisation_is_shown_but_not_selectable(flow, make_user):
    first = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    second = await make_user(pipedrive_company_id=7002, pipedrive_user_id=201)
    assert (await flow.xero(first)).status_code == 200
    page = await flow.xero(second, tenant_ids=(XERO_NZ, XERO_AU))
    assert page.status_code == 200
    nz = re.search(rf'value="{XERO_NZ}"[^>]*>', page.text).group(0)
    assert "disabled" in nz
    assert "already connected to another Pipedrive company" in page.text


async def test_reconnecting_the_same_organisation_keeps_one_row(flow, make_user, db):
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    assert (await flow.xero(admin)).status_code == 200
    (before,) = await _rows(db)
    before_id, before_refresh = before.id, before.refresh_token
    assert (await flow.xero(admin, email="fiona@northwind.test")).status_code == 200
    (after,) = await _rows(db)
    assert after.id == before_id
    assert after.provider_role == "FINANCIALADVISER"
    assert after.refresh_token != before_refresh


async def test_switching_organisation_keeps_the_old_one_as_history(flow, make_user, db):
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    assert (await flow.xero(admin)).status_code == 200
    assert (await flow.xero(admin, tenant_ids=(XERO_AU,))).status_code == 200
    rows = {r.tenant_id: r for r in await _rows(db)}
    assert rows[XERO_NZ].status == "disconnected" and rows[XERO_NZ].refresh_token is None
    assert rows[XERO_AU].status == "active"


async def test_only_admins_connect(make_user, client, auth_headers):
    rep = await make_user(pipedrive_company_id=7001, pipedrive_user_id=102, is_admin=False)
    response = await client.get("/connections/xero/connect", headers=auth_headers(rep))
    assert response.status_code == 403
    # No sign-in at all: sent to sign in with Pipedrive (the reconnect URL), not a dead end.
    anonymous = await client.get("/connections/xero/connect")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/pipedrive/install?next=")
    assert (await client.get("/connections", headers=auth_headers(rep))).status_code == 403
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    unknown = await client.get("/connections/sage/connect", headers=auth_headers(admin))
    assert unknown.status_code == 404


async def test_admin_demoted_during_consent_is_refused(flow, make_user, db, sessionmaker):
    from app.tenants.models import CrmUser

    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    await flow.arm_xero()
    callback = await flow.authorize(await flow.start(admin, "xero"))
    async with sessionmaker() as session:
        user = await session.get(CrmUser, admin.id)
        user.is_admin = False
        await session.commit()
    page = await flow.client.get(local(callback))
    assert page.status_code == 403
    assert await _rows(db) == []


async def test_connections_page_for_admins(flow, make_user, client, auth_headers):
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101, name="Nora Admin")
    page = await client.get("/connections", headers=auth_headers(admin))
    assert page.status_code == 200
    assert "Connect Xero" in page.text and "Connect QuickBooks" in page.text
    assert (await flow.xero(admin)).status_code == 200
    token = auth_headers(admin)["X-Session-Token"]
    # A session in the URL is not a sign-in any more; a one-time code is.
    assert (await client.get(f"/connections?session={token}")).status_code == 401
    code = await client.post("/api/v1/session/handoff", headers=auth_headers(admin))
    page = await client.get("/connections", params={"handoff": code.json()["handoff"]})
    assert page.status_code == 200
    assert "Northwind Traders NZ" in page.text and "Nora Admin" in page.text
    assert "Reconnect" in page.text and 'hx-delete="/connections/xero"' in page.text
    assert 'name="session-token"' in page.text  # htmx sends the session on every request


async def test_a_choice_submitted_twice_at_once_connects_once(flow, make_user, client, db):
    import asyncio

    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101)
    page = await flow.xero(admin, tenant_ids=(XERO_NZ, XERO_AU))
    pick = re.search(r'name="pick" value="([^"]+)"', page.text).group(1)
    answers = await asyncio.gather(
        client.post("/connections/xero/choose", data={"pick": pick, "tenant_id": XERO_NZ}),
        client.post("/connections/xero/choose", data={"pick": pick, "tenant_id": XERO_AU}),
    )
    assert sorted(a.status_code for a in answers) == [200, 400]
    assert len(await _rows(db)) == 1
