"""Helpers for the connections tests: drive the consent through the sandbox over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx2
import pytest

from app.connections.tokens import TokenService
from app.tenants.models import CrmUser

XERO_NZ = "b1f3c0de-0000-4000-8000-000000000001"
XERO_AU = "b1f3c0de-0000-4000-8000-000000000002"
REALM = "9130350000000001"
TOKEN_PATH = {"xero": "/xero/identity/connect/token", "quickbooks": "/oauth2/v1/tokens/bearer"}


def local(url: str) -> str:
    """The path and query of one of our URLs, to replay it over ASGI."""
    parsed = httpx2.URL(url)
    return parsed.raw_path.decode()


class Flow:
    """Runs a consent: our connect redirect → sandbox authorize (auto-approved) → callback."""

    def __init__(self, client: httpx2.AsyncClient, sandbox: Any, auth_headers: Callable) -> None:
        self.client = client
        self.sandbox = sandbox
        self.auth_headers = auth_headers

    async def start(self, user: CrmUser, provider: str) -> str:
        response = await self.client.get(
            f"/connections/{provider}/connect", headers=self.auth_headers(user)
        )
        assert response.status_code == 303, response.text
        return response.headers["location"]

    async def authorize(self, authorize_url: str) -> str:
        """Follow the provider's authorize URL until it sends the browser back to us."""
        response = await self.sandbox.http.get(authorize_url, follow_redirects=False)
        assert response.status_code in (302, 303), response.text
        return response.headers["location"]

    async def arm_xero(
        self,
        email: str = "nora@northwind.test",
        tenant_ids: tuple[str, ...] = (XERO_NZ,),
        deny: bool = False,
    ) -> None:
        response = await self.sandbox.http.post(
            "/_sandbox/xero/auto-approve",
            json={"email": email, "tenant_ids": list(tenant_ids), "deny": deny},
        )
        response.raise_for_status()

    async def arm_quickbooks(self, realm_id: str = REALM, deny: bool = False) -> None:
        response = await self.sandbox.http.post(
            "/_sandbox/quickbooks/auto-approve", json={"realm_id": realm_id, "deny": deny}
        )
        response.raise_for_status()

    async def xero(
        self,
        user: CrmUser,
        email: str = "nora@northwind.test",
        tenant_ids: tuple[str, ...] = (XERO_NZ,),
        deny: bool = False,
    ) -> httpx2.Response:
        await self.arm_xero(email, tenant_ids, deny)
        callback = await self.authorize(await self.start(user, "xero"))
        return await self.client.get(local(callback))

    async def quickbooks(
        self, user: CrmUser, realm_id: str = REALM, deny: bool = False
    ) -> httpx2.Response:
        await self.arm_quickbooks(realm_id, deny)
        callback = await self.authorize(await self.start(user, "quickbooks"))
        return await self.client.get(local(callback))


@pytest.fixture
def flow(client, sandbox, auth_headers) -> Flow:
    return Flow(client, sandbox, auth_headers)


@pytest.fixture
def tokens(app) -> TokenService:
    """A token service like the app's, with short waits between lost-answer retries."""
    return TokenService(
        app.state.settings, app.state.sessionmaker, app.state.http, lost_answer_backoff=0.01
    )
