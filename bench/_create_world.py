"""The world of bench/create_invoice.py: the stand-ins and our app in processes of their own,
the demo company installed, connected and linked, and ``--companies`` more companies set up
the same way, each with its own Pipedrive installation and its own QuickBooks realm (the
sandbox's `bench` seed), so that the throughput runs can spread their creates over them.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.cli import migrate
from app.config import load_settings
from app.kit.crypto import keyring
from bench._app_process import AppProcess, tree_cpu
from bench._support import SandboxProcess, app_env
from tests.support.servers import free_port

LATENCY_MS = 100
LATENCY = LATENCY_MS / 1000
DEAL = 31
NORA = 101
XERO_NZ = "b1f3c0de-0000-4000-8000-000000000001"
QBO_REALM = "9130350000000001"
# One token key for every world of a run: the keyring is process-wide (the floors are measured
# in this process), and a second world must not make the first one's tokens unreadable.
TOKEN_KEYS = Fernet.generate_key().decode()
PREFIXES = {"crm": "/pipedrive/", "xero": "/xero/", "quickbooks": "/quickbooks/"}


class World:
    """The stand-ins and our app, each in processes of their own on real ports, over one
    database: the app's CPU time is then its own (``AppProcess.cpu``), and the stand-ins'
    is measured apart (``standin_cpu``)."""

    def __init__(
        self, database_url: str, var_dir: Path, workers: int = 1, profile: Path | None = None
    ) -> None:
        ports = {"app": free_port(), "sandbox": free_port()}
        self.settings = load_settings(
            app_env="test",
            database_url=database_url,
            var_dir=var_dir,
            public_url=f"http://127.0.0.1:{ports['app']}",
            sandbox_url=f"http://127.0.0.1:{ports['sandbox']}",
            log_format="console",
            log_level="ERROR",
            catch_up_minutes=0,
            token_keys=TOKEN_KEYS,
        )
        keyring.configure(self.settings.token_key_list)
        self.var_dir = var_dir
        self.sandbox_url = f"http://127.0.0.1:{ports['sandbox']}"
        self.sandbox = self._sandbox_process(ports["sandbox"], var_dir / "sandbox.db")
        env = {
            **app_env(self.settings),
            "DATABASE_URL": database_url,
            "CATCH_UP_MINUTES": "0",
            "LOG_FORMAT": "console",
        }
        self.app = AppProcess(ports["app"], env, workers=workers, profile=profile)

    def _sandbox_process(self, port: int, db: Path) -> SandboxProcess:
        """The stand-ins in a process of their own, so that their CPU time never competes with
        the app's for one interpreter lock (which would inflate both sides' timings). The
        child gets this app's client credentials, so it registers exactly this app."""
        env = app_env(self.settings)
        # The app has no webhook inbox yet: deliveries would only add 404s and their retries
        # to the load being measured.
        command = [
            sys.executable, "-m", "app.cli", "sandbox", "--port", str(port), "--db", str(db),
            "--reset", "--no-webhooks",
        ]  # fmt: skip
        return SandboxProcess(db, port=port, command=command, env=env)

    def standin_cpu(self) -> float:
        assert self.sandbox.process is not None
        return tree_cpu(self.sandbox.process.pid)

    async def __aenter__(self) -> World:
        await asyncio.to_thread(migrate, self.settings)
        await asyncio.to_thread(self.sandbox.__enter__)
        await self.app.start(self.var_dir / "app.log")
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.app.stop()
        self.sandbox.__exit__(None, None, None)


@dataclass
class Company:
    """One installed company: its session header, its deal like 31 and that deal's reviewed
    QuickBooks draft, ready to be created again and again."""

    headers: dict[str, str]
    deal: int
    payload: dict[str, Any]


async def install(
    app: httpx2.AsyncClient, sandbox: httpx2.AsyncClient, user_id: int = NORA
) -> dict[str, str]:
    await sandbox.post("/_sandbox/pipedrive/auto-approve", json={"user_id": user_id})
    start = await app.get("/pipedrive/install")
    consent = await sandbox.get(start.headers["location"])
    if "location" not in consent.headers:
        raise RuntimeError(f"install not approved: {consent.status_code} {consent.text[:300]}")
    back = urlsplit(consent.headers["location"])
    done = await app.get(f"{back.path}?{back.query}")
    # The install lands with a one-time code; a page trades it for the session in its meta tag.
    code = parse_qs(urlsplit(done.headers["location"]).query)["handoff"][0]
    page = await app.get("/pipedrive/installed", params={"handoff": code})
    found = re.search(r'<meta name="session-token" content="([^"]+)">', page.text)
    if found is None:
        raise RuntimeError(f"no session after the install: {page.status_code} {page.text[:300]}")
    return {"X-Session-Token": found.group(1)}


async def connect(
    app: httpx2.AsyncClient,
    sandbox: httpx2.AsyncClient,
    headers: dict[str, str],
    provider: str,
    realm_id: str = QBO_REALM,
) -> None:
    if provider == "xero":
        await sandbox.post(
            "/_sandbox/xero/auto-approve",
            json={"email": "nora@northwind.test", "tenant_ids": [XERO_NZ]},
        )
    else:
        await sandbox.post("/_sandbox/quickbooks/auto-approve", json={"realm_id": realm_id})
    start = await app.get(f"/connections/{provider}/connect", headers=headers)
    authorize = await sandbox.get(start.headers["location"])
    callback = httpx2.URL(authorize.headers["location"])
    done = await app.get(callback.raw_path.decode())
    if done.status_code not in (200, 303):
        raise RuntimeError(f"connecting {provider} failed: {done.text[:300]}")


