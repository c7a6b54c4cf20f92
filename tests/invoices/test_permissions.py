"""Permissions per role over the JSON API and the panel: every permission in both directions
(a role without it gets 403 naming it and nothing reaches the provider; with it, the request
goes through), the defaults (Sam Sales, a regular user, sees neither Approve nor Delete), the
admin's settings page, and one company's choices never reaching another."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import update

from app.db import utcnow
from app.tenants.models import CrmUser
from app.tenants.permissions import DEFAULTS, REGULAR, Permission
from tests.crm.pipedrive.conftest import sign_jwt
from tests.invoices.conftest import Company, installed
from tests.invoices.helpers import body, create, draft
from tests.invoices.test_credits import credit, made

PANEL = "/pipedrive/panel"
ACTIONS = {
    "SUBMITTED": "submit",
    "AUTHORISED": "approve",
    "VOIDED": "void",
    "DELETED": "delete",
    "EMAIL": "email",
}


@pytest.fixture
async def sam(client: Any, sandbox: Any, sessionmaker: Any, northwind: Company) -> Company:
    """Sam Sales (102), a regular user of Northwind, whose admin connected Xero and QuickBooks."""
    return await installed(client, sandbox, sessionmaker, 102)


async def set_role(client: Any, admin: Company, role: str, permissions: list[str]) -> None:
    response = await client.put(
        f"/api/v1/permissions/roles/{role}",
        json={"permissions": permissions},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text


async def xero_draft(client: Any, who: Company) -> dict[str, Any]:
    d = await draft(client, who.headers, 31, "xero")
    response = await create(client, who.headers, 31, body(d))
    assert response.status_code == 201, response.text
    return dict(response.json())


def act(client: Any, who: Company, row: str, action: str) -> Any:
    return client.post(
        f"/api/v1/deals/31/invoices/{row}/actions/{action}",
        headers={**who.headers, "Idempotency-Key": str(uuid.uuid4())},
    )


def refused(response: Any, permission: str) -> None:
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["code"] == "permission_denied" and error["field"] == permission
    assert f"lacks the {permission} permission" in error["message"]


def pipedrive_jwt_for(settings: Any, user_id: int) -> str:
    """Pipedrive's iframe JWT for a Northwind user (as tests/crm/pipedrive/conftest.py signs)."""
    now = int(time.time())
    secret = settings.pipedrive.jwt_secret or settings.pipedrive.client_secret
    claims = {"userId": user_id, "companyId": 7001, "iat": now, "exp": now + 300}
    return str(sign_jwt(secret, claims))


def formed(who: Company) -> dict[str, str]:
    return {**who.headers, "Content-Type": "application/x-www-form-urlencoded"}


def offered(invoice: dict[str, Any]) -> set[str]:
    return {a["id"] for a in invoice["actions"]}


async def test_defaults_regular_users_create_submit_email_link_admins_all(client, sam, northwind):
    mine = await client.get("/api/v1/permissions", headers=sam.headers)
    assert mine.json() == {
        "role": "set:ps-7001-regular",
        "permissions": sorted(p.value for p in DEFAULTS[REGULAR]),
    }
    admin = await client.get("/api/v1/permissions", headers=northwind.headers)
    assert admin.json()["role"] == "admin"
    assert set(admin.json()["permissions"]) == {p.value for p in Permission}
    # Only admins see and change every role's permissions.
    assert (await client.get("/api/v1/permissions/roles", headers=sam.headers)).status_code == 403
    roles = (await client.get("/api/v1/permissions/roles", headers=northwind.headers)).json()
    assert [r["role"] for r in roles] == ["admin", "regular", "set:ps-7001-regular"]
    denied = await client.put(
        "/api/v1/permissions/roles/regular", json={"permissions": []}, headers=sam.headers
    )
    assert denied.status_code == 403


async def test_sam_sales_sees_no_approve_or_delete_and_is_refused_them(client, sam, sandbox):
    invoice = await xero_draft(client, sam)
    # Xero offers both on a draft with a due date; Sam's role is offered neither.
    assert offered(invoice) >= {"SUBMITTED"}
    assert not offered(invoice) & {"AUTHORISED", "DELETED"}
    page = await client.get(PANEL, params={"selectedIds": "31"}, headers=sam.headers)
    assert page.status_code == 200
    assert 'data-action="SUBMITTED"' in page.text
    assert 'data-action="AUTHORISED"' not in page.text
    assert 'data-action="DELETED"' not in page.text
    assert "Create invoice" in page.text
    await sandbox.clear_requests()
    refused(await act(client, sam, invoice["id"], "AUTHORISED"), "approve")
    refused(await act(client, sam, invoice["id"], "DELETED"), "delete")
    # Refused before any call to Xero (the changelog's deal notes go to Pipedrive meanwhile).
    calls = await sandbox.requests()
    assert [r for r in calls if not r["path"].startswith("/pipedrive/")] == []
    submitted = await act(client, sam, invoice["id"], "SUBMITTED")
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["provider_status"] == "SUBMITTED"


