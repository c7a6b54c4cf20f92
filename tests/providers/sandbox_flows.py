"""Connecting our adapters to the sandbox stand-ins through their real OAuth flows."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx2

from app.config import Settings
from app.kit.http import RetryPolicy
from app.kit.oauth import TokenSet, new_state
from app.providers.base import Credentials
from app.providers.quickbooks import QuickBooksProvider
from app.providers.xero import XeroProvider
from tests.support.sandbox import SandboxControl

QBO_REALM = "9130350000000001"
XERO_NZ = "b1f3c0de-0000-4000-8000-000000000001"
XERO_AU = "b1f3c0de-0000-4000-8000-000000000002"
# Quick retries for tests; the policy is otherwise the production one.
TEST_RETRY = RetryPolicy(attempts=4, backoff_initial=0.05, backoff_max=0.2, max_retry_after=3)


@dataclass
class Connected:
    creds: Credentials
    tokens: TokenSet
    callback: dict[str, str]


def callback_params(response: httpx2.Response, redirect_uri: str) -> dict[str, str]:
    assert response.is_redirect, (response.status_code, response.text[:300])
    location = response.headers["Location"]
    assert location.startswith(redirect_uri), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def connect_quickbooks(
    settings: Settings, sandbox: SandboxControl, provider: QuickBooksProvider
) -> Connected:
    await sandbox.http.post("/_sandbox/quickbooks/auto-approve", json={"realm_id": QBO_REALM})
    redirect_uri = f"{settings.public_url}/connections/quickbooks/callback"
    auth = provider.oauth.authorization_request(redirect_uri=redirect_uri, state=new_state())
    response = await provider.oauth.http.get(auth.url, follow_redirects=False)
    params = callback_params(response, redirect_uri)
    assert params["state"] == auth.state
    tokens = await provider.oauth.exchange_code(
        code=params["code"], redirect_uri=redirect_uri, code_verifier=auth.code_verifier
    )
    return Connected(Credentials(access_token=tokens.access_token, tenant_id=params["realmId"]),
                     tokens, params)  # fmt: skip


async def connect_xero(
    settings: Settings,
    sandbox: SandboxControl,
    provider: XeroProvider,
    *,
    email: str = "nora@northwind.test",
    tenant_ids: tuple[str, ...] = (XERO_NZ, XERO_AU),
    tenant_id: str = XERO_NZ,
) -> Connected:
    await sandbox.http.post(
        "/_sandbox/xero/auto-approve", json={"email": email, "tenant_ids": list(tenant_ids)}
    )
    redirect_uri = f"{settings.public_url}/connections/xero/callback"
    auth = provider.oauth.authorization_request(redirect_uri=redirect_uri, state=new_state())
    response = await provider.oauth.http.get(auth.url, follow_redirects=False)
    params = callback_params(response, redirect_uri)
    assert params["state"] == auth.state
    tokens = await provider.oauth.exchange_code(
        code=params["code"], redirect_uri=redirect_uri, code_verifier=auth.code_verifier
    )
    return Connected(Credentials(access_token=tokens.access_token, tenant_id=tenant_id),
                     tokens, params)  # fmt: skip
