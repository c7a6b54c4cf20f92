"""The company's Pipedrive webhooks, end to end against the sandbox: registered at install (by a
job, retried when Pipedrive fails), delivered with the registered credentials into the inbox,
registered again when their install leaves, gone with the company."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

from sqlalchemy import select

from app.crm.pipedrive.models import PipedriveInstallation, PipedriveWebhook, WebhookState
from app.crm.pipedrive.subscriptions import REGISTER_JOB, SUBSCRIPTIONS, WEBHOOK_NAME
from app.tenants.models import Company
from app.webhooks.models import WebhookEvent
from app.worker.models import Job
from tests.crm.pipedrive.test_sandbox_flows import install_through_sandbox

OBJECTS = sorted(obj for obj, _ in SUBSCRIPTIONS)


async def eventually(check: Any, timeout: float = 15.0) -> Any:
    """Poll ``check()`` until it returns something truthy (jobs and deliveries are async)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still {value!r} after {timeout}s")
        await asyncio.sleep(0.1)


async def subscriptions(sandbox, company_id: int = 7001) -> list[dict[str, Any]]:
    response = await sandbox.http.get(
        "/_sandbox/pipedrive/webhooks", params={"company_id": company_id}
    )
    response.raise_for_status()
    hooks: list[dict[str, Any]] = response.json()
    return hooks


async def registered_rows(sessionmaker) -> list[PipedriveWebhook]:
    async with sessionmaker() as session:
        rows = (await session.scalars(select(PipedriveWebhook))).all()
    done = [r for r in rows if r.state == WebhookState.registered.value]
    return list(done) if len(done) == len(SUBSCRIPTIONS) else []


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def test_install_registers_the_companys_webhooks_once(
    client, sandbox, settings, sessionmaker
):
    await install_through_sandbox(client, sandbox, 101)
    rows = await eventually(lambda: registered_rows(sessionmaker))
    hooks = await subscriptions(sandbox)
    assert sorted(h["event_object"] for h in hooks) == OBJECTS
    by_object = {h["event_object"]: h for h in hooks}
    assert {r.event_object: r.webhook_id for r in rows} == {
        obj: h["id"] for obj, h in by_object.items()
    }
    for hook in hooks:
        assert hook["subscription_url"] == f"{settings.public_url}/webhooks/pipedrive"
        assert hook["name"] == WEBHOOK_NAME and hook["version"] == "2.0"
        assert hook["http_auth_user"] == settings.pipedrive.webhook_user
        assert hook["http_auth_password"] == settings.pipedrive.webhook_password
        assert hook["owner_id"] == 101
    assert by_object["deal"]["event_action"] == "*"

    # A second user's install, and a reinstall, register nothing more.
    await install_through_sandbox(client, sandbox, 102)
    await install_through_sandbox(client, sandbox, 101)
    await asyncio.sleep(0.5)
    assert len(await subscriptions(sandbox)) == len(SUBSCRIPTIONS)
    async with sessionmaker() as session:
        jobs = (await session.scalars(select(Job).where(Job.name == REGISTER_JOB))).all()
    assert len(jobs) == 1


async def test_a_deal_change_arrives_with_the_registered_credentials_and_is_stored(
    client, sandbox, settings, sessionmaker, app_server
):
    await install_through_sandbox(client, sandbox, 101)
    rows = await eventually(lambda: registered_rows(sessionmaker))
    deal_hook = next(r for r in rows if r.event_object == "deal")
    changed = await sandbox.http.patch("/_sandbox/pipedrive/deals/31", json={"status": "won"})
    assert changed.status_code == 200, changed.text

    async def stored() -> list[WebhookEvent]:
        async with sessionmaker() as session:
            return list(
                (
                    await session.scalars(
                        select(WebhookEvent).where(WebhookEvent.source == "pipedrive")
                    )
                ).all()
            )

    [event] = await eventually(stored)
    async with sessionmaker() as session:
        company = (await session.execute(select(Company))).scalar_one()
    assert (event.company_id, event.category, event.action) == (company.id, "deal", "change")
    assert event.resource_id == "31"
    assert (
        event.payload["data"]["status"] == "won" and event.payload["previous"]["status"] == "open"
    )

    [delivery] = await sandbox.webhooks("pipedrive")
    assert delivery["delivered"] is True
    assert delivery["headers"]["authorization"] == basic(
        settings.pipedrive.webhook_user, settings.pipedrive.webhook_password
    )
    assert json.loads(delivery["body"])["meta"]["webhook_id"] == str(deal_hook.webhook_id)


