"""Status sync (issue 10, Measure): how fast a provider change becomes visible, how many events
the inbox takes, how many provider calls a catch-up costs, and many connections caught up
under the per-tenant limits.

The app and the stand-ins run in processes of their own on free local ports, over a fresh
migrated SQLite database (bench/_sync_world.py). In one run it prints, with the machine's load
at start and end:

1. webhook-to-visible latency p50/p95: N payments made in the stand-ins (Xero and QuickBooks),
   each timed from the payment request's return to the moment our deal_invoice row shows it;
   jobs in-process, then through Redis (REDIS_URL, a queue of its own) when Redis answers;
2. events per second the inbox stores: signed Xero deliveries at concurrency 20, on SQLite
   and (when a server answers) PostgreSQL, with the jobs processed elsewhere and in the app;
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from app.connections.models import ProviderConnection  # noqa: E402
from app.invoices.models import DealInvoice  # noqa: E402
from app.tenants.models import Company  # noqa: E402
from app.webhooks.models import WebhookEvent  # noqa: E402
from bench._sync_catch_up import catch_up_calls, many_catch_ups, print_calls  # noqa: E402
from bench._sync_world import Setup, World  # noqa: E402
from tests.support.database import (  # noqa: E402
    create_postgres_database,
    drop_postgres_database,
    empty_all_tables,
)

PAYMENT_PATHS = {"xero": "/_sandbox/xero/payments", "quickbooks": "/_sandbox/quickbooks/payments"}


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


async def payments(
    world: World, sandbox: httpx2.AsyncClient, setup: Setup, count: int
) -> dict[str, list[float]]:
    """``count`` payments one after the other on each provider's invoice, each timed."""
    # A fresh minute: setting up used part of Xero's 60 calls a minute for this tenant.
    await sandbox.post("/_sandbox/clock/advance", json={"seconds": 60})
    return {
        provider: [
            await one_payment(world, sandbox, provider, setup.invoices[provider])
            for _ in range(count)
        ]
        for provider in ("xero", "quickbooks")
    }


async def with_redis(var_dir: Path, count: int, redis_url: str) -> dict[str, list[float]]:
    """The same payments in a world whose jobs go through Redis (a queue of this run's own)."""
    async with (
        World(var_dir, redis_url) as world,
        httpx2.AsyncClient(base_url=world.app_url, timeout=60) as app,
        httpx2.AsyncClient(base_url=world.sandbox_url, timeout=60) as sandbox,
    ):
        setup = await Setup(world).run(app, sandbox)
        return await payments(world, sandbox, setup, count)


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
                try:
                    response = await app.post("/webhooks/xero", content=body, headers=headers)
                except httpx2.TransportError:
                    refused += 1  # the sender would retry it; here it counts as not stored
                    continue
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
    return {
        "stored": stored or 0,
        "wall": wall,
        "processed": processed or 0,
        "refused": refused,
        "locked": world.app_errors("database is locked"),
    }


# ---------------------------------------------------------------- main


async def in_process(var_dir: Path, args: argparse.Namespace) -> None:
    async with (
        World(var_dir) as world,
        httpx2.AsyncClient(base_url=world.app_url, timeout=60) as app,
        httpx2.AsyncClient(base_url=world.sandbox_url, timeout=60) as sandbox,
    ):
        setup = await Setup(world).run(app, sandbox)
        print("1. Webhook to visible (payment returned -> our row shows it):")
        results = await payments(world, sandbox, setup, args.payments)
        print_latency("in-process", results)
        if args.redis_why:
            print(f"  redis       skipped: {args.redis_why}")
        else:
            with tempfile.TemporaryDirectory() as tmp:
                print_latency("redis", await with_redis(Path(tmp), args.payments, args.redis_url))
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


async def inbox(args: argparse.Namespace) -> None:
    """Part 2, in worlds of its own: its stored events and their jobs must not weigh on the
    other parts, nor theirs on it. SQLite, then PostgreSQL when a server answers."""
    print(f"2. Inbox: {args.events} events, signed Xero deliveries of 10 at concurrency 20:")
    variants: list[tuple[str, str | None, dict[str, str]]] = [("jobs run in the app", None, {})]
    if args.redis_why:
        print(f"  (processing elsewhere skipped: {args.redis_why})")
    else:
        # Jobs recorded and handed to a Redis queue of this run's own that nobody reads.
        variants.insert(0, ("processing elsewhere", args.redis_url, {"WORKER_IN_APP": "false"}))
    for label, redis_url, env in variants:
        with tempfile.TemporaryDirectory() as tmp:
            async with World(Path(tmp), redis_url, env) as world:
                print_inbox(f"SQLite {label}", await inbox_rate(world, args.events))
    if args.skip_postgres:
        return
    try:
        url = await create_postgres_database(args.postgres_url)
    except Exception as exc:  # no server: say so and stop
        print(f"  PostgreSQL skipped: {exc}")
        return
    try:
        for label, redis_url, env in variants:
            with tempfile.TemporaryDirectory() as tmp:
                async with World(Path(tmp), redis_url, env, url) as world:
                    print_inbox(f"PostgreSQL {label}", await inbox_rate(world, args.events))
                await empty_all_tables(world.engine)
    finally:
        await drop_postgres_database(url)


def print_inbox(label: str, r: dict[str, Any]) -> None:
    print(
        f"  {label:<32} {r['stored']} stored in {r['wall']:.2f} s = "
        f"{r['stored'] / r['wall']:.0f} events/s (target >= 500);\n"
        f"  {'':<32} {r['refused']} deliveries failed ({r['locked']} 'database is locked' "
        f"errors in the app's log); {r['processed']} processed meanwhile (no-ops: not ours)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts (about 1 minute)")
    parser.add_argument("--payments", type=int, default=30)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--deadline", type=float, default=180.0, help="seconds for part 4")
    parser.add_argument("--skip-postgres", action="store_true", help="part 2 on SQLite only")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
        ),
    )
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
    await inbox(args)
    print(f"load at end:   {load()}")


if __name__ == "__main__":
    asyncio.run(main())
