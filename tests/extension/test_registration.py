"""Registering the link with Pipedrive after a connect: one link per company and provider."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import func, select

from app.extension import schemas
from app.extension.models import InvoicingLink
from tests.connections.conftest import local
from tests.extension.conftest import link_of
from tests.extension.helpers import fails, ok

XERO_NZ = "b1f3c0de-0000-4000-8000-000000000001"
XERO_AU = "b1f3c0de-0000-4000-8000-000000000002"
REALM = "9130350000000001"


async def registered(sandbox) -> list[dict]:
    response = await sandbox.http.get("/_sandbox/pipedrive/invoice-links")
    assert response.status_code == 200
    return response.json()


async def test_connect_registers_each_provider_with_pipedrive(northwind, links, sandbox, settings):
    rows = {r["linkId"]: r for r in await registered(sandbox)}
    assert set(rows) == set(links.values())
    assert rows[links["xero"]]["orgId"] == XERO_NZ
    assert rows[links["quickbooks"]]["orgId"] == REALM
    for row in rows.values():
        assert row["marketplaceClientId"] == settings.pipedrive.client_id
        assert row["company_id"] == 7001 and row["user_id"] == 101
    # The registration went to the company's own api_domain with the admin's Bearer token.
    calls = await sandbox.requests("/api/v1/invoice/user/provider")
    assert len(calls) == 2
    assert all("/pipedrive/c/northwind/" in c.get("url", c.get("path", "")) for c in calls)


async def test_link_ids_are_random_uuid4(links):
    for link in links.values():
        assert uuid.UUID(link).version == 4
    assert links["xero"] != links["quickbooks"]


async def test_connect_sends_the_browser_on_to_pipedrives_redirect(client, contoso, flow, sandbox):
    done = await flow.xero(contoso.user, email="colin@contoso.test", tenant_ids=(XERO_AU,))
    # The extension contract: 303 to the registration's redirectUrl, no page in between.
    assert done.status_code == 303, done.text
    (row,) = [r for r in await registered(sandbox) if r["company_id"] == 7002]
    assert row["orgId"] == XERO_AU
    assert done.headers["location"] == row["redirectUrl"]


async def test_reconnecting_reuses_the_link(client, northwind, links, flow, sandbox, sessionmaker):
    again = await flow.xero(northwind.user)
    assert again.status_code == 303, again.text
    assert await link_of(sessionmaker, northwind, "xero") == links["xero"]
    async with sessionmaker() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(InvoicingLink)
            .where(InvoicingLink.company_id == northwind.user.company_id)
        )
    assert count == 2
    # Announced again under the same id; Pipedrive still lists one link per id.
    rows = [r for r in await registered(sandbox) if r["linkId"] == links["xero"]]
    assert len(rows) == 1


async def test_register_page_follows_the_redirect(client, northwind, links, sandbox):
    response = await client.get(
        "/pipedrive/invoicing/register/xero", headers=northwind.headers, follow_redirects=False
    )
    assert response.status_code == 303
    location = response.headers["location"]
    assert parse_qs(urlsplit(location).query).get("link_id") == [links["xero"]]
    target = await sandbox.http.get(local(location) if location.startswith("/") else location)
    assert target.status_code < 400
    missing = await client.get("/pipedrive/invoicing/register/nothing", headers=northwind.headers)
    assert missing.status_code == 404


async def test_register_page_opens_with_a_code_but_not_with_the_page_cookie_alone(
    client, northwind, links
):
    """Its GET tells Pipedrive something, so the cookie another site could make the browser
    send is not enough; the link's one-time code is."""
    code = (await client.post("/api/v1/session/handoff", headers=northwind.headers)).json()
    opened = await client.get(
        "/pipedrive/invoicing/register/xero",
        params={"handoff": code["handoff"]},
        follow_redirects=False,
    )
    assert opened.status_code == 303
    code = (await client.post("/api/v1/session/handoff", headers=northwind.headers)).json()
    page = await client.get("/connections", params={"handoff": code["handoff"]})
    assert page.status_code == 200 and client.cookies.get("crm_invoicing_page")
    assert (await client.get("/connections")).status_code == 200  # the cookie signs pages in
    refused = await client.get("/pipedrive/invoicing/register/xero", follow_redirects=False)
    assert refused.status_code == 401


async def test_another_organisation_gets_a_new_link_and_the_old_one_dies(
    client, contoso, flow, sandbox, sessionmaker, pd
):
    await flow.xero(contoso.user, email="colin@contoso.test", tenant_ids=(XERO_AU,))
    old = await link_of(sessionmaker, contoso, "xero")
    disconnect = await client.delete("/api/v1/connections/xero", headers=contoso.headers)
    assert disconnect.status_code == 200, disconnect.text
    status = ok(await pd("getProviderAccount", old), schemas.LinkStatus)
    assert status.authorized is False
    assert status.features is None and status.orgId is None
    # Reconnecting the same organisation keeps the link and authorizes it again.
    await flow.xero(contoso.user, email="colin@contoso.test", tenant_ids=(XERO_AU,))
    assert await link_of(sessionmaker, contoso, "xero") == old
    assert ok(await pd("getProviderAccount", old), schemas.LinkStatus).authorized is True
    # Another organisation: a new link id; the old one reaches nothing any more.
    await client.delete("/api/v1/connections/xero", headers=contoso.headers)
    done = await flow.xero(contoso.user, email="nora@northwind.test", tenant_ids=(XERO_NZ,))
    assert done.status_code == 303, done.text
    new = await link_of(sessionmaker, contoso, "xero")
    assert new != old
    fails(await pd("getCurrencies", old), 404)
    status = ok(await pd("getProviderAccount", new), schemas.LinkStatus)
    assert status.orgId == XERO_NZ
    assert new in {r["linkId"] for r in await registered(sandbox)}


async def test_install_without_pipedrive_token_still_connects(client, make_user, flow):
    # A user with no Pipedrive install: the connect succeeds, the page offers to register.
    admin = await make_user(pipedrive_company_id=7001, pipedrive_user_id=101, is_admin=True)
    done = await flow.xero(admin)
    assert done.status_code == 200
    assert "Xero connected" in done.text
    assert 'id="register-error"' in done.text
    assert "Register with Pipedrive" in done.text


async def test_pipedrive_refusing_the_registration_does_not_fail_the_connect(
    client, contoso, flow, sandbox, sessionmaker, pd
):
    await sandbox.fault(kind="status", status=502, path=r"/api/v1/invoice/user/provider$", count=1)
    done = await flow.xero(contoso.user, email="colin@contoso.test", tenant_ids=(XERO_AU,))
    assert done.status_code == 200, done.text
    assert "Xero connected" in done.text
    assert 'id="register-error"' in done.text and "502" in done.text
    assert [r for r in await registered(sandbox) if r["company_id"] == 7002] == []
    link = await link_of(sessionmaker, contoso, "xero")
    # The link already answers; registering again from the page completes it.
    assert ok(await pd("getProviderAccount", link), schemas.LinkStatus).authorized is True
    again = await client.get(
        "/pipedrive/invoicing/register/xero", headers=contoso.headers, follow_redirects=False
    )
    assert again.status_code == 303
    assert [r["linkId"] for r in await registered(sandbox) if r["company_id"] == 7002] == [link]
