"""Xero OAuth 2.0 and the tenant connections API (xero.md §2). No database here.

PKCE: Xero documents PKCE for its "Auth Code with PKCE" app type (no client secret); whether a
confidential web app may add ``code_challenge`` is UNCONFIRMED. Xero's identity server is
an OpenID Connect server that checks PKCE whenever a challenge was sent, and RFC 9700 §2.1.1
recommends PKCE for confidential clients too, so we send S256 by default and keep a switch
(``pkce=False``) should a production app ever be refused for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx2

from app.config import XeroSettings
from app.kit.oauth import basic_auth
from app.providers.errors import ProviderNotFound
from app.providers.oauth import ProviderOAuthClient, raise_for_oauth
from app.providers.xero.mapping import parse_datetime
from app.providers.xero.spec import PROVIDER


@dataclass(frozen=True)
class XeroConnection:
    """One organisation the grant reaches: ``id`` is the connection id (for DELETE), not the
    tenant id."""

    id: str
    tenant_id: str
    tenant_name: str
    tenant_type: str
    auth_event_id: str | None
    created_at: datetime | None


class XeroOAuth(ProviderOAuthClient):
    """Authorize URL, code exchange, refresh, revoke, connections, id_token claims."""

    provider = PROVIDER
    settings: XeroSettings

    def __init__(
        self, settings: XeroSettings, http: httpx2.AsyncClient, *, pkce: bool = True
    ) -> None:
        super().__init__(settings, http, pkce=pkce)

    @property
    def authorize_endpoint(self) -> str:
        return f"{self.settings.login_url}/identity/connect/authorize"

    @property
    def token_endpoint(self) -> str:
        return f"{self.settings.identity_url}/connect/token"

    @property
    def revocation_endpoint(self) -> str:
        return f"{self.settings.identity_url}/connect/revocation"

    @property
    def connections_endpoint(self) -> str:
        return f"{self.settings.api_url}/connections"

    async def revoke(self, refresh_token: str) -> None:
        """Revoke the grant: Xero also removes all of that user's tenant connections."""
        response = await self.http.post(
            self.revocation_endpoint,
            data={"token": refresh_token},
            headers={
                "Authorization": basic_auth(self.settings.client_id, self.settings.client_secret),
                "Accept": "application/json",
            },
        )
        raise_for_oauth(response, PROVIDER)

    async def connections(
        self, access_token: str, *, auth_event_id: str | None = None
    ) -> list[XeroConnection]:
        """The tenants this token reaches (``GET /connections``)."""
        params = {"authEventId": auth_event_id} if auth_event_id else {}
        response = await self.http.get(
            self.connections_endpoint,
            params=params,
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        )
        raise_for_api(response)
        return [connection_from_json(c) for c in response.json()]

    async def delete_connection(self, access_token: str, connection_id: str) -> None:
        """Disconnect one tenant (``DELETE /connections/{id}``); already gone counts as done."""
        response = await self.http.delete(
            f"{self.connections_endpoint}/{connection_id}",
            headers={"Authorization": f"Bearer {access_token}"},
        )
        if response.status_code == 404:
            return
        raise_for_api(response)


def connection_from_json(data: dict[str, Any]) -> XeroConnection:
    return XeroConnection(
        id=str(data["id"]),
        tenant_id=str(data["tenantId"]),
        tenant_name=str(data.get("tenantName") or ""),
        tenant_type=str(data.get("tenantType") or "ORGANISATION"),
        auth_event_id=data.get("authEventId"),
        created_at=parse_datetime(data.get("createdDateUtc")),
    )


def raise_for_api(response: httpx2.Response) -> None:
    """Identity API answers map like API answers (401 → auth, 5xx → unavailable)."""
    if response.is_success:
        return
    from app.providers.xero.errors import parse_error

    error = parse_error(response)
    if response.status_code == 404 and not isinstance(error, ProviderNotFound):
        raise ProviderNotFound("Xero connection not found", provider=PROVIDER)
    raise error
