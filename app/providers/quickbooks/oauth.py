"""Intuit OAuth 2.0 for QuickBooks Online (quickbooks.md §1). No database here.

PKCE: Intuit's discovery document advertises no ``code_challenge_methods_supported`` and the
reference documents none, so we do not send a challenge by default (``pkce=True`` turns it on);
our confidential client authenticates with its secret and ``state`` guards the callback.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import httpx2

from app.config import QuickBooksSettings
from app.kit.oauth import TokenSet, basic_auth
from app.providers.oauth import ProviderOAuthClient, raise_for_oauth
from app.providers.quickbooks.spec import PROVIDER


class QuickBooksOAuth(ProviderOAuthClient):
    """Authorize URL, code exchange, refresh, revoke, id_token claims, reconnect URL."""

    provider = PROVIDER
    chosen_tenant_param = "realmId"
    # The five-year hard expiry of the refresh token (``x_refresh_token_hard_expires_in``),
    # on the first exchange as on every refresh: admins are warned before it ends.
    token_headers: ClassVar[dict[str, str]] = {"x-include-refresh-token-hard-expires-in": "true"}
    settings: QuickBooksSettings

    def __init__(
        self, settings: QuickBooksSettings, http: httpx2.AsyncClient, *, pkce: bool = False
    ) -> None:
        super().__init__(settings, http, pkce=pkce)

    @property
    def authorize_endpoint(self) -> str:
        return f"{self.settings.appcenter_url}/connect/oauth2"

    @property
    def token_endpoint(self) -> str:
        return f"{self.settings.oauth_url}/oauth2/v1/tokens/bearer"

    @property
    def revocation_endpoint(self) -> str:
        return f"{self.settings.developer_api_url}/v2/oauth2/tokens/revoke"

    def reconnect_url(self, app_id: str, realm_id: str) -> str:
        """Intuit's reconnect link for a company whose refresh token hit its hard cap."""
        return (
            f"{self.settings.appcenter_url}/app/connect/oauth2/request?appId={app_id}"
            f"&realmId={realm_id}&mode=reconnect"
        )

    async def refresh(self, refresh_token: str, *, now: datetime | None = None) -> TokenSet:
        """A new token set; store the returned refresh token (its value rotates about daily).

        Asks for the five-year hard expiry too (``x_refresh_token_hard_expires_in``).
        """
        return await self._token(
            {"grant_type": "refresh_token", "refresh_token": refresh_token}, now
        )

    async def revoke(self, token: str) -> None:
        """Revoke the refresh (or access) token: JSON body, Basic auth (quickbooks.md §1.1)."""
        response = await self.http.post(
            self.revocation_endpoint,
            json={"token": token},
            headers={
                "Authorization": basic_auth(self.settings.client_id, self.settings.client_secret),
                "Accept": "application/json",
            },
        )
        raise_for_oauth(response, PROVIDER)
