"""The world bench/sync.py measures: our app and the stand-ins, each in a process of its own on
a free local port, over a fresh migrated SQLite database; plus the direct writes the benchmark
makes where the rate-limited APIs would only measure their limits (invoices in the stand-ins'
store, rows in our tables).

Separate processes keep the app's CPU work, the stand-ins' and the benchmark's own client off
one interpreter lock, so that none of them inflates the others' timings.
"""

from __future__ import annotations

import asyncio
import copy
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx2
import redis.asyncio as redis
from cryptography.fernet import Fernet
from sqlalchemy import select

from app.cli import migrate
from app.config import Settings, load_settings
from app.connections.models import ProviderConnection
from app.db import create_engine, create_sessionmaker
from app.invoices.models import DealInvoice, DealInvoiceLink
from app.kit.crypto import keyring
from bench._create_world import connect, install, link_everything, reviewed
from bench._support import SandboxProcess, app_env
from sandbox.quickbooks.clocktime import qbo_time
from sandbox.store import Store
from tests.support.database import sqlite_url
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
DEAL = 31
XERO_NZ = "b1f3c0de-0000-4000-8000-000000000001"
QBO_REALM = "9130350000000001"
# One token key for every world of a run: the keyring is process-wide, and a second world
# must not make the first one's stored tokens unreadable.
TOKEN_KEYS = Fernet.generate_key().decode()


def child_env(s: Settings) -> dict[str, str]:
    """The settings a child process needs to be this app (or to register exactly this app)."""
    env = {
        **app_env(s),
        "DATABASE_URL": s.database_url,
        # No periodic catch-up: its reads would mix with the ones counted here.
        "CATCH_UP_MINUTES": "0",
        "LOG_FORMAT": "console",
    }
    if s.redis_url:
        env["REDIS_URL"] = s.redis_url
        env["JOB_QUEUE"] = s.job_queue
    return env


class World:
    """Sandbox and app processes over one database; ``db`` and ``store`` reach both directly."""

    def __init__(
        self,
        var_dir: Path,
        redis_url: str | None = None,
        env: dict[str, str] | None = None,
        database_url: str | None = None,
    ) -> None:
        """``env``: more settings for the app process (e.g. WORKER_IN_APP); ``database_url``:
        an empty database to use instead of a new SQLite file in ``var_dir``."""
        ports = {"app": free_port(), "sandbox": free_port()}
        extra: dict[str, Any] = {}
        if redis_url:
            extra = {"redis_url": redis_url, "job_queue": f"bench-sync:{uuid.uuid4().hex[:12]}"}
        self.settings = load_settings(
            app_env="test",
            database_url=database_url or sqlite_url(var_dir),
            var_dir=var_dir,
            public_url=f"http://127.0.0.1:{ports['app']}",
            sandbox_url=f"http://127.0.0.1:{ports['sandbox']}",
            log_format="console",
            log_level="ERROR",
            catch_up_minutes=0,
            token_keys=TOKEN_KEYS,
            **extra,
        )
        keyring.configure(self.settings.token_key_list)
        self.app_url = self.settings.public_url
        self.sandbox_url = self.settings.sandbox_url or ""
        env = {**child_env(self.settings), **(env or {})}
        self.sandbox_db = var_dir / "sandbox.db"
        self.sandbox = SandboxProcess(
            self.sandbox_db,
            port=ports["sandbox"],
            env=env,
            command=[
                sys.executable, "-m", "app.cli", "sandbox", "--port", str(ports["sandbox"]),
                "--db", str(self.sandbox_db), "--reset",
            ],
        )  # fmt: skip
        self.app_port = ports["app"]
        self.var_dir = var_dir
        self.env = env
        self.app_process: subprocess.Popen[bytes] | None = None
        self.engine = create_engine(self.settings)
        self.db = create_sessionmaker(self.engine)
        self.store: Store | None = None

    async def __aenter__(self) -> World:
        await asyncio.to_thread(migrate, self.settings)
        await asyncio.to_thread(self.sandbox.__enter__)
        self.store = Store(self.sandbox_db)
        command = [
            sys.executable, "-m", "app.cli", "serve", "--port", str(self.app_port),
        ]  # fmt: skip
        env = dict(os.environ, PYTHONPATH=str(ROOT), **self.env)
        # Its errors go to a file the benchmark reads (``app_errors``), not over the report.
        self.app_log = open(self.var_dir / "app.log", "wb")  # noqa: SIM115 - closed on exit
        self.app_process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=self.app_log
        )
        deadline = time.monotonic() + 60
        async with httpx2.AsyncClient() as http:
            while True:
                if self.app_process.poll() is not None:
                    raise RuntimeError("the app exited at start-up")
                try:
                    if (await http.get(f"{self.app_url}/healthz", timeout=1)).status_code < 500:
                        break
                except httpx2.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("the app did not answer within 60 s")
                await asyncio.sleep(0.1)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.app_process is not None and self.app_process.poll() is None:
            self.app_process.terminate()
            try:
                self.app_process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.app_process.kill()
        self.app_log.close()
        self.sandbox.__exit__(None, None, None)
        if self.settings.redis_url:
            await forget_queue(self.settings.redis_url, self.settings.job_queue)
        if self.store is not None:
            self.store.close()
        await self.engine.dispose()

    def app_errors(self, text: str) -> int:
        """How many times ``text`` appears in the app process's error output so far."""
        return (self.var_dir / "app.log").read_text(errors="replace").count(text)

    def state(self, http: httpx2.AsyncClient) -> Any:
        """A process state as ``tokens_of`` expects it, over this process's own sessions."""
        return SimpleNamespace(settings=self.settings, sessionmaker=self.db, http=http)


