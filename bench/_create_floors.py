"""What bench/create_invoice.py measures against: the floors of (a) and (b) measured directly
(the CRM reads and the adapter's create alone, with the same latency), and the creates per
second the QuickBooks stand-in serves on its own for (e)."""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._create_world import DEAL, QBO_REALM, World


async def measured_floors(
    world: World, payload: dict[str, Any], samples: int
) -> tuple[float, float]:
    """The floors measured directly, with the same latency: two sequential CRM reads (the
    deal, then its organization) and one invoice create through the adapter alone."""
    from sqlalchemy import select

    from app.connections.models import ProviderConnection
    from app.crm.pipedrive.models import PipedriveInstallation
    from app.db import create_engine, create_sessionmaker
    from app.invoices.rules.lines import provider_draft
    from app.invoices.rules.meta import ProviderMeta
    from app.invoices.schemas import InvoiceIn
    from app.providers import build_providers
    from app.providers.base import Credentials, Organisation

    engine = create_engine(world.settings)
    try:
        async with create_sessionmaker(engine)() as session:
            install = (await session.execute(select(PipedriveInstallation))).scalars().first()
            xero = (
                await session.execute(
                    select(ProviderConnection).where(ProviderConnection.provider == "xero")
                )
            ).scalar_one()
            assert install is not None and xero.access_token
    finally:
        await engine.dispose()
    crm_headers = {"Authorization": f"Bearer {install.access_token}"}
    creds = Credentials(access_token=xero.access_token, tenant_id=xero.tenant_id)
    async with httpx2.AsyncClient(timeout=60) as http:
        adapter = build_providers(world.settings, http)["xero"]  # type: ignore[index]
        features = await adapter.get_features(creds)
        body = InvoiceIn.model_validate(payload)
        meta = ProviderMeta(
            provider="xero",
            organisation=Organisation(id=xero.tenant_id, name="", base_currency="NZD"),
            features=features,
            tax_rates=(),
            currencies=(),
        )
        draft = provider_draft(
            meta,
            contact_id=body.customer.contact_id or "",
            issue_date=body.issue_date,
            due_date=body.due_date,
            currency=body.currency,
            tax_mode=body.tax_mode,
            tax_code=body.tax_code,
            template_id=body.template_id,
            reference=body.reference,
            url=None,
            lines=body.lines,
            discount=body.global_discount,
            bill_email=None,
        )
        crm, provider = [], []
        for _ in range(samples):
            started = time.perf_counter()
            deal = await http.get(f"{install.api_domain}/api/v2/deals/{DEAL}", headers=crm_headers)
            org_id = deal.json()["data"]["org_id"]
            await http.get(
                f"{install.api_domain}/api/v2/organizations/{org_id}", headers=crm_headers
            )
            crm.append(time.perf_counter() - started)
            started = time.perf_counter()
            await adapter.create_invoice(creds, draft, idempotency_key=str(uuid.uuid4()))
            provider.append(time.perf_counter() - started)
    return statistics.median(crm), statistics.median(provider)


async def standin_create_rate(sandbox: httpx2.AsyncClient, world: World, invoices: int) -> float:
    """QuickBooks invoice creates per second one core of the stand-in serves: creates sent
    straight to it at its concurrency limit (10 per realm) with a token of its own (the
    sandbox's non-interactive consent), divided by the CPU its process spent on them. A rate
    in wall time would measure QuickBooks' 10 requests a second per realm, which the stand-in
    enforces: a refused create moves the stand-in's clock to its next second and is sent
    again."""
    # A fresh minute window: our own runs above used part of the realm's 500 calls a minute.
    await sandbox.post("/_sandbox/clock/advance", json={"seconds": 60})
    qbo = world.settings.quickbooks
    redirect = f"{world.settings.public_url}/connections/quickbooks/callback"
    await sandbox.post("/_sandbox/quickbooks/auto-approve", json={"realm_id": QBO_REALM})
    consent = await sandbox.get(
        "/quickbooks/appcenter/connect/oauth2",
        params={
            "client_id": qbo.client_id,
            "response_type": "code",
            "scope": "com.intuit.quickbooks.accounting",
            "redirect_uri": redirect,
            "state": "bench",
        },
    )
    code = parse_qs(urlsplit(consent.headers["location"]).query)["code"][0]
    token = await sandbox.post(
        "/quickbooks/oauth/oauth2/v1/tokens/bearer",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect},
        auth=(qbo.client_id, qbo.client_secret),
    )
    headers = {
        "Authorization": f"Bearer {token.json()['access_token']}",
        "Accept": "application/json",
    }
    body = {
        "CustomerRef": {"value": "1"},
        "Line": [
            {
                "Amount": 150,
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 1, "UnitPrice": 150},
            }
        ],
    }
    remaining = invoices

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            while True:
                response = await sandbox.post(
                    f"/quickbooks/api/v3/company/{QBO_REALM}/invoice", json=body, headers=headers
                )
                if response.status_code != 429:
                    break
                await sandbox.post("/_sandbox/clock/advance", json={"seconds": 1})
            response.raise_for_status()

    cpu = world.standin_cpu()
    await asyncio.gather(*(worker() for _ in range(10)))
    return invoices / max(world.standin_cpu() - cpu, 1e-3)