async def test_wrong_credentials_get_401_and_nothing_is_stored(client, settings, sessionmaker):
    body = {
        "meta": {"id": "e-1", "action": "change", "entity": "deal", "company_id": "7001"},
        "data": {"id": 31},
        "previous": {},
    }
    for authorization in (
        basic(settings.pipedrive.webhook_user, "not-the-password"),
        basic("someone-else", settings.pipedrive.webhook_password),
        None,
    ):
        headers = {"authorization": authorization} if authorization else {}
        answer = await client.post("/webhooks/pipedrive", json=body, headers=headers)
        assert answer.status_code == 401
    async with sessionmaker() as session:
        assert (await session.scalars(select(WebhookEvent))).all() == []


async def test_a_refused_registration_does_not_fail_the_install_and_is_retried(
    client, sandbox, sessionmaker
):
    await sandbox.fault(kind="status", status=503, path="/v1/webhooks$", method="POST", count=2)
    location, headers = await install_through_sandbox(client, sandbox, 101)
    assert location.startswith("/preferences")
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
    await eventually(lambda: registered_rows(sessionmaker))
    assert sorted(h["event_object"] for h in await subscriptions(sandbox)) == OBJECTS
    async with sessionmaker() as session:
        [job] = (await session.scalars(select(Job).where(Job.name == REGISTER_JOB))).all()
    assert job.attempts >= 3 and job.status == "done"


async def test_an_install_without_the_admin_scope_records_why(client, sandbox, sessionmaker):
    approve = await sandbox.http.post(
        "/_sandbox/pipedrive/auto-approve",
        json={"user_id": 101, "scope": "base,deals:read,products:read,contacts:read"},
    )
    assert approve.status_code == 200
    start = await client.get("/pipedrive/install")
    consent = await sandbox.http.get(start.headers["location"], follow_redirects=False)
    back = consent.headers["location"]
    done = await client.get(back[back.index("/pipedrive/callback") :])
    assert done.status_code == 303
    async with sessionmaker() as session:
        jobs = (await session.scalars(select(Job).where(Job.name == REGISTER_JOB))).all()
    # Pipedrive would refuse: nothing is attempted until an install with the scope comes.
    assert jobs == []
    assert await subscriptions(sandbox) == []


async def test_the_registering_users_uninstall_moves_them_to_another_install(
    client, sandbox, sessionmaker, app_server
):
    await install_through_sandbox(client, sandbox, 101)
    await eventually(lambda: registered_rows(sessionmaker))
    await install_through_sandbox(client, sandbox, 102)
    nora_leaves = await sandbox.http.post(
        "/_sandbox/pipedrive/uninstall", json={"user_id": 101, "company_id": 7001}
    )
    assert nora_leaves.json()["removed_webhooks"] == len(SUBSCRIPTIONS)
    assert nora_leaves.json()["status"] == 200

    async def moved() -> list[dict[str, Any]]:
        hooks = await subscriptions(sandbox)
        return hooks if len(hooks) == len(SUBSCRIPTIONS) else []

    hooks = await eventually(moved)
    assert {h["owner_id"] for h in hooks} == {102}
    rows = await eventually(lambda: registered_rows(sessionmaker))
    assert {r.webhook_id for r in rows} == {h["id"] for h in hooks}


async def test_the_last_uninstall_leaves_no_webhooks(client, sandbox, sessionmaker, app_server):
    await install_through_sandbox(client, sandbox, 101)
    await eventually(lambda: registered_rows(sessionmaker))
    leaves = await sandbox.http.post(
        "/_sandbox/pipedrive/uninstall", json={"user_id": 101, "company_id": 7001}
    )
    assert leaves.json()["status"] == 200
    assert await subscriptions(sandbox) == []
    async with sessionmaker() as session:
        assert (await session.scalars(select(PipedriveWebhook))).all() == []


async def test_a_purge_while_the_token_still_works_deletes_them_at_pipedrive(
    client, sandbox, settings, sessionmaker
):
    """Whether tokens still work when the uninstall notice arrives is UNCONFIRMED: when they
    do, the purge deletes the subscriptions itself."""
    await install_through_sandbox(client, sandbox, 101)
    await eventually(lambda: registered_rows(sessionmaker))
    async with sessionmaker() as session:
        assert (await session.scalars(select(PipedriveInstallation))).one()
    notice = await client.request(
        "DELETE",
        "/pipedrive/callback",
        json={"client_id": settings.pipedrive.client_id, "company_id": 7001, "user_id": 101},
        headers={
            "authorization": basic(settings.pipedrive.client_id, settings.pipedrive.client_secret)
        },
    )
    assert notice.status_code == 200 and notice.json()["company_purged"] is True
    assert await subscriptions(sandbox) == []


async def test_the_install_offer_says_why_each_scope_is_asked(client):
    home = await client.get("/")
    assert home.status_code == 200
    assert "<code>admin</code>" in home.text
    assert (
        "to register the webhooks that tell us when a deal, its products or a product change"
        in home.text
    )
    denied = await client.get("/pipedrive/callback", params={"error": "user_denied"})
    assert "<code>admin</code>" in denied.text and "<code>deals:full</code>" in denied.text
