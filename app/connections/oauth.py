"""The provider side of connecting: authorize URLs, token endpoint calls, revocation, and the
few API reads the connect flow needs (Xero connections, organisation and users; QuickBooks
company info and preferences).

The adapter layer (app/providers/) owns every accounting operation; this module holds only the
OAuth plumbing the connections domain needs, written here because the adapters take ready
credentials and never touch the token endpoints. Endpoints follow ../shared/reference/: every
URL comes from settings, so the sandbox stand-ins answer in tests and the demo.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx2
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from app.config import Settings
from app.connections.models import Provider
from app.db import utcnow
from app.errors import AppError


class InvalidGrant(AppError):
    """The provider refused the refresh token or code (``invalid_grant``): re-consent needed."""

    status_code = 409
    code = "invalid_grant"


class TokenAnswerLost(AppError):
    """The token endpoint did not answer usably (timeout, dropped connection, 5xx).

    The provider may have rotated the refresh token before the failure, so the caller retries
    with the same refresh token (Xero honours the previous one for 30 minutes).
    """

    status_code = 503
    code = "provider_unavailable"


class ClientRefused(AppError):
    """The provider refused our own client credentials: a configuration problem, not the user's."""

    status_code = 503
    code = "provider_client_refused"


class ProviderCallFailed(AppError):
    """A connect-time API read failed; ``unauthorized`` marks a refused access token (401)."""

    status_code = 502
    code = "provider_error"

    def __init__(self, message: str, *, unauthorized: bool = False) -> None:
        super().__init__(message)
        self.unauthorized = unauthorized
        # Duck-typed like app.providers.errors.ProviderAuthError for the token service's retry.
        self.reason = "token_rejected" if unauthorized else ""