@pytest.mark.parametrize("action", list(ACTIONS))
async def test_each_action_permission_both_ways(client, northwind, action):
    """Admins are restricted through their own role here, so every action is reachable: without
    the permission 403 naming it; with it, the provider's state decides (200 or 409)."""
    permission = ACTIONS[action]
    invoice = await xero_draft(client, northwind)
    everything = [p.value for p in Permission]
    await set_role(client, northwind, "admin", [p for p in everything if p != permission])
    refused(await act(client, northwind, invoice["id"], action), permission)
    listed = (await client.get("/api/v1/deals/31/invoices", headers=northwind.headers)).json()
    assert action not in offered(next(i for i in listed if i["id"] == invoice["id"]))
    await set_role(client, northwind, "admin", everything)
    allowed = await act(client, northwind, invoice["id"], action)
    assert allowed.status_code in (200, 409), allowed.text
    if allowed.status_code == 409:
        assert allowed.json()["error"]["code"] == "illegal_action"


async def test_create_permission_both_ways(client, sam, northwind):
    await set_role(client, northwind, "set:ps-7001-regular", ["submit"])
    d = await draft(client, sam.headers, 31, "xero")
    refused(await create(client, sam.headers, 31, body(d)), "create")
    page = await client.get(PANEL, params={"selectedIds": "31"}, headers=sam.headers)
    assert 'id="create-button"' not in page.text
    await set_role(client, northwind, "set:ps-7001-regular", ["create"])
    assert (await create(client, sam.headers, 31, body(d))).status_code == 201


async def test_link_and_unlink_permissions_both_ways(client, sam, northwind):
    contacts = await client.get(
        "/api/v1/providers/xero/contacts", params={"q": "Acme"}, headers=sam.headers
    )
    contact_id = contacts.json()[0]["id"]
    url = "/api/v1/providers/xero/links/organization/11"
    await set_role(client, northwind, "set:ps-7001-regular", ["unlink"])
    refused(await client.put(url, json={"contact_id": contact_id}, headers=sam.headers), "link")
    await set_role(client, northwind, "set:ps-7001-regular", ["link"])
    linked = await client.put(url, json={"contact_id": contact_id}, headers=sam.headers)
    assert linked.status_code == 200, linked.text
    refused(await client.delete(url, headers=sam.headers), "unlink")
    await set_role(client, northwind, "set:ps-7001-regular", ["unlink"])
    assert (await client.delete(url, headers=sam.headers)).status_code == 204


async def test_preferences_permission_both_ways(client, sam, northwind):
    saved = await client.get("/api/v1/preferences/xero", headers=northwind.headers)
    payload = {k: v for k, v in saved.json().items() if k in ("mappings", "due_date", "defaults")}
    response = await client.put("/api/v1/preferences/xero", json=payload, headers=sam.headers)
    refused(response, "preferences")
    await set_role(client, northwind, "set:ps-7001-regular", ["preferences"])
    response = await client.put("/api/v1/preferences/xero", json=payload, headers=sam.headers)
    assert response.status_code != 403, response.text


async def test_credit_permission_both_ways(client, sam, northwind):
    """Crediting asks the role's ``credit`` permission (admins by default), before any call;
    the panel's API offers it only to a role that has it."""
    invoice = await made(client, northwind.headers, "xero")
    payload = {"amount": "10.00"}
    assert (
        "credit"
        not in (await client.get("/api/v1/permissions", headers=sam.headers)).json()["permissions"]
    )
    listed = await client.get("/api/v1/deals/31/invoices", headers=sam.headers)
    [seen] = [i for i in listed.json() if i["id"] == invoice["id"]]
    assert seen["can_credit"] is False
    refused(await credit(client, sam.headers, invoice["id"], payload), "credit")
    await set_role(client, northwind, "regular", ["create", "credit"])
    await set_role(client, northwind, "set:ps-7001-regular", ["create", "credit"])
    mine = (await client.get("/api/v1/permissions", headers=sam.headers)).json()
    assert mine["permissions"] == ["create", "credit"]
    listed = await client.get("/api/v1/deals/31/invoices", headers=sam.headers)
    [seen] = [i for i in listed.json() if i["id"] == invoice["id"]]
    assert seen["can_credit"] is True
    done = await credit(client, sam.headers, invoice["id"], payload)
    assert done.status_code == 201, done.text
    # The admin keeps it whatever the regular role may.
    await set_role(client, northwind, "regular", ["create"])
    again = await credit(client, northwind.headers, invoice["id"], payload)
    assert again.status_code == 201, again.text