async def forget_queue(url: str, queue: str) -> None:
    """Delete this run's Redis stream (and its group), so runs leave nothing behind."""
    client = redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{queue}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


class Setup:
    """The demo company installed, Xero and QuickBooks connected, one invoice in each."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.headers: dict[str, str] = {}
        self.invoices: dict[str, dict[str, Any]] = {}

    async def run(self, app: httpx2.AsyncClient, sandbox: httpx2.AsyncClient) -> Setup:
        (await sandbox.post("/_sandbox/reset")).raise_for_status()
        (await sandbox.post("/_sandbox/seed", params={"name": "demo"})).raise_for_status()
        self.headers = await install(app, sandbox)
        for provider in ("xero", "quickbooks"):
            await connect(app, sandbox, self.headers, provider)
            await link_everything(app, self.headers, provider)
            self.invoices[provider] = await self._create(app, provider)
        approved = await app.post(
            f"/pipedrive/panel/{DEAL}/invoices/{self.invoices['xero']['id']}/actions/AUTHORISED",
            headers=self.headers,
        )
        if approved.status_code != 200:
            raise RuntimeError(f"approving the Xero invoice failed: {approved.text[:300]}")
        return self

    async def _create(self, app: httpx2.AsyncClient, provider: str) -> dict[str, Any]:
        draft = await app.get(
            f"/api/v1/deals/{DEAL}/invoice-draft", params={"provider": provider},
            headers=self.headers,
        )  # fmt: skip
        made = await app.post(
            f"/api/v1/deals/{DEAL}/invoices",
            json=reviewed(draft.json()),
            headers={**self.headers, "Idempotency-Key": str(uuid.uuid4())},
        )
        if made.status_code != 201:
            raise RuntimeError(f"creating a {provider} invoice failed: {made.text[:300]}")
        result: dict[str, Any] = made.json()
        return result


async def sandbox_now(sandbox: httpx2.AsyncClient) -> datetime:
    clock = (await sandbox.get("/_sandbox/clock")).json()
    value = clock.get("now") if isinstance(clock, dict) else clock
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)


async def clone_invoices(
    world: World, provider: str, row_id: str, count: int, moment: datetime
) -> list[str]:
    """``count`` copies of our invoice ``row_id``: documents in the stand-in's store stamped
    changed at ``moment`` (sandbox time), and matching deal_invoice rows ('created')."""
    store = world.store
    assert store is not None
    async with world.db() as session:
        row = await session.get(DealInvoice, row_id)
        assert row is not None and row.provider_invoice_id
        if provider == "xero":
            doc = store.get("xero:invoice", row.provider_invoice_id)
        else:
            doc = store.get("qbo:Invoice", f"{QBO_REALM}:{row.provider_invoice_id}")
        assert doc is not None
        template = {c.key: getattr(row, c.key) for c in DealInvoice.__table__.columns}
        ids = []
        links: list[tuple[str, int | None]] = []
        with store.transaction():
            for n in range(count):
                copy_doc = copy.deepcopy(doc)
                if provider == "xero":
                    new_id = str(uuid.uuid4())
                    copy_doc.update(
                        InvoiceID=new_id,
                        InvoiceNumber=f"BENCH-{new_id[:8]}",
                        UpdatedDateUTC=int(moment.timestamp() * 1000),
                    )
                    store.put("xero:invoice", new_id, copy_doc, scope=XERO_NZ)
                else:
                    new_id = str(900_000 + store.next_seq(f"bench:{QBO_REALM}:invoice"))
                    copy_doc.update(Id=new_id, DocNumber=f"B{new_id}")
                    copy_doc["MetaData"] = dict(
                        copy_doc.get("MetaData") or {}, LastUpdatedTime=qbo_time(moment)
                    )
                    store.put("qbo:Invoice", f"{QBO_REALM}:{new_id}", copy_doc, scope=QBO_REALM)
                ids.append(new_id)
                row_id = str(uuid.uuid4())
                session.add(
                    DealInvoice(
                        **dict(
                            template,
                            id=row_id,
                            idempotency_key=f"bench-{provider}-{n}-{new_id}",
                            provider_invoice_id=new_id,
                            number=f"BENCH-{n}",
                            # Shown as not yet approved: the catch-up has something to apply.
                            provider_status="DRAFT" if provider == "xero" else None,
                            provider_version=None,
                            provider_updated_at=None,
                        )
                    )
                )
                # Listed in the same deal, as a copy of an invoice created from it.
                links.append((row_id, template["deal_id"]))
        await session.flush()
        for row_id, deal_id in links:
            if deal_id is not None:
                session.add(
                    DealInvoiceLink(
                        company_id=template["company_id"], invoice_id=row_id, deal_id=deal_id
                    )
                )
        await session.commit()
    return ids


async def connection_of(world: World, provider: str, tenant_id: str) -> ProviderConnection:
    async with world.db() as session:
        found = await session.scalars(
            select(ProviderConnection).where(
                ProviderConnection.provider == provider, ProviderConnection.tenant_id == tenant_id
            )
        )
        return found.one()


def past(seconds: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)
