"""Intuit OAuth 2.0 for QuickBooks Online (quickbooks.md §1). No database here.

PKCE: Intuit's discovery document advertises no ``code_challenge_methods_supported`` and the
reference documents none, so we do not send a challenge by default (``pkce=True`` turns it on);
our confidential client authenticates with its secret and ``state`` guards the callback.
"""

from __future__ import annotations

from datetime import datetime

import httpx2

from app.config import QuickBooksSettings
from app.providers.base import TokenSet
from app.providers.oauth import (
    AuthorizationRequest,
    IdentityClaims,
    authorize_url,
    basic_auth,
    decode_id_token,
    new_code_verifier,
    post_token,
    raise_for_oauth,
)
from app.providers.quickbooks.spec import PROVIDER


class QuickBooksOAuth:
    """Authorize URL, code exchange, refresh, revoke, id_token claims, reconnect URL."""

    provider = PROVIDER

    def __init__(
        self, settings: QuickBooksSettings, http: httpx2.AsyncClient, *, pkce: bool = False
    ) -> None:
        self.settings = settings
        self.http = http
        self.pkce = pkce

    @property
    def authorize_endpoint(self) -> str:
        return f"{self.settings.appcenter_url}/connect/oauth2"

    @property
    def token_endpoint(self) -> str:
        return f"{self.settings.oauth_url}/oauth2/v1/tokens/bearer"

    @property
    def revocation_endpoint(self) -> str:
        return f"{self.settings.developer_api_url}/v2/oauth2/tokens/revoke"

    def authorization_request(
        self, *, redirect_uri: str, state: str, scope: str | None = None
    ) -> AuthorizationRequest:
        """Where to send the admin; the callback brings ``code``, ``state`` and ``realmId``."""
        return authorize_url(
            self.authorize_endpoint,
            client_id=self.settings.client_id,
            redirect_uri=redirect_uri,
            scope=scope or self.settings.scopes,
            state=state,
            code_verifier=new_code_verifier() if self.pkce else None,
        )

    def reconnect_url(self, app_id: str, realm_id: str) -> str:
        """Intuit's reconnect link for a company whose refresh token hit its hard cap."""
        return (
            f"{self.settings.appcenter_url}/app/connect/oauth2/request?appId={app_id}"
            f"&realmId={realm_id}&mode=reconnect"
        )

    async def exchange_code(
        self,
        *,
        code: str,
        redirect_uri: str,
        code_verifier: str | None = None,
        now: datetime | None = None,
    ) -> TokenSet:
        """Trade the callback's ``code`` for tokens (single use: never retried)."""
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if code_verifier:
            form["code_verifier"] = code_verifier
        return await self._token(form, now)

    async def refresh(self, refresh_token: str, *, now: datetime | None = None) -> TokenSet:
        """A new token set; store the returned refresh token (its value rotates about daily).

        Asks for the five-year hard expiry too (``x_refresh_token_hard_expires_in``).
        """
        return await self._token(
            {"grant_type": "refresh_token", "refresh_token": refresh_token},
            now,
            headers={"x-include-refresh-token-hard-expires-in": "true"},
        )

    async def _token(
        self, form: dict[str, str], now: datetime | None, headers: dict[str, str] | None = None
    ) -> TokenSet:
        return await post_token(
            self.http,
            self.token_endpoint,
            provider=PROVIDER,
            client_id=self.settings.client_id,
            client_secret=self.settings.client_secret,
            form=form,
            headers=headers,
            now=now,
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

    def identity(self, id_token: str, *, now: datetime | None = None) -> IdentityClaims:
        """``sub`` and ``realmid`` of the consent (email needs the userinfo endpoint)."""
        return decode_id_token(
            id_token, provider=PROVIDER, client_id=self.settings.client_id, now=now
        )
