"""Status sync (issue 10, Measure): how fast a provider change becomes visible, how many events
the inbox takes, how many provider calls a catch-up costs, and many connections caught up
under the per-tenant limits.

The app and the stand-ins run in processes of their own on free local ports, over a fresh
migrated SQLite database (bench/_sync_world.py). In one run it prints, with the machine's load
at start and end:

1. webhook-to-visible latency p50/p95: N payments made in the stand-ins (Xero and QuickBooks),
   each timed from the payment request's return to the moment our deal_invoice row shows it;
   jobs in-process, then through Redis (REDIS_URL, a queue of its own) when Redis answers;
2. events per second the inbox stores: signed Xero deliveries at concurrency 20;
3. provider calls per catch-up for 1, 100 and 1,000 changed invoices;
4. wall time and 429 answers for catching up many connections through the job machinery.

Prints numbers; asserts nothing.

    .venv/bin/python bench/sync.py [--quick] [--payments 30] [--events 5000]
        [--connections 1000] [--redis-url redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import math
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, update  # noqa: E402

from app.connections.dependencies import tokens_of  # noqa: E402
from app.connections.models import ProviderConnection  # noqa: E402
from app.db import utcnow  # noqa: E402
from app.invoices.flows.sync import catch_up  # noqa: E402
from app.invoices.models import DealInvoice  # noqa: E402
from app.tenants.models import Company  # noqa: E402
from app.webhooks.models import WebhookEvent  # noqa: E402
from app.worker.models import Job  # noqa: E402
from app.worker.outbox import enqueue  # noqa: E402
from bench._sync_world import (  # noqa: E402
    QBO_REALM,
    XERO_NZ,
    Setup,
    World,
    clone_invoices,
    connection_of,
    sandbox_now,
)

PAYMENT_PATHS = {"xero": "/_sandbox/xero/payments", "quickbooks": "/_sandbox/quickbooks/payments"}
TENANTS = {"xero": XERO_NZ, "quickbooks": QBO_REALM}


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min; {os.cpu_count()} cores)"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


# ---------------------------------------------------------------- 1. webhook to visible


async def paid_minor(world: World, row_id: str) -> int:
    async with world.db() as session:
        row = await session.get(DealInvoice, row_id, populate_existing=True)
        assert row is not None
        return row.amount_paid_minor


async def one_payment(
    world: World, sandbox: httpx2.AsyncClient, provider: str, invoice: dict[str, Any]
) -> float:
    """Seconds from the payment request's return until our row shows the new amount paid."""
    before = await paid_minor(world, invoice["id"])
    body = (
        {"InvoiceID": invoice["provider_invoice_id"], "Amount": "1.00"}
        if provider == "xero"
        else {"invoice_id": invoice["provider_invoice_id"], "amount": "1.00"}
    )
    paid = await sandbox.post(PAYMENT_PATHS[provider], json=body)
    returned = time.perf_counter()
    if paid.status_code != 200:
        raise RuntimeError(f"{provider} payment refused: {paid.text[:300]}")
    while await paid_minor(world, invoice["id"]) == before:
        if time.perf_counter() - returned > 30:
            raise RuntimeError(f"{provider} payment not visible after 30 s")
        await asyncio.sleep(0.005)
    return time.perf_counter() - returned


async def latency(var_dir: Path, payments: int, redis_url: str | None) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    async with (
        World(var_dir, redis_url) as world,
        httpx2.AsyncClient(base_url=world.app_url, timeout=60) as app,
        httpx2.AsyncClient(base_url=world.sandbox_url, timeout=60) as sandbox,
    ):
        setup = await Setup(world).run(app, sandbox)
        # A fresh minute: setting up used part of Xero's 60 calls a minute for this tenant.
        await sandbox.post("/_sandbox/clock/advance", json={"seconds": 60})
        for provider in ("xero", "quickbooks"):
            out[provider] = [
                await one_payment(world, sandbox, provider, setup.invoices[provider])
                for _ in range(payments)
            ]
    return out


def print_latency(label: str, results: dict[str, list[float]]) -> None:
    for provider, values in results.items():
        p50, p95 = statistics.median(values), percentile(values, 95)
        print(
            f"  {label:<11} {provider:<10} n={len(values):<3} p50 {p50 * 1000:7.1f} ms  "
            f"p95 {p95 * 1000:7.1f} ms  max {max(values) * 1000:7.1f} ms  (target p95 <= 1 s)"
        )


