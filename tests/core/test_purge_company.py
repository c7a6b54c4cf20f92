"""Vendor-side uninstall: `invoicing purge-company` deletes the company and revokes its
Pipedrive tokens (the app is uninstalled at Pipedrive) and its provider tokens."""

from __future__ import annotations

from sqlalchemy import select

from app.cli import main
from app.connections.models import ProviderConnection
from app.offboard import offboard_company
from app.tenants.models import Company, CrmUser
from tests.connections.conftest import Flow
from tests.crm.pipedrive.test_sandbox_flows import install_through_sandbox


async def test_purge_company_revokes_tokens_and_deletes_everything(
    client, sandbox, settings, sessionmaker, auth_headers
):
    flow = Flow(client, sandbox, auth_headers)
    await install_through_sandbox(client, sandbox, 101)
    async with sessionmaker() as session:
        company = (await session.execute(select(Company))).scalar_one()
        admin = (await session.execute(select(CrmUser))).scalar_one()
    await flow.arm_quickbooks()
    assert (await flow.quickbooks(admin)).status_code in (200, 303)

    done = await offboard_company(settings, str(company.pipedrive_company_id))
    assert done.company_name == company.name
    assert done.pipedrive_tokens_revoked == 1 and not done.pipedrive_revoke_failures
    async with sessionmaker() as session:
        assert (await session.execute(select(Company))).first() is None
        assert (await session.execute(select(ProviderConnection))).first() is None
    # At Pipedrive the install is revoked (uninstalled); at Intuit the token was revoked.
    installs = (await sandbox.http.get("/_sandbox/pipedrive/installs")).json()
    assert installs and all(g.get("revoked") for g in installs)
    assert await sandbox.requests("/v2/oauth2/tokens/revoke")


def test_purge_company_names_an_unknown_company(settings, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("APP_ENV", "test")
    assert main(["purge-company", "no-such-company"]) == 2
    assert "no company 'no-such-company'" in capsys.readouterr().err
