"""End to end against the sandbox's Pipedrive over real HTTP: install, preferences from live
field definitions, token refresh, isolation, and uninstall sent by Pipedrive."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select, update

from app.crm.pipedrive.models import PipedriveInstallation
from app.tenants.models import AuditEvent, Company
from app.tenants.service import company_tables
from tests.support.sessions import trade_handoff


@pytest.fixture(autouse=True)
def _fresh_field_cache(app):
    from app.crm.pipedrive.client import FieldDefinitionCache

    app.state.pipedrive_fields = FieldDefinitionCache()


async def install_through_sandbox(
    client, sandbox, user_id: int, keep_cookie: bool = False
) -> tuple[str, dict[str, str]]:
    """Our install link → the sandbox's consent (auto-approved) → our callback; the one-time
    code traded for a session (``keep_cookie``: and the page's reload cookie kept)."""
    approve = await sandbox.http.post("/_sandbox/pipedrive/auto-approve", json={"user_id": user_id})
    assert approve.status_code < 300, approve.text
    start = await client.get("/pipedrive/install")
    assert start.status_code == 302
    consent = await sandbox.http.get(start.headers["location"], follow_redirects=False)
    assert consent.status_code in (302, 303), consent.text
    back = urlsplit(consent.headers["location"])
    assert back.path == "/pipedrive/callback"
    assert "state" in parse_qs(back.query)
    done = await client.get(f"{back.path}?{back.query}")
    assert done.status_code == 303, done.text
    return await trade_handoff(client, done.headers["location"], keep_cookie)


async def field_key(client, headers, entity: str, name: str) -> str:
    fields = (await client.get("/api/v1/crm/fields", headers=headers)).json()
    return next(f["key"] for f in fields[entity] if f["name"] == name)


async def test_admin_installs_and_sets_preferences_from_live_fields(client, sandbox, sessionmaker):
    # As a browser: the code traded, the address cleaned, the page opened again (a reload).
    location, admin = await install_through_sandbox(client, sandbox, 101, keep_cookie=True)
    assert urlsplit(location).path == "/preferences"
    assert "setup=1" in location
    page = await client.get(location)
    assert page.status_code == 200
    assert "Set up invoicing in three steps" in page.text
    assert "VAT number (custom)" in page.text

    async with sessionmaker() as session:
        company = (await session.execute(select(Company))).scalar_one()
        assert (company.pipedrive_company_id, company.name) == (7001, "Northwind Traders")
        row = (await session.execute(select(PipedriveInstallation))).scalar_one()
        assert row.api_domain.endswith("/pipedrive/c/northwind")

    fields = (await client.get("/api/v1/crm/fields", headers=admin)).json()
    vat = next(f for f in fields["organization"] if f["name"] == "VAT number")
    assert vat["is_custom"] is True and len(vat["key"]) == 40
    assert any(f["name"] == "PO number" for f in fields["deal"])

    suggested = (await client.get("/api/v1/preferences/xero", headers=admin)).json()
    assert suggested["saved"] is False
    assert suggested["mapping"]["to"]["status"] == "ok"
    assert suggested["mapping"]["address"]["status"] == "ok"
    assert suggested["mapping"]["email"]["status"] == "ok"

    body = {
        "mapping": {
            "to": suggested["mapping"]["to"]
            and {"entity": "organization", "key": suggested["mapping"]["to"]["key"]},
            "address": {"entity": "organization", "key": suggested["mapping"]["address"]["key"]},
            "email": {"entity": "person", "key": suggested["mapping"]["email"]["key"]},
            "tax_id": {"entity": "organization", "key": vat["key"]},
        },
        "due_terms": {"rule": "days_after_invoice", "days": 7, "use_contact_terms": False},
    }
    saved = await client.put("/api/v1/preferences/xero", json=body, headers=admin)
    assert saved.status_code == 200, saved.text

    preview = await client.get(
        "/api/v1/preferences/xero/preview",
        params={"deal_id": 31, "invoice_date": "2026-03-13"},
        headers=admin,
    )
    assert preview.status_code == 200, preview.text
    out = preview.json()
    assert out["due_date"] == "2026-03-20"
    assert out["customer"]["to"] == "Acme Ltd"
    assert out["customer"]["email"] == "alice@acme.test"
    assert out["customer"]["tax_id"] == "NZ-123-456-789"
    assert "Queen Street" in out["customer"]["address"]
    assert "\n" in out["customer"]["address"]
    assert out["reference"] == "Acme rollout"

    # A deal without organization or person is warned about, not guessed.
    walk_in = await client.get(
        "/api/v1/preferences/xero/preview", params={"deal_id": 35}, headers=admin
    )
    assert walk_in.status_code == 200
    assert walk_in.json()["customer"]["to"] is None
    assert any("no organization" in w for w in walk_in.json()["warnings"])


async def test_deal_data_matches_the_seed(client, sandbox, app, sessionmaker):
    from app.crm.pipedrive.service import client_for

    await install_through_sandbox(client, sandbox, 101)
    async with sessionmaker() as session:
        row = (await session.execute(select(PipedriveInstallation))).scalar_one()
    api = client_for(app.state.http, app.state.settings, sessionmaker, row.id)
    data = await api.deal_data(31)
    assert data.deal.currency == "NZD"
    assert {p.name for p in data.products} >= {"Consulting hour", "Annual licence"}
    assert {data.catalog[p.product_id].code for p in data.products if p.product_id} == {
        "CONS-HR",
        "IMPL-PKG",
        "LIC-ANN",
    }
    assert data.person is not None and data.person.primary_email == "alice@acme.test"
    globex = await api.deal_data(32)
    assert [d.type for d in globex.discounts] == ["percentage"]


async def test_rep_install_and_isolation_between_companies(client, sandbox):
    location, rep = await install_through_sandbox(client, sandbox, 102)
    # The rep is first in the company but not an admin: the short page, no setup steps.
    assert urlsplit(location).path == "/pipedrive/installed"
    _, contoso = await install_through_sandbox(client, sandbox, 201)
    mine = await client.get(
        "/api/v1/preferences/xero/preview", params={"deal_id": 131}, headers=contoso
    )
    assert mine.status_code == 200, mine.text
    assert mine.json()["customer"]["to"] == "Acme Ltd"
    theirs = await client.get(
        "/api/v1/preferences/xero/preview", params={"deal_id": 31}, headers=contoso
    )
    assert theirs.status_code == 404
    nw_vat = await field_key(client, rep, "organization", "VAT number")
    contoso_vat = await field_key(client, contoso, "organization", "VAT number")
    assert nw_vat != contoso_vat
    body = {"mapping": {"tax_id": {"entity": "organization", "key": nw_vat}}}
    refused = await client.put("/api/v1/preferences/xero", json=body, headers=contoso)
    assert refused.status_code == 422
    assert "does not exist in Pipedrive" in refused.json()["error"]["message"]


async def test_expired_token_is_refreshed_through_the_sandbox(client, sandbox, sessionmaker):
    _, admin = await install_through_sandbox(client, sandbox, 101)
    async with sessionmaker() as session:
        row = (await session.execute(select(PipedriveInstallation))).scalar_one()
        old_token = row.access_token
        await session.execute(
            update(PipedriveInstallation).values(
                expires_at=datetime.now(UTC) - timedelta(minutes=1)
            )
        )
        await session.commit()
    await sandbox.clear_requests()
    response = await client.get("/api/v1/crm/fields", headers=admin)
    assert response.status_code == 200, response.text
    token_calls = [
        r for r in await sandbox.requests() if r.get("path", "").endswith("/oauth/token")
    ]
    assert len(token_calls) == 1
    async with sessionmaker() as session:
        row = (await session.execute(select(PipedriveInstallation))).scalar_one()
        assert row.access_token != old_token
        assert row.expires_at > datetime.now(UTC) + timedelta(minutes=30)


async def test_uninstall_sent_by_the_sandbox_purges_the_company(
    client, sandbox, app_server, sessionmaker
):
    _, nora = await install_through_sandbox(client, sandbox, 101)
    _, sam = await install_through_sandbox(client, sandbox, 102)
    _, colin = await install_through_sandbox(client, sandbox, 201)
    async with sessionmaker() as session:
        northwind = (
            await session.execute(select(Company).where(Company.pipedrive_company_id == 7001))
        ).scalar_one()
        contoso = (
            await session.execute(select(Company).where(Company.pipedrive_company_id == 7002))
        ).scalar_one()
    sam_leaves = await sandbox.http.post(
        "/_sandbox/pipedrive/uninstall", json={"user_id": 102, "company_id": 7001}
    )
    assert sam_leaves.status_code < 300, sam_leaves.text
    assert (await client.get("/api/v1/me", headers=sam)).status_code == 401
    assert (await client.get("/api/v1/me", headers=nora)).status_code == 200

    nora_leaves = await sandbox.http.post(
        "/_sandbox/pipedrive/uninstall", json={"user_id": 101, "company_id": 7001}
    )
    assert nora_leaves.status_code < 300, nora_leaves.text
    async with sessionmaker() as session:
        for table in company_tables():
            left = await session.scalar(
                select(func.count()).select_from(table).where(table.c.company_id == northwind.id)
            )
            assert left == 0, table.name
        assert await session.get(Company, northwind.id) is None
        assert await session.get(Company, contoso.id) is not None
        events = (await session.execute(select(AuditEvent))).scalars().all()
        # Northwind's trail went with it; one anonymous line records that a purge happened.
        assert not [e for e in events if e.pipedrive_company_id == 7001]
        assert not [e for e in events if e.company_id == northwind.id]
        purged = [e for e in events if e.action == "company.purged"]
        assert len(purged) == 1 and purged[0].pipedrive_company_id is None
    assert (await client.get("/api/v1/me", headers=colin)).status_code == 200
    # Pipedrive may repeat itself: nothing more happens.
    again = await sandbox.http.post(
        "/_sandbox/pipedrive/uninstall", json={"user_id": 101, "company_id": 7001}
    )
    assert again.status_code < 500


async def consent(client, sandbox, user_id: int, decision: str):
    """Answer the sandbox's consent page as a person would (its form, posted)."""
    start = await client.get("/pipedrive/install")
    page = await sandbox.http.get(start.headers["location"])
    assert page.status_code == 200 and "Allow and install" in page.text
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert action, "the consent page has a form"
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    assert form["state"] == parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
    form.update(user_id=str(user_id), decision=decision)
    answer = await sandbox.http.post(action.group(1), data=form, follow_redirects=False)
    assert answer.status_code in (302, 303), answer.text
    back = urlsplit(answer.headers["location"])
    return await client.get(f"{back.path}?{back.query}")


async def test_cancel_on_the_consent_page_stores_nothing(client, sandbox, sessionmaker):
    response = await consent(client, sandbox, 101, "cancel")
    assert response.status_code == 200
    assert "nothing was installed" in response.text
    async with sessionmaker() as session:
        assert (await session.execute(select(Company))).first() is None


async def test_allow_on_the_consent_page_installs(client, sandbox):
    response = await consent(client, sandbox, 202, "allow")
    assert response.status_code == 303
    assert urlsplit(response.headers["location"]).path == "/pipedrive/installed"
    page = await client.get(response.headers["location"])
    assert "You're set, Rita Rep" in page.text


async def iframe_query(sandbox, user_id: int, company_domain: str, deal_id: int) -> dict[str, str]:
    """The query the sandbox's deal page gives its embedded panel (signed like Pipedrive's)."""
    page = await sandbox.http.get(
        f"/pipedrive/c/{company_domain}/deal/{deal_id}", params={"user_id": user_id}
    )
    assert page.status_code == 200
    src = next(html.unescape(s) for s in re.findall(r'src="([^"]+)"', page.text) if "token=" in s)
    return {k: v[0] for k, v in parse_qs(urlsplit(src).query).items()}


async def test_jwt_signed_by_the_sandbox_signs_in_on_one_code_path(client, sandbox):
    await install_through_sandbox(client, sandbox, 101)
    query = await iframe_query(sandbox, 101, "northwind", 31)
    assert query["userId"] == "101" and query["companyId"] == "7001"
    page = await client.get(
        "/preferences",
        params={
            "userId": query["userId"],
            "companyId": query["companyId"],
            "token": query["token"],
        },
    )
    assert page.status_code == 200, page.text
    assert '<meta name="session-token"' in page.text
    exchanged = await client.post(
        "/api/v1/session", headers={"Authorization": f"Bearer {query['token']}"}
    )
    assert exchanged.status_code == 200
    assert exchanged.json()["user"]["pipedrive_user_id"] == 101
    # The same token presented as another user's page is refused.
    mismatch = await client.get(
        "/preferences", params={"userId": "102", "companyId": "7001", "token": query["token"]}
    )
    assert mismatch.status_code == 401
    # Rita (Contoso) has not installed: her own valid token does not sign her in.
    rita = await iframe_query(sandbox, 202, "contoso", 131)
    refused = await client.post(
        "/api/v1/session", headers={"Authorization": f"Bearer {rita['token']}"}
    )
    assert refused.status_code == 403
    assert "company 7002 has not installed" in refused.json()["error"]["message"]


async def test_429_and_5xx_from_the_sandbox_are_retried(client, sandbox):
    from app.crm.pipedrive.transport import budgets as windows

    _, admin = await install_through_sandbox(client, sandbox, 101)
    windows.clear()
    await sandbox.fault(kind="rate_limit", path=r"/api/v2/deals/31$", retry_after=1, count=1)
    await sandbox.fault(kind="status", status=502, path=r"/api/v2/organizations/11$", count=1)
    await sandbox.clear_requests()
    response = await client.get(
        "/api/v1/preferences/xero/preview", params={"deal_id": 31}, headers=admin
    )
    assert response.status_code == 200, response.text
    assert response.json()["customer"]["to"] == "Acme Ltd"
    paths = [r["path"] for r in await sandbox.requests()]
    assert sum(p.endswith("/api/v2/deals/31") for p in paths) == 2
    assert sum(p.endswith("/api/v2/organizations/11") for p in paths) == 2


async def test_a_long_rate_limit_is_a_clear_429(client, sandbox):
    from app.crm.pipedrive.transport import budgets as windows

    _, admin = await install_through_sandbox(client, sandbox, 101)
    windows.clear()
    await sandbox.fault(kind="rate_limit", path=r"/api/v2/deals/32$", retry_after=3600)
    try:
        response = await client.get(
            "/api/v1/preferences/xero/preview", params={"deal_id": 32}, headers=admin
        )
        assert response.status_code == 429
        assert "rate limit" in response.json()["error"]["message"]
        assert int(response.headers["retry-after"]) > 3000
    finally:
        await sandbox.clear_faults()
        windows.clear()