def redis_reachable(url: str) -> str | None:
    """None when something answers PING at ``url``'s host and port; else why not."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 2) as s:
            s.sendall(b"PING\r\n")
            answer = s.recv(64)
    except OSError as exc:
        return f"{url} not reachable ({exc})"
    return None if answer.startswith(b"+PONG") else f"{url} answered {answer[:40]!r}"


# ---------------------------------------------------------------- 2. inbox throughput


def xero_delivery(tenant: str, events: int, key: str) -> tuple[bytes, dict[str, str]]:
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    body = json.dumps(
        {
            "events": [
                {
                    # Not our invoices: processing them reads nothing and changes nothing.
                    "resourceUrl": "https://api.xero.com/api.xro/2.0/Invoices/x",
                    "resourceId": str(uuid.uuid4()),
                    "eventDateUtc": now,
                    "eventType": "UPDATE",
                    "eventCategory": "INVOICE",
                    "tenantId": tenant,
                    "tenantType": "ORGANISATION",
                }
                for _ in range(events)
            ],
            "firstEventSequence": 1,
            "lastEventSequence": events,
            "entropy": uuid.uuid4().hex,
        }
    ).encode()
    signature = base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()
    return body, {"x-xero-signature": signature, "content-type": "application/json"}


async def inbox_rate(world: World, total: int, per_delivery: int = 10) -> dict[str, Any]:
    tenant = f"bench-inbox-{uuid.uuid4()}"
    async with world.db() as session:
        company = Company(pipedrive_company_id=990_000_001, domain="bench-inbox", name="Inbox")
        session.add(company)
        await session.flush()
        session.add(ProviderConnection(company_id=company.id, provider="xero", tenant_id=tenant))
        await session.commit()
    key = world.settings.xero.webhook_key
    bodies = [xero_delivery(tenant, per_delivery, key) for _ in range(total // per_delivery)]
    refused = 0
    async with httpx2.AsyncClient(base_url=world.app_url, timeout=60) as app:

        async def poster() -> None:
            nonlocal refused
            while bodies:
                body, headers = bodies.pop()
                response = await app.post("/webhooks/xero", content=body, headers=headers)
                if response.status_code != 200:
                    refused += 1

        started = time.perf_counter()
        await asyncio.gather(*(poster() for _ in range(20)))
        wall = time.perf_counter() - started
    async with world.db() as session:
        stored = await session.scalar(
            select(func.count()).select_from(WebhookEvent).where(WebhookEvent.tenant_id == tenant)
        )
        processed = await session.scalar(
            select(func.count())
            .select_from(WebhookEvent)
            .where(WebhookEvent.tenant_id == tenant, WebhookEvent.status != "received")
        )
    return {"stored": stored or 0, "wall": wall, "processed": processed or 0, "refused": refused}


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
    pages = [r for r in api if "page=" in (r.get("query") or "")]
    return {
        "calls": len(api),
        "other": len(log) - len(api),
        "pages": len(pages),
        "read": report.read,
        "updated": report.updated,
        "wall": wall,
    }


def print_calls(provider: str, changed: int, r: dict[str, Any]) -> None:
    target = math.ceil(changed / 100) if provider == "xero" else 1
    note = ""
    if provider == "xero" and changed % 100 == 0:
        note = f" (the last page, page {r['calls']}, came back empty)"
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


# ---------------------------------------------------------------- main


async def in_process(var_dir: Path, args: argparse.Namespace) -> None:
    async with (
        World(var_dir) as world,
        httpx2.AsyncClient(base_url=world.app_url, timeout=60) as app,
        httpx2.AsyncClient(base_url=world.sandbox_url, timeout=60) as sandbox,
    ):
        setup = await Setup(world).run(app, sandbox)
        await sandbox.post("/_sandbox/clock/advance", json={"seconds": 60})
        print("1. Webhook to visible (payment returned -> our row shows it):")
        results = {}
        for provider in ("xero", "quickbooks"):
            results[provider] = [
                await one_payment(world, sandbox, provider, setup.invoices[provider])
                for _ in range(args.payments)
            ]
        print_latency("in-process", results)
        if args.redis_why:
            print(f"  redis       skipped: {args.redis_why}")
        else:
            with tempfile.TemporaryDirectory() as tmp:
                print_latency("redis", await latency(Path(tmp), args.payments, args.redis_url))
        # The webhooks of the payments above are all processed by now; none come from here on.
        await sandbox.post("/_sandbox/webhooks/sending", params={"enabled": False})
        print("3. Provider calls per catch-up (If-Modified-Since pages of 100 / one CDC call):")
        for changed in args.changed:
            for provider in ("xero", "quickbooks"):
                result = await catch_up_calls(world, sandbox, setup, provider, changed)
                print_calls(provider, changed, result)
        print(f"4. Catch-up of {args.connections} Xero connections through the in-process worker:")
        r = await many_catch_ups(world, sandbox, args.connections, args.deadline)
        print(
            f"  {r['done']}/{r['connections']} caught up in {r['wall']:.1f} s "
            f"({r['done'] / r['wall']:.1f} connections/s); {r['calls']} API calls, "
            f"{r['429s']} answered 429 (target 0); {r['retried']} jobs retried"
        )
        print(f"2. Inbox: signed Xero deliveries of 10 events at concurrency 20, {args.events}:")
        r = await inbox_rate(world, args.events)
        print(
            f"  {r['stored']} events stored in {r['wall']:.2f} s = "
            f"{r['stored'] / r['wall']:.0f} events/s (target >= 500); {r['refused']} refused; "
            f"{r['processed']} already processed by then (no-ops: not our invoices)"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts (about 1 minute)")
    parser.add_argument("--payments", type=int, default=30)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--deadline", type=float, default=180.0, help="seconds for part 4")
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    args = parser.parse_args()
    args.changed = (1, 100, 1000)
    if args.quick:
        args.payments, args.events, args.connections = 10, 1000, 100
        args.changed = (1, 100)
    args.redis_why = redis_reachable(args.redis_url)
    print(f"load at start: {load()}")
    with tempfile.TemporaryDirectory() as tmp:
        await in_process(Path(tmp), args)
    print(f"load at end:   {load()}")


if __name__ == "__main__":
    asyncio.run(main())
