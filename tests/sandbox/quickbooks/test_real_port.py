"""The QuickBooks stand-in on a real port, as the product reaches it (session sandbox server)."""

from __future__ import annotations

import asyncio
import base64
from urllib.parse import parse_qs, urlparse

import httpx2

from app.config import Settings
from tests.sandbox.quickbooks.conftest import REALM
from tests.support.sandbox import SandboxControl


async def connect(sandbox: SandboxControl, settings: Settings) -> str:
    redirect = f"{settings.public_url}/connections/quickbooks/callback"
    await sandbox.http.post("/_sandbox/quickbooks/auto-approve", json={"realm_id": REALM})
    authorize = await sandbox.http.get(
        "/quickbooks/appcenter/connect/oauth2",
        params={
            "client_id": settings.quickbooks.client_id,
            "response_type": "code",
            "scope": "com.intuit.quickbooks.accounting",
            "redirect_uri": redirect,
            "state": "s",
        },
    )
    assert authorize.status_code == 302, authorize.text
    query = parse_qs(urlparse(authorize.headers["location"]).query)
    assert query["realmId"] == [REALM]
    creds = f"{settings.quickbooks.client_id}:{settings.quickbooks.client_secret}"
    token = await sandbox.http.post(
        "/quickbooks/oauth/oauth2/v1/tokens/bearer",
        data={
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": redirect,
        },
        headers={"Authorization": "Basic " + base64.b64encode(creds.encode()).decode()},
    )
    assert token.status_code == 200, token.text
    access: str = token.json()["access_token"]
    return access


async def test_oauth_and_api_over_a_real_socket(
    sandbox: SandboxControl, settings: Settings
) -> None:
    access = await connect(sandbox, settings)
    headers = {"Authorization": f"Bearer {access}", "Accept": "application/json"}
    invoices = await sandbox.http.get(
        f"/quickbooks/api/v3/company/{REALM}/query",
        params={"query": "SELECT * FROM Invoice WHERE CustomerRef = '1'"},
        headers=headers,
    )
    assert len(invoices.json()["QueryResponse"]["Invoice"]) == 4
    assert invoices.headers["intuit_tid"]
    paid = await sandbox.http.post(
        "/_sandbox/quickbooks/payments", json={"invoice_id": "1", "amount": "6495"}
    )
    assert paid.json()["Invoice"]["Balance"] == 0
    deliveries = await sandbox.webhooks("quickbooks")
    assert deliveries and deliveries[-1]["headers"]["intuit-signature"]


async def test_concurrency_limit_holds_on_a_real_server(
    sandbox: SandboxControl, settings: Settings
) -> None:
    access = await connect(sandbox, settings)
    await sandbox.http.post("/_sandbox/quickbooks/processing-time", json={"seconds": 0.5})
    url = f"{sandbox.url}/quickbooks/api/v3/company/{REALM}/term/1"
    limits = httpx2.Limits(max_connections=40)
    async with httpx2.AsyncClient(limits=limits, timeout=30) as client:
        responses = await asyncio.gather(
            *(client.get(url, headers={"Authorization": f"Bearer {access}"}) for _ in range(30))
        )
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) <= 10
    assert statuses.count(429) >= 1
    assert statuses.count(200) + statuses.count(429) == 30
    peak = (await sandbox.http.get("/_sandbox/quickbooks/limits")).json()["peak_concurrency"]
    assert peak <= 10
