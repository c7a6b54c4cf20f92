"""Parts 3 and 4 of bench/sync.py: provider calls per catch-up, and many connections caught up
through the job machinery under the stand-ins' per-tenant limits."""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from datetime import timedelta
from typing import Any

import httpx2
from sqlalchemy import func, select, update

from app.connections.dependencies import tokens_of
from app.connections.models import ProviderConnection
from app.db import utcnow
from app.invoices.flows.sync import catch_up
from app.tenants.models import Company
from app.worker.models import Job
from app.worker.outbox import enqueue
from bench._sync_world import (
    QBO_REALM,
    XERO_NZ,
    Setup,
    World,
    clone_invoices,
    connection_of,
    sandbox_now,
)

TENANTS = {"xero": XERO_NZ, "quickbooks": QBO_REALM}

# ---------------------------------------------------------------- 3. calls per catch-up


async def catch_up_calls(
    world: World, sandbox: httpx2.AsyncClient, setup: Setup, provider: str, changed: int
) -> dict[str, Any]:
    """One catch-up over ``changed`` of our invoices changed at the provider, and the
    stand-in's requests for it."""
    # Earlier changes fall out of the window (the catch-up re-reads one minute before its
    # last sync), and the rate windows start afresh.
    await sandbox.post("/_sandbox/clock/advance", json={"seconds": 180})
    moment = await sandbox_now(sandbox)
    await clone_invoices(world, provider, setup.invoices[provider]["id"], changed, moment)
    connection = await connection_of(world, provider, TENANTS[provider])
    async with world.db() as session:
        await session.execute(
            update(ProviderConnection)
            .where(ProviderConnection.id == connection.id)
            .values(synced_until=moment - timedelta(seconds=5))
        )
        await session.commit()
    await sandbox.delete("/_sandbox/requests")
    async with httpx2.AsyncClient(timeout=60) as http, world.db() as session:
        fresh = await session.get(ProviderConnection, connection.id)
        assert fresh is not None
        started = time.perf_counter()
        report = await catch_up(tokens_of(world.state(http)), session, fresh)
        await session.commit()
        wall = time.perf_counter() - started
    log = (await sandbox.get("/_sandbox/requests", params={"path": f"/{provider}/"})).json()
    api = [r for r in log if "/api/" in r["path"]]
    return {
        "calls": len(api),
        "other": len(log) - len(api),
        "read": report.read,
        "updated": report.updated,
        "wall": wall,
    }


def print_calls(provider: str, changed: int, r: dict[str, Any]) -> None:
    target = math.ceil(changed / 100) if provider == "xero" else 1
    note = ""
    if provider == "xero" and r["calls"] == target + 1 and r["read"] == changed:
        # Every change was read in ``target`` full pages: the one more asked for was empty.
        note = f" (+1: page {r['calls']} was asked for and came back empty)"
    print(
        f"  {provider:<10} {changed:>5} changed: {r['calls']:>3} API calls (target {target})"
        f"{note}; read {r['read']}, updated {r['updated']}, other calls {r['other']}, "
        f"{r['wall']:.2f} s"
    )


# ---------------------------------------------------------------- 4. many connections


async def many_tenants(world: World, sandbox: httpx2.AsyncClient, count: int) -> list[str]:
    """``count`` Xero organisations in the stand-in, each with a token of its own, written
    straight into its store (its consent flow would take minutes), and a company of ours
    connected to each."""
    store = world.store
    assert store is not None
    org = store.get("xero:org", XERO_NZ)
    assert org is not None
    client_id = world.settings.xero.client_id
    expires = (await sandbox_now(sandbox)).timestamp() + 10 * 86400
    tenants, tokens = [], []
    with store.transaction():
        for n in range(count):
            tenant, grant, user = str(uuid.uuid4()), str(uuid.uuid4()), f"bench-user-{n}"
            token = uuid.uuid4().hex + uuid.uuid4().hex
            store.put("xero:org", tenant, {**org, "OrganisationID": tenant, "Name": f"Org {n}"})
            store.put(
                "xero:grant",
                grant,
                {"id": grant, "user_id": user, "client_id": client_id, "revoked": False,
                 "scopes": ["accounting.transactions", "accounting.settings", "offline_access"],
                 "auth_event_id": grant},
            )  # fmt: skip
            store.put(
                "xero:connection",
                grant,
                {"id": grant, "tenantId": tenant, "tenantType": "ORGANISATION",
                 "_client_id": client_id},
                scope=user,
            )  # fmt: skip
            store.put("xero:access", token, {"grant_id": grant, "expires_at": expires}, grant)
            tenants.append(tenant)
            tokens.append(token)
    async with world.db() as session:
        for n, (tenant, token) in enumerate(zip(tenants, tokens, strict=True)):
            company = Company(pipedrive_company_id=980_000_000 + n, domain=f"bench{n}", name="B")
            session.add(company)
            await session.flush()
            session.add(
                ProviderConnection(
                    company_id=company.id,
                    provider="xero",
                    tenant_id=tenant,
                    organisation_name=f"Org {n}",
                    base_currency="NZD",
                    access_token=token,
                    refresh_token="unused",
                    expires_at=utcnow() + timedelta(days=1),
                    synced_until=utcnow() - timedelta(minutes=5),
                    last_sync_at=utcnow(),
                )
            )
        await session.commit()
    return tenants


async def many_catch_ups(
    world: World, sandbox: httpx2.AsyncClient, count: int, timeout: float
) -> dict[str, Any]:
    tenants = await many_tenants(world, sandbox, count)
    await sandbox.delete("/_sandbox/requests")
    async with world.db() as session:
        rows = await session.execute(
            select(ProviderConnection.id, ProviderConnection.company_id).where(
                ProviderConnection.tenant_id.in_(tenants)
            )
        )
        started = time.perf_counter()
        for connection_id, company_id in rows.all():
            await enqueue(
                session, "invoices.catch_up", company_id=company_id,
                key=f"bench-catch-up:{connection_id}", connection_id=connection_id,
            )  # fmt: skip
        await session.commit()
    done = 0
    while time.perf_counter() - started < timeout:
        async with world.db() as session:
            done = (
                await session.scalar(
                    select(func.count())
                    .select_from(Job)
                    .where(Job.key.like("bench-catch-up:%"), Job.status == "done")
                )
            ) or 0
        if done >= count:
            break
        await asyncio.sleep(0.2)
    wall = time.perf_counter() - started
    log = (await sandbox.get("/_sandbox/requests", params={"path": "/xero/api/"})).json()
    async with world.db() as session:
        retried = await session.scalar(
            select(func.count())
            .select_from(Job)
            .where(Job.key.like("bench-catch-up:%"), Job.attempts > 1)
        )
    return {
        "connections": count,
        "done": done,
        "wall": wall,
        "calls": len(log),
        "429s": sum(1 for r in log if r.get("status") == 429),
        "retried": retried or 0,
    }
