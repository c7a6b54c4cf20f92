"""Uninstall: Basic-authenticated DELETE, per-user removal, company purge, audit, idempotence."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import func, select

from app.preferences.models import InvoicingPreference
from app.tenants.models import AuditEvent, Company, CrmUser
from app.tenants.service import company_tables, register_before_purge, unregister_before_purge


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def client_auth(settings) -> dict[str, str]:
    return basic(settings.pipedrive.client_id, settings.pipedrive.client_secret)


def notice(company_id, user_id) -> dict:
    return {
        "client_id": "whatever",
        "company_id": company_id,
        "user_id": user_id,
        "timestamp": "2026-11-24T03:00:00.000Z",
    }


async def _world(install, sessionmaker):
    """Two companies, each with an admin and a rep installed, and saved preferences."""
    a_admin, _ = await install(7001, 101, True)
    a_rep, _ = await install(7001, 102, False)
    b_admin, _ = await install(7002, 201, True)
    await install(7002, 202, False)
    async with sessionmaker() as session:
        for user in (a_admin, b_admin):
            session.add(
                InvoicingPreference(
                    company_id=user.company_id,
                    provider="xero",
                    due_rule="days_after_invoice",
                    due_days=7,
                    tax_mode="exclusive",
                    reference_template="{deal_title}",
                )
            )
        await session.commit()
    return a_admin, a_rep, b_admin


async def _counts(sessionmaker, company_id: str) -> dict[str, int]:
    async with sessionmaker() as session:
        counts = {}
        for table in company_tables():
            counts[table.name] = await session.scalar(
                select(func.count()).select_from(table).where(table.c.company_id == company_id)
            )
        counts["company"] = await session.scalar(
            select(func.count()).select_from(Company).where(Company.id == company_id)
        )
        return counts


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer x"},
        {"Authorization": "Basic !!!"},
        "wrong-secret",
        "wrong-id",
    ],
)
async def test_wrong_credentials_are_401_and_change_nothing(
    client, install, sessionmaker, settings, headers
):
    user, _ = await install()
    if headers == "wrong-secret":
        headers = basic(settings.pipedrive.client_id, "nope")
    elif headers == "wrong-id":
        headers = basic("someone-else", settings.pipedrive.client_secret)
    response = await client.request(
        "DELETE", "/pipedrive/callback", json=notice(7001, 101), headers=headers
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")
    assert (await _counts(sessionmaker, user.company_id))["crm_user"] == 1


async def test_one_user_leaving_keeps_the_company(
    client, install, sessionmaker, client_auth, auth_headers
):
    a_admin, a_rep, _ = await _world(install, sessionmaker)
    before = await _counts(sessionmaker, a_admin.company_id)
    response = await client.request(
        "DELETE", "/pipedrive/callback", json=notice("7001", "102"), headers=client_auth
    )
    assert response.status_code == 200
    assert response.json() == {"status": "uninstalled", "company_purged": False, "deleted": {}}
    after = await _counts(sessionmaker, a_admin.company_id)
    assert after["crm_user"] == before["crm_user"] - 1
    assert after["pipedrive_installation"] == before["pipedrive_installation"] - 1
    assert after["invoicing_preference"] == 1
    # The rep's sessions end with the install.
    assert (await client.get("/api/v1/me", headers=auth_headers(a_rep))).status_code == 401
    assert (await client.get("/api/v1/me", headers=auth_headers(a_admin))).status_code == 200


async def test_last_user_leaving_purges_every_row_of_the_company_only(
    client, install, sessionmaker, client_auth
):
    a_admin, _, b_admin = await _world(install, sessionmaker)
    other_before = await _counts(sessionmaker, b_admin.company_id)
    seen: list[tuple[int, int]] = []

    async def revoke_everything(session, company):
        # Hooks run before the deletion and can still read the company's rows.
        users = await session.scalar(
            select(func.count()).select_from(CrmUser).where(CrmUser.company_id == company.id)
        )
        seen.append((company.pipedrive_company_id, users))

    register_before_purge("test-revoke", revoke_everything)
    try:
        first = await client.request(
            "DELETE", "/pipedrive/callback", json=notice(7001, 102), headers=client_auth
        )
        assert first.json()["company_purged"] is False
        last = await client.request(
            "DELETE", "/pipedrive/callback", json=notice(7001, 101), headers=client_auth
        )
    finally:
        unregister_before_purge("test-revoke")
    assert last.status_code == 200
    body = last.json()
    assert body["company_purged"] is True
    assert body["deleted"]["invoicing_preference"] == 1
    assert body["deleted"]["company"] == 1
    assert seen == [(7001, 1)]  # the hook ran first and saw the company whole

    gone = await _counts(sessionmaker, a_admin.company_id)
    assert set(gone.values()) == {0}, gone
    assert await _counts(sessionmaker, b_admin.company_id) == other_before

    async with sessionmaker() as session:
        events = (await session.execute(select(AuditEvent).order_by(AuditEvent.at))).scalars().all()
    purged = [e for e in events if e.action == "company.purged"]
    assert len(purged) == 1
    # The one line left is anonymous: no company, user or Pipedrive id, counts only.
    assert (purged[0].company_id, purged[0].pipedrive_company_id) == (None, None)
    assert purged[0].actor_user_id is None
    assert purged[0].details["deleted"]["invoicing_preference"] == 1
    assert purged[0].details["deleted"]["audit_event"] == 1  # the rep's user.uninstalled
    assert "test-revoke" in purged[0].details["hooks"]
    # Counts and ids only: no names or emails in the audit trail.
    text = str([e.details for e in events])
    assert "@" not in text and "Ada" not in text
    assert a_admin.company_id not in text and "7001" not in text
    assert not [e for e in events if a_admin.company_id in (e.company_id, e.actor_user_id)]
    assert not [e for e in events if e.pipedrive_company_id == 7001]


async def test_failing_hook_is_recorded_and_data_still_deleted(
    client, install, sessionmaker, client_auth
):
    user, _ = await install()

    async def broken(session, company):
        raise RuntimeError("provider down")

    register_before_purge("test-broken", broken)
    try:
        response = await client.request(
            "DELETE", "/pipedrive/callback", json=notice(7001, 101), headers=client_auth
        )
    finally:
        unregister_before_purge("test-broken")
    assert response.json()["company_purged"] is True
    assert set((await _counts(sessionmaker, user.company_id)).values()) == {0}
    async with sessionmaker() as session:
        purged = (
            await session.execute(select(AuditEvent).where(AuditEvent.action == "company.purged"))
        ).scalar_one()
    assert purged.details["failed_hooks"] == ["test-broken"]


async def test_repeated_uninstall_is_a_no_op(client, install, client_auth):
    await install()
    first = await client.request(
        "DELETE", "/pipedrive/callback", json=notice(7001, 101), headers=client_auth
    )
    assert first.json()["company_purged"] is True
    again = await client.request(
        "DELETE", "/pipedrive/callback", json=notice(7001, 101), headers=client_auth
    )
    assert again.status_code == 200
    assert again.json() == {"status": "not_installed", "company_purged": False, "deleted": {}}
    unknown = await client.request(
        "DELETE", "/pipedrive/callback", json=notice(9999, 1), headers=client_auth
    )
    assert unknown.json()["status"] == "not_installed"


async def test_bad_body_is_400(client, client_auth):
    response = await client.request(
        "DELETE", "/pipedrive/callback", content=b"nope", headers=client_auth
    )
    assert response.status_code == 400
    response = await client.request(
        "DELETE", "/pipedrive/callback", json={"company_id": "x"}, headers=client_auth
    )
    assert response.status_code == 400
    assert "company_id" in response.text