@dataclass(frozen=True)
class TokenSet:
    """A token endpoint answer; ``refresh_token`` always replaces the stored one."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: datetime
    refresh_expires_at: datetime | None = None
    id_token: str | None = field(default=None, repr=False)
    scope: str = ""


@dataclass(frozen=True)
class XeroTenant:
    connection_id: str
    tenant_id: str
    tenant_name: str
    tenant_type: str
    auth_event_id: str | None


@dataclass(frozen=True)
class OrganisationInfo:
    name: str
    base_currency: str
    short_code: str | None
    timezone: str | None


def jwt_claims(token: str | None) -> dict[str, Any]:
    """The claims of a JWT without verifying its signature.

    Used only on tokens that we received directly from the provider's token endpoint over TLS
    with our client credentials (OpenID Connect Core 3.1.3.7 allows TLS validation in place of
    a signature check there). An opaque or malformed token gives no claims.
    """
    if not token or token.count(".") != 2:
        return {}
    body = token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}


def pkce_verifier(secret_key: str, nonce: str) -> str:
    """The PKCE verifier for one state nonce, derived so that it never leaves the server."""
    digest = hmac.new(secret_key.encode(), f"pkce\x00{nonce}".encode(), hashlib.sha256).digest()
    # 43 characters of [A-Za-z0-9-_]: within RFC 7636's 43-128 range and alphabet.
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class ProviderOAuth:
    """OAuth client for one provider, over the app's shared HTTP client."""

    #: Whether the authorize request carries a PKCE challenge. Xero documents PKCE; for a
    #: confidential client (with a secret) it is UNCONFIRMED, so we send it, which an
    #: authorization server that ignores it tolerates. Intuit documents no PKCE.
    uses_pkce: bool = False
    provider: Provider

    def __init__(self, settings: Settings, http: httpx2.AsyncClient) -> None:
        self.settings = settings
        self.http = http

    # --- configuration ------------------------------------------------------------------

    @property
    def client_id(self) -> str:
        raise NotImplementedError

    @property
    def client_secret(self) -> str:
        raise NotImplementedError

    @property
    def authorize_endpoint(self) -> str:
        raise NotImplementedError

    @property
    def token_endpoint(self) -> str:
        raise NotImplementedError

    @property
    def scopes(self) -> str:
        raise NotImplementedError

    def redirect_uri(self) -> str:
        return f"{self.settings.public_url}/connections/{self.provider.value}/callback"

    def _basic(self) -> str:
        raw = f"{self.client_id}:{self.client_secret}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    # --- authorize and token ------------------------------------------------------------

    def authorize_url(self, state: str, code_verifier: str | None) -> str:
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri(),
            "scope": self.scopes,
            "state": state,
        }
        if self.uses_pkce and code_verifier:
            params["code_challenge"] = create_s256_code_challenge(code_verifier)
            params["code_challenge_method"] = "S256"
        return f"{self.authorize_endpoint}?{urlencode(params)}"

    async def exchange_code(self, code: str, code_verifier: str | None) -> TokenSet:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri(),
        }
        if self.uses_pkce and code_verifier:
            form["code_verifier"] = code_verifier
        return await self._token_call(form)

    async def refresh(self, refresh_token: str) -> TokenSet:
        """Exchange a refresh token; raises InvalidGrant, TokenAnswerLost or ClientRefused."""
        return await self._token_call(
            {"grant_type": "refresh_token", "refresh_token": refresh_token}
        )

    async def _token_call(self, form: dict[str, str]) -> TokenSet:
        name = self.provider.value
        try:
            response = await self.http.post(
                self.token_endpoint,
                data=form,
                headers={"Authorization": self._basic(), "Accept": "application/json"},
                timeout=20.0,
            )
        except httpx2.TransportError as exc:
            raise TokenAnswerLost(
                f"{name} did not answer the token request ({type(exc).__name__})"
            ) from exc
        if response.status_code >= 500:
            raise TokenAnswerLost(f"{name} answered the token request with {response.status_code}")
        try:
            body = response.json()
        except ValueError as exc:
            if response.status_code == 200:
                raise TokenAnswerLost(f"{name} sent an unreadable token answer") from exc
            body = {}
        if response.status_code != 200:
            error = str(body.get("error", "")) if isinstance(body, dict) else ""
            description = str(body.get("error_description", "")) if isinstance(body, dict) else ""
            if error == "invalid_client" or response.status_code == 401:
                raise ClientRefused(
                    f"{name} refused this app's client credentials; check the "
                    f"{name.upper()}_CLIENT_ID and {name.upper()}_CLIENT_SECRET settings"
                )
            if error == "invalid_grant":
                raise InvalidGrant(
                    f"{name} no longer accepts this connection's authorisation"
                    + (f" ({description})" if description else "")
                )
            raise AppError(
                f"{name} refused the token request: {error or response.status_code}"
                + (f" ({description})" if description else ""),
                code="provider_oauth_error",
            )
        if not isinstance(body, dict) or not body.get("access_token"):
            raise TokenAnswerLost(f"{name} sent a token answer without an access token")
        now = utcnow()
        refresh_life = body.get("x_refresh_token_expires_in")
        return TokenSet(
            access_token=str(body["access_token"]),
            refresh_token=str(body["refresh_token"]) if body.get("refresh_token") else None,
            expires_at=now + timedelta(seconds=int(body.get("expires_in") or 1800)),
            refresh_expires_at=(now + timedelta(seconds=int(refresh_life)))
            if refresh_life
            else None,
            id_token=body.get("id_token"),
            scope=str(body.get("scope", "")),
        )

    async def revoke(self, refresh_token: str) -> None:
        raise NotImplementedError

    # --- helpers for API reads ------------------------------------------------------------

    async def _get(self, url: str, access_token: str, headers: dict[str, str] | None = None) -> Any:
        name = self.provider.value
        try:
            response = await self.http.get(
                url,
                headers={
                    "Authorization": f"Bearer {access_token}",
                    "Accept": "application/json",
                    **(headers or {}),
                },
            )
        except httpx2.TransportError as exc:
            raise ProviderCallFailed(f"{name} could not be reached ({type(exc).__name__})") from exc
        if response.status_code == 401:
            raise ProviderCallFailed(f"{name} refused the access token", unauthorized=True)
        if response.status_code >= 400:
            raise ProviderCallFailed(
                f"{name} answered {response.status_code} to GET {url.rsplit('/', 1)[-1]}"
            )
        return response.json()