async def test_bad_roles_and_permissions_are_422(client, northwind):
    for role in ("owner", "set:", "set:a/b", "x" * 90):
        response = await client.put(
            f"/api/v1/permissions/roles/{role}", json={"permissions": []}, headers=northwind.headers
        )
        assert response.status_code in (404, 422), (role, response.status_code)
    bad = await client.put(
        "/api/v1/permissions/roles/regular",
        json={"permissions": ["fly"]},
        headers=northwind.headers,
    )
    assert bad.status_code == 422 and "permissions" in bad.text


async def test_a_companys_rules_stay_its_own(
    client, sam, northwind, contoso, sandbox, sessionmaker
):
    rita = await installed(client, sandbox, sessionmaker, 202)
    await set_role(client, contoso, "regular", [])
    await set_role(client, contoso, "set:ps-7001-regular", [])
    assert (await client.get("/api/v1/permissions", headers=rita.headers)).json()[
        "permissions"
    ] == []
    mine = (await client.get("/api/v1/permissions", headers=sam.headers)).json()
    assert "create" in mine["permissions"]
    roles = (await client.get("/api/v1/permissions/roles", headers=northwind.headers)).json()
    assert not any(r["customised"] for r in roles)


async def test_the_permissions_page_for_admins(client, sam, northwind):
    page = await client.get("/permissions", headers=northwind.headers)
    assert page.status_code == 200
    assert 'value="set:ps-7001-regular:approve"' in page.text
    assert (await client.get("/permissions", headers=sam.headers)).status_code == 403
    form = [("roles", "admin"), ("roles", "regular"), ("roles", "set:ps-7001-regular")]
    form += [("allow", f"admin:{p.value}") for p in Permission]
    form += [("allow", "set:ps-7001-regular:create"), ("allow", "set:ps-7001-regular:approve")]
    saved = await client.post("/permissions", content=urlencode(form), headers=formed(northwind))
    assert saved.status_code == 200 and 'id="permissions-saved"' in saved.text
    mine = (await client.get("/api/v1/permissions", headers=sam.headers)).json()
    assert mine["permissions"] == ["approve", "create"]
    regular = (await client.get("/api/v1/permissions/roles", headers=northwind.headers)).json()[1]
    assert regular["role"] == "regular" and regular["permissions"] == []
    bad = await client.post(
        "/permissions", content=urlencode([("roles", "owner")]), headers=formed(northwind)
    )
    assert bad.status_code == 422


async def test_a_stale_role_is_read_again_at_sign_in(
    client, sam, northwind, sessionmaker, settings
):
    """What we hold is older than 10 minutes and wrong (Sam made admin, no permission set):
    the panel's sign-in with Pipedrive's JWT reads users/me again and Sam is regular again."""
    async with sessionmaker() as session:
        await session.execute(
            update(CrmUser)
            .where(CrmUser.id == sam.user.id)
            .values(
                is_admin=True, permission_set_id=None, updated_at=utcnow() - timedelta(minutes=11)
            )
        )
        await session.commit()
    assert (await client.get("/api/v1/permissions", headers=sam.headers)).json()["role"] == "admin"
    jwt = pipedrive_jwt_for(settings, 102)
    page = await client.get(
        PANEL, params={"selectedIds": "31", "token": jwt, "userId": "102", "companyId": "7001"}
    )
    assert page.status_code == 200, page.text
    async with sessionmaker() as session:
        user = await session.get(CrmUser, sam.user.id)
        assert user is not None
        assert (user.is_admin, user.permission_set_id) == (False, "ps-7001-regular")
    mine = (await client.get("/api/v1/permissions", headers=sam.headers)).json()
    assert mine["role"] == "set:ps-7001-regular" and "approve" not in mine["permissions"]
    # Fresh now: the next sign-in reads nothing from Pipedrive.
    async with sessionmaker() as session:
        await session.execute(
            update(CrmUser).where(CrmUser.id == sam.user.id).values(is_admin=True)
        )
        await session.commit()
    await client.get(
        PANEL, params={"selectedIds": "31", "token": jwt, "userId": "102", "companyId": "7001"}
    )
    async with sessionmaker() as session:
        user = await session.get(CrmUser, sam.user.id)
        assert user is not None and user.is_admin is True
