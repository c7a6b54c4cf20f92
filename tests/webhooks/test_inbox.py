"""The inbox over real HTTP: signatures, Intent to Receive, dedupe, unknown tenants, bodies."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from app.connections.models import ProviderConnection
from app.providers.webhook_sig import sign
from app.webhooks.models import WebhookEvent
from app.worker.models import Job


async def connect(sessionmaker: Any, user: Any, provider: str, tenant: str) -> None:
    async with sessionmaker() as session:
        session.add(
            ProviderConnection(company_id=user.company_id, provider=provider, tenant_id=tenant)
        )
        await session.commit()


async def count(sessionmaker: Any, model: Any, *where: Any) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def xero_body(tenant: str, *events: tuple[str, str]) -> bytes:
    return json.dumps(
        {
            "events": [
                {
                    "resourceUrl": f"https://api.xero.com/api.xro/2.0/Invoices/{rid}",
                    "resourceId": rid,
                    "eventDateUtc": stamp,
                    "eventType": "UPDATE",
                    "eventCategory": "INVOICE",
                    "tenantId": tenant,
                    "tenantType": "ORGANISATION",
                }
                for rid, stamp in events
            ],
            "firstEventSequence": 1,
            "lastEventSequence": len(events),
            "entropy": "S0m3r4Nd0mt3xt",
        }
    ).encode()


async def post_xero(client: Any, settings: Any, body: bytes, key: str | None = None) -> Any:
    signature = sign(body, key if key is not None else settings.xero.webhook_key)
    return await client.post(
        "/webhooks/xero", content=body, headers={"x-xero-signature": signature}
    )


async def test_xero_intent_to_receive_both_ways(
    client: Any, settings: Any, sessionmaker: Any
) -> None:
    itr = json.dumps(
        {"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": "X"}
    ).encode()
    good = await post_xero(client, settings, itr)
    assert good.status_code == 200 and good.content == b""
    bad = await post_xero(client, settings, itr, key="not-the-key")
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "bad_signature"
    missing = await client.post("/webhooks/xero", content=itr)
    assert missing.status_code == 401
    assert await count(sessionmaker, WebhookEvent) == 0


async def test_signed_xero_events_are_stored_once_and_each_gets_a_job(
    client: Any, settings: Any, sessionmaker: Any, make_user: Any
) -> None:
    user = await make_user()
    tenant = str(uuid.uuid4())
    await connect(sessionmaker, user, "xero", tenant)
    inv = str(uuid.uuid4())
    body = xero_body(tenant, (inv, "2026-12-04T10:00:00.000"), (inv, "2026-12-04T10:00:00.000"))
    assert (await post_xero(client, settings, body)).status_code == 200
    # The same delivery again (Xero retries on any non-2xx or timeout).
    assert (await post_xero(client, settings, body)).status_code == 200
    assert await count(sessionmaker, WebhookEvent, WebhookEvent.resource_id == inv) == 1
    assert await count(sessionmaker, Job, Job.name == "webhooks.process") == 1
    later = xero_body(tenant, (inv, "2026-12-04T10:05:00.000"))
    assert (await post_xero(client, settings, later)).status_code == 200
    assert await count(sessionmaker, WebhookEvent, WebhookEvent.resource_id == inv) == 2
    async with sessionmaker() as session:
        row = (await session.scalars(select(WebhookEvent).limit(1))).one()
    assert row.company_id == user.company_id and row.category == "INVOICE"


async def test_a_bad_signature_stores_nothing(
    client: Any, settings: Any, sessionmaker: Any, make_user: Any
) -> None:
    user = await make_user()
    tenant = str(uuid.uuid4())
    await connect(sessionmaker, user, "xero", tenant)
    body = xero_body(tenant, (str(uuid.uuid4()), "2026-12-04T10:00:00.000"))
    tampered = body.replace(b"UPDATE", b"CREATE")
    response = await client.post(
        "/webhooks/xero",
        content=tampered,
        headers={"x-xero-signature": sign(body, settings.xero.webhook_key)},
    )
    assert response.status_code == 401
    assert await count(sessionmaker, WebhookEvent) == 0
    assert await count(sessionmaker, Job, Job.name == "webhooks.process") == 0


async def test_an_unknown_tenant_gets_200_and_is_dropped(
    client: Any, settings: Any, sessionmaker: Any
) -> None:
    body = xero_body(str(uuid.uuid4()), (str(uuid.uuid4()), "2026-12-04T10:00:00.000"))
    response = await post_xero(client, settings, body)
    assert response.status_code == 200
    assert await count(sessionmaker, WebhookEvent) == 0


@pytest.mark.parametrize("raw", [b"not json", b"[1,2]", b'{"no":"events"}'])
async def test_a_malformed_but_signed_body_is_400_and_stores_nothing(
    client: Any, settings: Any, sessionmaker: Any, raw: bytes
) -> None:
    response = await post_xero(client, settings, raw)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_webhook"
    assert await count(sessionmaker, WebhookEvent) == 0


def cloud_events(realm: str, *items: tuple[str, str, str]) -> bytes:
    return json.dumps(
        [
            {
                "specversion": "1.0",
                "id": event_id,
                "source": "intuit.dsnBgbseACLLRZNxo2dfc4evmEJdxde58xeeYcZliOU=",
                "type": kind,
                "datacontenttype": "application/json",
                "time": "2026-12-04T10:00:00.000Z",
                "intuitentityid": entity_id,
                "intuitaccountid": realm,
                "data": {},
            }
            for event_id, kind, entity_id in items
        ]
    ).encode()


async def post_qbo(client: Any, settings: Any, body: bytes, token: str | None = None) -> Any:
    signature = sign(
        body, token if token is not None else settings.quickbooks.webhook_verifier_token
    )
    return await client.post(
        "/webhooks/quickbooks", content=body, headers={"intuit-signature": signature}
    )


async def test_quickbooks_cloudevents_for_two_companies_in_one_delivery(
    client: Any, settings: Any, sessionmaker: Any, make_user: Any
) -> None:
    first = await make_user(pipedrive_company_id=1001)
    second = await make_user(pipedrive_company_id=1002, pipedrive_user_id=2)
    await connect(sessionmaker, first, "quickbooks", "9130001")
    await connect(sessionmaker, second, "quickbooks", "9130002")
    body = cloud_events("9130001", ("e1", "qbo.invoice.updated.v1", "130"))
    other = json.loads(cloud_events("9130002", ("e2", "qbo.payment.created.v1", "77")))
    merged = json.dumps(json.loads(body) + other).encode()
    assert (await post_qbo(client, settings, merged)).status_code == 200
    assert (await post_qbo(client, settings, merged)).status_code == 200
    async with sessionmaker() as session:
        rows = (await session.scalars(select(WebhookEvent).order_by(WebhookEvent.dedupe_key))).all()
    assert [(r.company_id, r.category, r.action, r.resource_id) for r in rows] == [
        (first.company_id, "Invoice", "Update", "130"),
        (second.company_id, "Payment", "Create", "77"),
    ]
    assert (await post_qbo(client, settings, merged, token="wrong")).status_code == 401


async def test_quickbooks_legacy_notifications_are_accepted(
    client: Any, settings: Any, sessionmaker: Any, make_user: Any
) -> None:
    user = await make_user()
    await connect(sessionmaker, user, "quickbooks", "4620816365")
    body = json.dumps(
        {
            "eventNotifications": [
                {
                    "realmId": "4620816365",
                    "dataChangeEvent": {
                        "entities": [
                            {
                                "name": "Invoice",
                                "id": "145",
                                "operation": "Update",
                                "lastUpdated": "2026-12-04T10:00:00.000Z",
                            },
                            {
                                "name": "Payment",
                                "id": "9",
                                "operation": "Create",
                                "lastUpdated": "2026-12-04T10:00:01.000Z",
                            },
                        ]
                    },
                }
            ]
        }
    ).encode()
    assert (await post_qbo(client, settings, body)).status_code == 200
    assert await count(sessionmaker, WebhookEvent, WebhookEvent.source == "quickbooks") == 2


def pipedrive_body(company: int, event_id: str) -> bytes:
    return json.dumps(
        {
            "meta": {
                "action": "change",
                "entity": "deal",
                "company_id": str(company),
                "entity_id": "31",
                "id": event_id,
                "timestamp": "2026-12-04T10:00:00.000Z",
                "version": "2.0",
                "user_id": "101",
            },
            "data": {"id": 31, "status": "won", "title": "Acme rollout"},
            "previous": {"status": "open"},
        }
    ).encode()


async def test_pipedrive_webhooks_need_the_registered_basic_credentials(
    client: Any, settings: Any, sessionmaker: Any, make_user: Any
) -> None:
    await make_user(pipedrive_company_id=1001)
    body = pipedrive_body(1001, str(uuid.uuid4()))
    user, password = settings.pipedrive.webhook_user, settings.pipedrive.webhook_password
    good = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    bad = "Basic " + base64.b64encode(f"{user}:nope".encode()).decode()
    assert (await client.post("/webhooks/pipedrive", content=body)).status_code == 401
    assert (
        await client.post("/webhooks/pipedrive", content=body, headers={"authorization": bad})
    ).status_code == 401
    assert await count(sessionmaker, WebhookEvent) == 0
    ok = await client.post("/webhooks/pipedrive", content=body, headers={"authorization": good})
    assert ok.status_code == 200
    async with sessionmaker() as session:
        row = (await session.scalars(select(WebhookEvent))).one()
    # Only what rules need is kept of the deal, not its title.
    assert row.payload["data"] == {"id": 31, "status": "won"}
    assert row.payload["previous"] == {"status": "open"}
    broken = await client.post(
        "/webhooks/pipedrive", content=b'{"meta": {}}', headers={"authorization": good}
    )
    assert broken.status_code == 400


async def test_admins_see_their_own_company_events_only(
    client: Any, settings: Any, sessionmaker: Any, make_user: Any, auth_headers: Any
) -> None:
    admin = await make_user(pipedrive_company_id=1001)
    rep = await make_user(pipedrive_company_id=1001, pipedrive_user_id=5, is_admin=False)
    stranger = await make_user(pipedrive_company_id=1002, pipedrive_user_id=9)
    tenant = str(uuid.uuid4())
    await connect(sessionmaker, admin, "xero", tenant)
    body = xero_body(tenant, (str(uuid.uuid4()), "2026-12-04T10:00:00.000"))
    assert (await post_xero(client, settings, body)).status_code == 200
    mine = await client.get("/api/v1/webhooks/events", headers=auth_headers(admin))
    assert mine.status_code == 200 and len(mine.json()) == 1
    assert mine.json()[0]["source"] == "xero"
    theirs = await client.get("/api/v1/webhooks/events", headers=auth_headers(stranger))
    assert theirs.status_code == 200 and theirs.json() == []
    assert (
        await client.get("/api/v1/webhooks/events", headers=auth_headers(rep))
    ).status_code == 403
    bad = await client.get("/api/v1/webhooks/events?limit=0", headers=auth_headers(admin))
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "limit"


async def test_a_delivery_of_many_events_is_stored_in_one_go_with_one_job_per_hundred(
    client: Any, settings: Any, sessionmaker: Any, make_user: Any
) -> None:
    user = await make_user()
    tenant = str(uuid.uuid4())
    await connect(sessionmaker, user, "xero", tenant)
    ids = [(str(uuid.uuid4()), "2026-12-04T10:00:00.000") for _ in range(150)]
    assert (await post_xero(client, settings, xero_body(tenant, *ids))).status_code == 200
    assert await count(sessionmaker, WebhookEvent) == 150
    assert await count(sessionmaker, Job, Job.name == "webhooks.process") == 2


async def test_admins_see_their_company_s_parked_jobs_with_the_last_error(
    client: Any, sessionmaker: Any, make_user: Any, auth_headers: Any
) -> None:
    admin = await make_user(pipedrive_company_id=1001)
    stranger = await make_user(pipedrive_company_id=1002, pipedrive_user_id=9)
    async with sessionmaker() as session:
        session.add(
            Job(
                company_id=admin.company_id,
                name="invoices.catch_up",
                args={"connection_id": "c"},
                status="parked",
                attempts=8,
                last_error="ProviderUnavailable: Xero answered 503",
            )
        )
        await session.commit()
    mine = await client.get(
        "/api/v1/webhooks/jobs", params={"status": "parked"}, headers=auth_headers(admin)
    )
    assert mine.status_code == 200
    [job] = mine.json()
    assert job["attempts"] == 8 and "503" in job["last_error"]
    theirs = await client.get("/api/v1/webhooks/jobs", headers=auth_headers(stranger))
    assert theirs.json() == []
    bad = await client.get(
        "/api/v1/webhooks/jobs", params={"status": "lost"}, headers=auth_headers(admin)
    )
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "status"


async def test_every_stored_event_is_settled_even_those_no_domain_uses(
    client: Any, settings: Any, sessionmaker: Any, make_user: Any
) -> None:
    import asyncio

    user = await make_user()
    tenant = str(uuid.uuid4())
    await connect(sessionmaker, user, "xero", tenant)
    body = json.loads(xero_body(tenant, *[(str(uuid.uuid4()), "2026-12-04T10:00:00.000")] * 1))
    contact = dict(body["events"][0], eventCategory="CONTACT", resourceId=str(uuid.uuid4()))
    body["events"].insert(0, contact)
    raw = json.dumps(body).encode()
    assert (await post_xero(client, settings, raw)).status_code == 200
    for _ in range(100):
        if await count(sessionmaker, WebhookEvent, WebhookEvent.status == "received") == 0:
            break
        await asyncio.sleep(0.05)
    async with sessionmaker() as session:
        rows = {r.category: r for r in (await session.scalars(select(WebhookEvent))).all()}
    assert rows["CONTACT"].status == "ignored" and "no use for CONTACT" in rows["CONTACT"].outcome
    assert (
        rows["INVOICE"].status == "ignored"
        and "not an invoice created here" in rows["INVOICE"].outcome
    )
