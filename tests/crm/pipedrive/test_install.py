"""Install through OAuth: approve, deny, Marketplace-started, re-install, bad state."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from app.crm.pipedrive.models import PipedriveInstallation
from app.tenants.models import AuditEvent, Company, CrmUser


async def start(client) -> str:
    response = await client.get("/pipedrive/install")
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    query = parse_qs(location.query)
    assert location.path.endswith("/oauth/authorize")
    assert query["redirect_uri"][0].endswith("/pipedrive/callback")
    return query["state"][0]


async def test_admin_install_lands_on_preferences_with_setup_steps(
    client, fake_pipedrive, sessionmaker
):
    state = await start(client)
    response = await client.get("/pipedrive/callback", params={"code": "code-101", "state": state})
    assert response.status_code == 303, response.text
    target = urlsplit(response.headers["location"])
    assert target.path == "/preferences"
    query = parse_qs(target.query)
    assert query["setup"] == ["1"] and query["installed"] == ["1"]

    page = await client.get(response.headers["location"])
    assert page.status_code == 200
    assert "Set up invoicing in three steps" in page.text
    assert '<meta name="session-token"' in page.text

    async with sessionmaker() as session:
        company = (await session.execute(select(Company))).scalar_one()
        assert (company.pipedrive_company_id, company.name, company.domain) == (
            7001,
            "Northwind Traders",
            "northwind",
        )
        user = (await session.execute(select(CrmUser))).scalar_one()
        assert (user.pipedrive_user_id, user.is_admin, user.email) == (
            101,
            True,
            "nora@northwind.test",
        )
        row = (await session.execute(select(PipedriveInstallation))).scalar_one()
        assert row.access_token.startswith("v1u:token-101")
        assert row.api_domain == "https://pd.test/c/northwind"
        assert "deals:read" in row.scopes
        # At rest the token is ciphertext, not the token.
        raw = await session.execute(
            select(PipedriveInstallation.__table__.c.access_token).execution_options()
        )
        assert raw.scalar_one()  # decrypts through the type; ciphertext checked below
        from sqlalchemy import text

        cipher = (
            await session.execute(text("SELECT access_token FROM pipedrive_installation"))
        ).scalar_one()
        assert "v1u:" not in cipher
        actions = (await session.execute(select(AuditEvent.action))).scalars().all()
        assert actions == ["user.installed"]


async def test_rep_install_gets_the_you_are_set_page(client, fake_pipedrive):
    first = await client.get(
        "/pipedrive/callback", params={"code": "code-101", "state": await start(client)}
    )
    assert "setup=1" in first.headers["location"]
    response = await client.get(
        "/pipedrive/callback", params={"code": "code-102", "state": await start(client)}
    )
    assert response.status_code == 303
    assert urlsplit(response.headers["location"]).path == "/pipedrive/installed"
    page = await client.get(response.headers["location"])
    assert page.status_code == 200
    assert "You're set, Sam Sales" in page.text


async def test_second_admin_does_not_get_setup_steps_and_reinstall_updates(
    client, fake_pipedrive, sessionmaker
):
    await client.get(
        "/pipedrive/callback", params={"code": "code-101", "state": await start(client)}
    )
    again = await client.get(
        "/pipedrive/callback", params={"code": "code-101", "state": await start(client)}
    )
    assert again.status_code == 303
    assert "setup=1" not in again.headers["location"]  # re-install: this admin was first already
    async with sessionmaker() as session:
        rows = (await session.execute(select(PipedriveInstallation))).scalars().all()
        assert len(rows) == 1
        assert rows[0].access_token.endswith("-1")  # the second token replaced the first
        assert rows[0].token_version == 2
        actions = (await session.execute(select(AuditEvent.action))).scalars().all()
        assert sorted(actions) == ["user.installed", "user.reinstalled"]


async def test_marketplace_started_install_without_state(client, fake_pipedrive, sessionmaker):
    response = await client.get("/pipedrive/callback", params={"code": "code-201"})
    assert response.status_code == 303
    async with sessionmaker() as session:
        company = (await session.execute(select(Company))).scalar_one()
        assert company.pipedrive_company_id == 7002


async def test_user_denied_stores_nothing(client, fake_pipedrive, sessionmaker):
    response = await client.get(
        "/pipedrive/callback", params={"error": "user_denied", "state": await start(client)}
    )
    assert response.status_code == 200
    assert "nothing was installed" in response.text
    async with sessionmaker() as session:
        assert (await session.execute(select(Company))).first() is None
    assert not any("oauth/token" in r for r in fake_pipedrive.requests)


async def test_forged_expired_or_reused_state_is_refused(client, fake_pipedrive, sessionmaker):
    forged = await client.get(
        "/pipedrive/callback", params={"code": "code-101", "state": "abc.def"}
    )
    assert forged.status_code == 400
    assert "invalid or has expired" in forged.text
    state = await start(client)
    ok = await client.get("/pipedrive/callback", params={"code": "code-101", "state": state})
    assert ok.status_code == 303
    reused = await client.get("/pipedrive/callback", params={"code": "code-101", "state": state})
    assert reused.status_code == 400
    assert "already been used" in reused.text


async def test_bad_code_is_a_clear_error_and_stores_nothing(client, fake_pipedrive, sessionmaker):
    response = await client.get(
        "/pipedrive/callback", params={"code": "nope", "state": await start(client)}
    )
    assert response.status_code == 409
    assert "Pipedrive refused to accept the authorization code" in response.text
    async with sessionmaker() as session:
        assert (await session.execute(select(Company))).first() is None
    missing = await client.get("/pipedrive/callback")
    assert missing.status_code == 400


async def test_the_install_redirect_carries_a_one_time_code_not_a_session(client, fake_pipedrive):
    response = await client.get(
        "/pipedrive/callback", params={"code": "code-101", "state": await start(client)}
    )
    assert response.status_code == 303
    location = response.headers["location"]
    query = parse_qs(urlsplit(location).query)
    assert "session" not in query and "session=" not in location
    assert set(query) == {"handoff", "installed", "setup"}

    page = await client.get(location)
    assert page.status_code == 200
    assert "crm_invoicing_page=" in page.headers["set-cookie"]  # F5 signs in again
    client.cookies.clear()
    replay = await client.get(location)  # the address, copied before the page cleaned it
    assert replay.status_code == 401
    assert "already been used" in replay.text

    rep = await client.get(
        "/pipedrive/callback", params={"code": "code-102", "state": await start(client)}
    )
    assert "session" not in parse_qs(urlsplit(rep.headers["location"]).query)
    assert "handoff" in parse_qs(urlsplit(rep.headers["location"]).query)


async def test_an_install_we_started_is_refused_when_it_returns_without_state(
    client, fake_pipedrive, sessionmaker
):
    await start(client)  # our install: this browser now carries the marker it started here
    stripped = await client.get("/pipedrive/callback", params={"code": "code-101"})
    assert stripped.status_code == 400
    assert "state" in stripped.text
    async with sessionmaker() as session:
        assert (await session.execute(select(Company))).first() is None
    assert not any("oauth/token" in r for r in fake_pipedrive.requests)
    # The refusal drops the marker, so a Marketplace install from this browser still works.
    retried = await client.get("/pipedrive/callback", params={"code": "code-201"})
    assert retried.status_code == 303, retried.text


async def test_a_completed_install_drops_the_marker(client, fake_pipedrive):
    state = await start(client)
    ok = await client.get("/pipedrive/callback", params={"code": "code-101", "state": state})
    assert ok.status_code == 303
    # Later, the Marketplace listing's own install (no state) from the same browser is fine.
    market = await client.get("/pipedrive/callback", params={"code": "code-201"})
    assert market.status_code == 303, market.text
