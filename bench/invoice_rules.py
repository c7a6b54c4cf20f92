"""Invoice rules: the time from a deal-won webhook to its invoice existing at the provider
(issue 15, Measure), against the sandbox with 100 ms of injected latency on every sandbox call.

One run on SQLite: our app and worker on a real port, the stand-ins in a process of their own
(no outgoing webhooks: the deal-won deliveries are posted here, as Pipedrive would post them).
A "won" rule for Xero; the contact and items are linked first (as after a first invoice). For
each sample a fresh deal of Acme's products is created and won in the sandbox, then its v2
``change`` webhook is posted to ``/webhooks/pipedrive``; the clock stops when the invoice row
has Xero's invoice id (recorded right after Xero answered the create). Prints p50/p95, the
worker's poll interval (a floor of the path: the inbox job, then the evaluation job) and the
machine's load; asserts nothing.

    .venv/bin/python bench/invoice_rules.py [--samples 20]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx2
from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.db import create_engine, create_sessionmaker  # noqa: E402
from app.invoices.models import DealInvoice  # noqa: E402
from bench._create_world import (  # noqa: E402
    DEAL,
    LATENCY_MS,
    PREFIXES,
    World,
    connect,
    install,
    link_everything,
)
from tests.support.database import sqlite_url  # noqa: E402


def won_event(deal_id: int) -> bytes:
    return json.dumps(
        {
            "meta": {
                "action": "change",
                "entity": "deal",
                "company_id": "7001",
                "entity_id": str(deal_id),
                "id": str(uuid.uuid4()),
                "timestamp": time.time(),
                "version": "2.0",
                "user_id": "101",
            },
            "data": {"id": deal_id, "status": "won"},
            "previous": {"status": "open"},
        }
    ).encode()


async def fresh_won_deal(sandbox: httpx2.AsyncClient, template: dict[str, object]) -> int:
    made = await sandbox.post("/_sandbox/pipedrive/deals", json=template)
    made.raise_for_status()
    deal_id = int(made.json()["deal"]["id"])
    won = await sandbox.patch(
        f"/_sandbox/pipedrive/deals/{deal_id}", json={"status": "won", "notify": False}
    )
    won.raise_for_status()
    return deal_id


async def measure(world: World, samples: int) -> list[float]:
    engine = create_engine(world.settings)
    sessions = create_sessionmaker(engine)
    pd = world.settings.pipedrive
    auth = "Basic " + base64.b64encode(f"{pd.webhook_user}:{pd.webhook_password}".encode()).decode()
    times: list[float] = []
    async with (
        httpx2.AsyncClient(base_url=world.app.url, timeout=60) as app,
        httpx2.AsyncClient(base_url=world.sandbox_url, timeout=60) as sandbox,
    ):
        (await sandbox.post("/_sandbox/reset")).raise_for_status()
        (await sandbox.post("/_sandbox/seed", params={"name": "demo"})).raise_for_status()
        headers = await install(app, sandbox)
        await connect(app, sandbox, headers, "xero")
        await link_everything(app, headers, "xero")
        rule = {"name": "Won deals", "provider": "xero", "trigger": "won"}
        (await app.post("/api/v1/automation/rules", json=rule, headers=headers)).raise_for_status()
        draft = (
            await app.get(
                f"/api/v1/deals/{DEAL}/invoice-draft", params={"provider": "xero"}, headers=headers
            )
        ).json()
        template = {
            "company_id": 7001,
            "title": "Bench deal",
            "currency": draft["details"]["currency"],
            "org_id": draft["customer"]["crm_id"],
            "products": [
                {"product_id": line["crm_product_id"], "quantity": 1}
                for line in draft["lines"]
                if line["crm_product_id"]
            ],
        }
        for prefix in PREFIXES.values():
            await sandbox.post(
                "/_sandbox/faults",
                json={"kind": "latency", "latency_ms": LATENCY_MS, "path": prefix},
            )
        for _ in range(samples):
            deal_id = await fresh_won_deal(sandbox, template)
            started = time.perf_counter()
            answer = await app.post(
                "/webhooks/pipedrive", content=won_event(deal_id), headers={"authorization": auth}
            )
            answer.raise_for_status()
            while True:
                async with sessions() as session:
                    found = await session.scalar(
                        select(DealInvoice.provider_invoice_id).where(
                            DealInvoice.deal_id == deal_id
                        )
                    )
                if found:
                    break
                if time.perf_counter() - started > 60:
                    raise RuntimeError(f"no invoice for deal {deal_id} after 60 s")
                await asyncio.sleep(0.01)
            times.append(time.perf_counter() - started)
    await engine.dispose()
    return times


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        async with World(sqlite_url(Path(tmp)), Path(tmp)) as world:
            times = await measure(world, args.samples)
            poll = world.settings.worker_poll_seconds
    load_after = os.getloadavg()
    print(f"deal-won webhook -> invoice at Xero, {args.samples} deals, {LATENCY_MS} ms per call")
    print(f"  p50 {statistics.median(times):.2f} s   p95 {percentile(times, 0.95):.2f} s")
    print(f"  min {min(times):.2f} s   max {max(times):.2f} s   worker poll {poll:.1f} s")
    cores = os.cpu_count()
    print(f"  load average before {load_before[0]:.2f}, after {load_after[0]:.2f} ({cores} cores)")


if __name__ == "__main__":
    asyncio.run(main())
