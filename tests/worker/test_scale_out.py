"""Scale-out in one test: two app processes and two workers on PostgreSQL and Redis.

Signed Xero deliveries are posted to both app processes (each delivery to both, as a retry
that reached another process would be): every event is stored once and processed once; each
delivery's job is recorded once and run once, by the workers (the app processes run none:
WORKER_IN_APP=false).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy import func, select

from app.cli import migrate
from app.config import Settings, load_settings
from app.connections.models import ProviderConnection
from app.db import create_engine, create_sessionmaker
from app.providers.webhook_sig import sign
from app.tenants.models import Company
from app.webhooks.models import WebhookEvent
from app.worker.models import Job
from tests.support.database import (
    create_postgres_database,
    drop_postgres_database,
    is_postgres,
    requested_url,
)
from tests.support.servers import free_port
from tests.worker.test_redis import REDIS_URL, redis_up

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 60


@pytest.fixture
async def pg_database() -> AsyncIterator[str]:
    base = requested_url()
    if not is_postgres(base):
        pytest.skip("the scale-out test runs on PostgreSQL (make test-postgres, and CI)")
    if not await redis_up():
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    url = await create_postgres_database(base)
    try:
        yield url
    finally:
        await drop_postgres_database(url)


def env_for(settings: Settings, database_url: str, queue: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "APP_ENV": "test",
            "DATABASE_URL": database_url,
            "REDIS_URL": REDIS_URL,
            "JOB_QUEUE": queue,
            "WORKER_IN_APP": "false",
            "WORKER_POLL_SECONDS": "0.2",
            "CATCH_UP_MINUTES": "0",
            "TOKEN_KEYS": settings.token_keys,
            "SECRET_KEY": settings.secret_key,
            "XERO_WEBHOOK_KEY": settings.xero.webhook_key,
            "VAR_DIR": str(settings.var_dir),
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


async def spawn(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        *args,
        env=env,
        cwd=str(ROOT),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def wait_ready(url: str) -> None:
    async with httpx2.AsyncClient(timeout=2) as http:
        for _ in range(300):
            try:
                if (await http.get(f"{url}/healthz")).status_code == 200:
                    return
            except httpx2.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} did not start")


def delivery(tenant: str, ids: list[str]) -> bytes:
    return json.dumps(
        {
            "events": [
                {
                    "resourceUrl": f"https://api.xero.com/api.xro/2.0/Invoices/{rid}",
                    "resourceId": rid,
                    "eventDateUtc": "2026-12-04T10:00:00.000",
                    "eventType": "UPDATE",
                    "eventCategory": "INVOICE",
                    "tenantId": tenant,
                    "tenantType": "ORGANISATION",
                }
                for rid in ids
            ],
            "firstEventSequence": 1,
            "lastEventSequence": len(ids),
            "entropy": "scale-out",
        }
    ).encode()


async def test_two_apps_and_two_workers_process_each_event_once(
    settings: Settings, pg_database: str
) -> None:
    own = load_settings(
        app_env="test",
        database_url=pg_database,
        token_keys=settings.token_keys,
        var_dir=settings.var_dir,
    )
    await asyncio.to_thread(migrate, own)
    engine = create_engine(own)
    maker = create_sessionmaker(engine)
    tenant = str(uuid.uuid4())
    async with maker() as session:
        company = Company(pipedrive_company_id=424242, domain="scale", name="Scale Ltd")
        session.add(company)
        await session.flush()
        session.add(ProviderConnection(company_id=company.id, provider="xero", tenant_id=tenant))
        await session.commit()
    env = env_for(settings, pg_database, f"invoicing:test:{uuid.uuid4().hex}")
    ports = [free_port(), free_port()]
    procs: list[Any] = []
    try:
        for port in ports:
            procs.append(await spawn("serve", "--port", str(port), env=env))
        procs.append(await spawn("worker", "--no-schedule", env=env))
        procs.append(await spawn("worker", "--no-schedule", env=env))
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        for url in urls:
            await wait_ready(url)
        ids = [str(uuid.uuid4()) for _ in range(EVENTS)]
        async with httpx2.AsyncClient(timeout=10) as http:
            for start in range(0, EVENTS, 10):
                body = delivery(tenant, ids[start : start + 10])
                headers = {"x-xero-signature": sign(body, settings.xero.webhook_key)}
                answers = await asyncio.gather(
                    *(
                        http.post(f"{url}/webhooks/xero", content=body, headers=headers)
                        for url in urls
                    )
                )
                assert [a.status_code for a in answers] == [200, 200]

        async def all_processed() -> bool:
            async with maker() as session:
                waiting = await session.scalar(
                    select(func.count())
                    .select_from(WebhookEvent)
                    .where(WebhookEvent.status == "received")
                )
                unfinished = await session.scalar(
                    select(func.count()).select_from(Job).where(Job.status != "done")
                )
            return waiting == 0 and unfinished == 0

        for _ in range(600):
            if await all_processed():
                break
            await asyncio.sleep(0.1)
        async with maker() as session:
            events = (await session.scalars(select(WebhookEvent))).all()
            jobs = (await session.scalars(select(Job).where(Job.name == "webhooks.process"))).all()
        assert len(events) == EVENTS
        assert {e.status for e in events} == {"ignored"}
        assert all(e.outcome == "ignored: not an invoice created here" for e in events)
        # One job per delivery stored (10 events each); the copy posted to the other process
        # stored nothing new and recorded no job.
        assert len(jobs) == EVENTS // 10 and {j.status for j in jobs} == {"done"}
        # Each job ran once: one attempt each, no lease taken over.
        assert {j.attempts for j in jobs} == {1}
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.terminate()
        for proc in procs:
            await proc.wait()
        await engine.dispose()
