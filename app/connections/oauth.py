"""The provider calls the connections domain makes, on top of the adapter layer.

Everything provider-shaped lives in app/providers/ (authorize URLs, token endpoint, revocation,
Xero connections, id_token claims, Organisation and Users reads). This module only adapts it to
the connect flow and the token service: one facade per provider, and the few errors the token
service must tell apart (``invalid_grant`` vs a lost answer vs our own client refused).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

import httpx2
from starlette.datastructures import State

from app.config import Settings
from app.connections.models import Provider
from app.errors import AppError
from app.kit.oauth import TokenSet
from app.kit.oauth import authorize_url as build_authorize_url
from app.kit.refresher import InvalidGrant
from app.providers import build_providers
from app.providers.base import AccountingProvider, Credentials, Organisation, ProviderName
from app.providers.errors import ProviderAuthError, ProviderError, ProviderUnavailable
from app.providers.oauth import ProviderOAuthClient
from app.providers.xero.api import XeroUser
from app.providers.xero.client import XeroProvider
from app.providers.xero.oauth import XeroConnection
from app.providers.xero.oauth import XeroOAuth as XeroOAuthClient

__all__ = [
    "ClientRefused",
    "Credentials",
    "ProviderFacade",
    "TokenAnswerLost",
    "XeroConnection",
    "XeroUser",
    "facade_for",
    "pkce_verifier",
]


class TokenAnswerLost(AppError):
    """The token endpoint did not answer usably (timeout, dropped connection, 5xx).

    The provider may have rotated the refresh token before the failure, so the caller retries
    with the same refresh token (Xero honours the previous one for 30 minutes).
    """

    status_code = 503
    code = "provider_unavailable"


class ClientRefused(AppError):
    """The provider refused our own client credentials: configuration, not the user's doing."""

    status_code = 503
    code = "provider_client_refused"


def pkce_verifier(secret_key: str, nonce: str) -> str:
    """The PKCE verifier for one state nonce, derived so that it never leaves the server and
    needs no storage between the redirect and the callback."""
    digest = hmac.new(secret_key.encode(), f"pkce\x00{nonce}".encode(), hashlib.sha256).digest()
    # 43 characters of [A-Za-z0-9-_]: within RFC 7636's 43-128 range and alphabet.
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _token_error(exc: ProviderError) -> AppError:
    if isinstance(exc, ProviderUnavailable):
        return TokenAnswerLost(exc.message)
    if isinstance(exc, ProviderAuthError) and exc.reason == "invalid_grant":
        return InvalidGrant(exc.message)
    if isinstance(exc, ProviderAuthError) and exc.reason == "client":
        return ClientRefused(exc.message)
    return exc


@dataclass
class ProviderFacade:
    """What connecting needs from one provider: OAuth client plus its accounting adapter."""

    provider: Provider
    settings: Settings
    oauth: ProviderOAuthClient
    adapter: AccountingProvider

    @property
    def uses_pkce(self) -> bool:
        # The OAuth client knows (Xero documents PKCE; Intuit documents none).
        return self.oauth.pkce

    def redirect_uri(self) -> str:
        return f"{self.settings.public_url}/connections/{self.provider.value}/callback"

    def authorize_url(self, state: str, code_verifier: str) -> str:
        request = build_authorize_url(
            self.oauth.authorize_endpoint,
            client_id=self.oauth.settings.client_id,
            redirect_uri=self.redirect_uri(),
            scope=self.oauth.settings.scopes,
            state=state,
            code_verifier=code_verifier if self.uses_pkce else None,
        )
        return request.url

    async def exchange_code(self, code: str, code_verifier: str) -> TokenSet:
        try:
            return await self.oauth.exchange_code(
                code=code,
                redirect_uri=self.redirect_uri(),
                code_verifier=code_verifier if self.uses_pkce else None,
            )
        except ProviderError as exc:
            raise _token_error(exc) from exc

    async def refresh(self, refresh_token: str) -> TokenSet:
        """Raises InvalidGrant, TokenAnswerLost or ClientRefused (or another AppError)."""
        try:
            return await self.oauth.refresh(refresh_token)
        except ProviderError as exc:
            raise _token_error(exc) from exc

    async def revoke(self, refresh_token: str) -> None:
        try:
            await self.oauth.revoke(refresh_token)
        except ProviderAuthError as exc:
            if exc.reason == "client":
                raise
            # Already revoked or expired: the provider no longer honours it, which is the goal.

    def email_of(self, id_token: str | None) -> str:
        """The consenting person's email from the id_token ('' when it carries none)."""
        if not id_token:
            return ""
        return (self.oauth.identity(id_token).email or "").strip()

    async def organisation(self, creds: Credentials) -> Organisation:
        return await self.adapter.get_organisation(creds)

    # --- Xero only ----------------------------------------------------------------------------

    @property
    def xero_oauth(self) -> XeroOAuthClient:
        assert isinstance(self.oauth, XeroOAuthClient)
        return self.oauth

    async def xero_connections(self, access_token: str) -> list[XeroConnection]:
        """The organisations this grant reaches; practices hold no invoices, so only
        ORGANISATION tenants are offered."""
        rows = await self.xero_oauth.connections(access_token)
        return [c for c in rows if c.tenant_type == "ORGANISATION"]

    async def xero_delete_connection(self, access_token: str, connection_id: str) -> None:
        await self.xero_oauth.delete_connection(access_token, connection_id)

    async def xero_users(self, creds: Credentials) -> list[XeroUser]:
        assert isinstance(self.adapter, XeroProvider)
        return await self.adapter.list_users(creds)


def adapters_of(state: State, settings: Settings, http: httpx2.AsyncClient) -> dict[Any, Any]:
    """The process's adapters (they hold per-tenant rate limiters), built once per app."""
    adapters = getattr(state, "providers", None)
    if adapters is None:
        adapters = build_providers(settings, http)
        state.providers = adapters
    return dict(adapters)


def facade_for(
    provider: Provider,
    settings: Settings,
    http: httpx2.AsyncClient,
    adapters: dict[Any, Any] | None = None,
) -> ProviderFacade:
    """The facade for ``provider``; pass the app's adapters to share their rate limiters."""
    adapters = adapters or build_providers(settings, http)
    adapter = adapters[ProviderName(provider.value)]
    # Each adapter carries its own OAuth client, built over the same settings and HTTP client.
    return ProviderFacade(provider, settings, adapter.oauth, adapter)