async def link_everything(
    app: httpx2.AsyncClient, headers: dict[str, str], provider: str, deal: int = DEAL
) -> None:
    draft = (
        await app.get(
            f"/api/v1/deals/{deal}/invoice-draft", params={"provider": provider}, headers=headers
        )
    ).json()
    customer = draft["customer"]
    await app.put(
        f"/api/v1/providers/{provider}/links/{customer['crm_entity']}/{customer['crm_id']}",
        json={"contact_id": customer["contact"]["id"]},
        headers=headers,
    )
    for line in draft["lines"]:
        if line["crm_product_id"] and line["item_id"]:
            await app.put(
                f"/api/v1/providers/{provider}/links/products/{line['crm_product_id']}",
                json={"item_id": line["item_id"]},
                headers=headers,
            )


def reviewed(draft: dict[str, Any]) -> dict[str, Any]:
    """The draft sent back unchanged, as the dialog does after review (a tax that differs
    from the deal's, shown in the draft, confirmed as the user would)."""
    from app.invoices.flows import reviewed as to_body
    from app.invoices.schemas import DraftOut

    out = DraftOut.model_validate(draft)
    differs = any(c.code == "tax_differs" for c in out.checks)
    return to_body(out, accept_tax_difference=differs).model_dump(mode="json")


async def quickbooks_body(app: httpx2.AsyncClient, headers: dict[str, str], deal: int) -> Any:
    draft = await app.get(
        f"/api/v1/deals/{deal}/invoice-draft", params={"provider": "quickbooks"}, headers=headers
    )
    if draft.status_code != 200:
        raise RuntimeError(f"no QuickBooks draft of deal {deal}: {draft.text[:300]}")
    return reviewed(draft.json())


async def prepared(
    app: httpx2.AsyncClient, sandbox: httpx2.AsyncClient, companies: int
) -> tuple[dict[str, str], list[Company], float]:
    """The demo company installed, both providers connected and linked; ``companies`` bench
    companies installed, connected to QuickBooks (each its own realm), linked, their drafts
    reviewed; then latency injected. Returns the demo's header, the companies and the seconds
    their set-up took."""
    (await sandbox.post("/_sandbox/reset")).raise_for_status()
    (await sandbox.post("/_sandbox/seed", params={"name": "demo"})).raise_for_status()
    headers = await install(app, sandbox)
    for provider in ("xero", "quickbooks"):
        await connect(app, sandbox, headers, provider)
        await link_everything(app, headers, provider)
    started = time.perf_counter()
    many = await bench_companies(app, sandbox, companies)
    took = time.perf_counter() - started
    await latency(sandbox, LATENCY_MS)
    return headers, many, took


async def bench_companies(
    app: httpx2.AsyncClient, sandbox: httpx2.AsyncClient, companies: int
) -> list[Company]:
    """The sandbox's `bench` seed, and each of its companies installed (by its admin) and
    connected to its own realm, one after the other (consent is approved for one user and one
    realm at a time), then linked and reviewed, ten at a time."""
    seeded = await sandbox.post("/_sandbox/seed", params={"name": "bench", "companies": companies})
    seeded.raise_for_status()
    pipedrive, realms = seeded.json()["pipedrive"]["companies"], seeded.json()["quickbooks"]
    installed = []
    for crm, realm in zip(pipedrive, realms["realms"], strict=True):
        headers = await install(app, sandbox, crm["admin_user_id"])
        await connect(app, sandbox, headers, "quickbooks", realm["realm_id"])
        installed.append((headers, crm["deal_id"]))
    gate = asyncio.Semaphore(10)

    async def ready(headers: dict[str, str], deal: int) -> Company:
        async with gate:
            await link_everything(app, headers, "quickbooks", deal)
            return Company(headers, deal, await quickbooks_body(app, headers, deal))

    return list(await asyncio.gather(*(ready(h, d) for h, d in installed)))


async def latency(sandbox: httpx2.AsyncClient, ms: int) -> None:
    await sandbox.delete("/_sandbox/faults")
    if ms:
        for prefix in PREFIXES.values():
            await sandbox.post(
                "/_sandbox/faults", json={"kind": "latency", "latency_ms": ms, "path": prefix}
            )


async def fresh_minute(sandbox: httpx2.AsyncClient) -> None:
    """The realms' 500 calls a minute start over (the stand-in's clock), so that a phase
    measures us and not what the phases before it used of the limit."""
    await sandbox.post("/_sandbox/clock/advance", json={"seconds": 60})


class Meter:
    """Wall time, our app's CPU time and the stand-ins' CPU time over one phase."""

    def __init__(self, world: World) -> None:
        self.world = world

    def __enter__(self) -> Meter:
        self.wall = time.perf_counter()
        self.app = self.world.app.cpu()
        self.standin = self.world.standin_cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.app = self.world.app.cpu() - self.app
        self.standin = self.world.standin_cpu() - self.standin


async def concurrently(count: int, concurrency: int, one: Callable[[], Awaitable[bool]]) -> int:
    """Run ``one()`` ``count`` times, ``concurrency`` at a time; returns how many failed."""
    remaining, failures = count, 0

    async def worker() -> None:
        nonlocal remaining, failures
        while remaining > 0:
            remaining -= 1
            if not await one():
                failures += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return failures


def spread(companies: list[Company]) -> Callable[[], Company]:
    """The next company, round-robin: each create goes to the one after the last's."""
    turn = itertools.cycle(companies)
    return lambda: next(turn)