class XeroOAuth(ProviderOAuth):
    provider = Provider.xero
    uses_pkce = True

    @property
    def client_id(self) -> str:
        return self.settings.xero.client_id

    @property
    def client_secret(self) -> str:
        return self.settings.xero.client_secret

    @property
    def authorize_endpoint(self) -> str:
        return f"{self.settings.xero.login_url}/identity/connect/authorize"

    @property
    def token_endpoint(self) -> str:
        return f"{self.settings.xero.identity_url}/connect/token"

    @property
    def scopes(self) -> str:
        return self.settings.xero.scopes

    async def revoke(self, refresh_token: str) -> None:
        """Revoke the grant (Xero removes all of this user's connections to the app too)."""
        try:
            response = await self.http.post(
                f"{self.settings.xero.identity_url}/connect/revocation",
                data={"token": refresh_token},
                headers={"Authorization": self._basic()},
            )
        except httpx2.TransportError as exc:
            raise ProviderCallFailed(f"xero could not be reached ({type(exc).__name__})") from exc
        if response.status_code >= 500:
            raise ProviderCallFailed(f"xero answered {response.status_code} to the revocation")

    async def connections(self, access_token: str) -> list[XeroTenant]:
        """The organisations this grant reaches; narrowed to this consent when the access
        token names its authentication event (that claim is UNCONFIRMED, so it is optional)."""
        url = f"{self.settings.xero.api_url}/connections"
        event = jwt_claims(access_token).get("authentication_event_id")
        if event:
            url += "?" + urlencode({"authEventId": event})
        rows = await self._get(url, access_token)
        tenants = [
            XeroTenant(
                connection_id=str(r.get("id", "")),
                tenant_id=str(r.get("tenantId", "")),
                tenant_name=str(r.get("tenantName") or ""),
                tenant_type=str(r.get("tenantType") or "ORGANISATION"),
                auth_event_id=r.get("authEventId"),
            )
            for r in (rows if isinstance(rows, list) else [])
        ]
        # Practices (tenantType PRACTICE) hold no invoices: only organisations can be chosen.
        return [t for t in tenants if t.tenant_id and t.tenant_type == "ORGANISATION"]

    async def delete_connection(self, access_token: str, connection_id: str) -> None:
        """Disconnect one tenant; a 404 means it is already gone."""
        try:
            response = await self.http.delete(
                f"{self.settings.xero.api_url}/connections/{connection_id}",
                headers={"Authorization": f"Bearer {access_token}"},
            )
        except httpx2.TransportError as exc:
            raise ProviderCallFailed(f"xero could not be reached ({type(exc).__name__})") from exc
        if response.status_code == 401:
            raise ProviderCallFailed("xero refused the access token", unauthorized=True)
        if response.status_code not in (200, 204, 404):
            raise ProviderCallFailed(
                f"xero answered {response.status_code} to DELETE /connections/{connection_id}"
            )

    def _accounting(self, path: str) -> str:
        return f"{self.settings.xero.api_url}/api.xro/2.0/{path}"

    async def organisation(self, access_token: str, tenant_id: str) -> OrganisationInfo:
        body = await self._get(
            self._accounting("Organisation"), access_token, {"xero-tenant-id": tenant_id}
        )
        orgs = body.get("Organisations") or [] if isinstance(body, dict) else []
        if not orgs:
            raise ProviderCallFailed("xero returned no organisation for this tenant")
        org = orgs[0]
        return OrganisationInfo(
            name=str(org.get("Name") or ""),
            base_currency=str(org.get("BaseCurrency") or ""),
            short_code=org.get("ShortCode"),
            timezone=org.get("Timezone"),
        )

    async def users(self, access_token: str, tenant_id: str) -> list[dict[str, Any]]:
        body = await self._get(
            self._accounting("Users"), access_token, {"xero-tenant-id": tenant_id}
        )
        users = body.get("Users") if isinstance(body, dict) else None
        return [u for u in (users or []) if isinstance(u, dict)]


class QuickBooksOAuth(ProviderOAuth):
    provider = Provider.quickbooks

    @property
    def client_id(self) -> str:
        return self.settings.quickbooks.client_id

    @property
    def client_secret(self) -> str:
        return self.settings.quickbooks.client_secret

    @property
    def authorize_endpoint(self) -> str:
        return f"{self.settings.quickbooks.appcenter_url}/connect/oauth2"

    @property
    def token_endpoint(self) -> str:
        return f"{self.settings.quickbooks.oauth_url}/oauth2/v1/tokens/bearer"

    @property
    def scopes(self) -> str:
        return self.settings.quickbooks.scopes

    async def revoke(self, refresh_token: str) -> None:
        try:
            response = await self.http.post(
                f"{self.settings.quickbooks.developer_api_url}/v2/oauth2/tokens/revoke",
                json={"token": refresh_token},
                headers={"Authorization": self._basic(), "Accept": "application/json"},
            )
        except httpx2.TransportError as exc:
            raise ProviderCallFailed(
                f"quickbooks could not be reached ({type(exc).__name__})"
            ) from exc
        if response.status_code >= 500:
            raise ProviderCallFailed(
                f"quickbooks answered {response.status_code} to the revocation"
            )

    def _company(self, realm_id: str, path: str) -> str:
        minor = self.settings.quickbooks.minor_version
        return (
            f"{self.settings.quickbooks.api_url}/v3/company/{realm_id}/{path}?minorversion={minor}"
        )

    async def organisation(self, access_token: str, realm_id: str) -> OrganisationInfo:
        info = await self._get(self._company(realm_id, f"companyinfo/{realm_id}"), access_token)
        company = info.get("CompanyInfo", {}) if isinstance(info, dict) else {}
        prefs = await self._get(self._company(realm_id, "preferences"), access_token)
        currency = (
            ((prefs.get("Preferences") or {}).get("CurrencyPrefs") or {}).get("HomeCurrency") or {}
            if isinstance(prefs, dict)
            else {}
        )
        return OrganisationInfo(
            name=str(company.get("CompanyName") or ""),
            base_currency=str(currency.get("value") or ""),
            short_code=None,
            timezone=company.get("DefaultTimeZone"),
        )


def oauth_for(provider: Provider, settings: Settings, http: httpx2.AsyncClient) -> ProviderOAuth:
    if provider == Provider.xero:
        return XeroOAuth(settings, http)
    return QuickBooksOAuth(settings, http)
