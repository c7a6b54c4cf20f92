"""Provider-side OAuth 2.0 pieces shared by Xero and QuickBooks (no database).

Built on Authlib's framework-independent parts: ``prepare_grant_uri`` for authorize URLs,
``create_s256_code_challenge`` for PKCE and ``generate_token`` for states and verifiers.
Authlib's httpx integration needs the ``httpx`` package while we use ``httpx2``, so the token
endpoint is called here directly with the shared ``httpx2.AsyncClient``. The id_token is
decoded with joserfc (see ``decode_id_token`` on why its signature is not checked).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jws
from joserfc.errors import JoseError

from app.providers.base import TokenSet
from app.providers.errors import ProviderAuthError, ProviderUnavailable


@dataclass(frozen=True)
class AuthorizationRequest:
    """Where to send the user, and what to keep (server side, with ``state``) for the callback."""

    url: str
    state: str
    code_verifier: str | None
    redirect_uri: str


@dataclass(frozen=True)
class IdentityClaims:
    """Who consented, from the id_token (Xero: ``xero_userid``; QuickBooks: ``realmid``)."""

    subject: str
    email: str | None
    given_name: str | None
    family_name: str | None
    provider_user_id: str | None
    claims: dict[str, Any]


def new_state() -> str:
    """An unguessable value for ``state`` (the connections layer signs and stores its own)."""
    return generate_token(43)


def new_code_verifier() -> str:
    """A PKCE verifier: 64 chars from [A-Za-z0-9] (RFC 7636 allows 43-128 of the unreserved set)."""
    return generate_token(64)


def authorize_url(
    endpoint: str,
    *,
    client_id: str,
    redirect_uri: str,
    scope: str,
    state: str,
    code_verifier: str | None,
    extra: dict[str, str] | None = None,
) -> AuthorizationRequest:
    params: dict[str, str] = dict(extra or {})
    if code_verifier:
        params["code_challenge"] = create_s256_code_challenge(code_verifier)
        params["code_challenge_method"] = "S256"
    url = prepare_grant_uri(
        endpoint,
        client_id,
        "code",
        redirect_uri=redirect_uri,
        scope=scope,
        state=state,
        **params,
    )
    return AuthorizationRequest(str(url), state, code_verifier, redirect_uri)


def basic_auth(client_id: str, client_secret: str) -> str:
    raw = f"{client_id}:{client_secret}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def token_set_from_json(data: dict[str, Any], now: datetime | None = None) -> TokenSet:
    """A token endpoint answer → TokenSet, with lifetimes turned into aware instants."""
    now = now or datetime.now(UTC)
    if not data.get("access_token"):
        raise ValueError("token response without access_token")

    def after(key: str) -> datetime | None:
        value = data.get(key)
        return now + timedelta(seconds=int(value)) if value not in (None, "") else None

    scope = data.get("scope") or ""
    return TokenSet(
        access_token=str(data["access_token"]),
        refresh_token=data.get("refresh_token"),
        token_type=str(data.get("token_type") or "Bearer"),
        expires_at=after("expires_in") or now + timedelta(minutes=30),
        refresh_expires_at=after("x_refresh_token_expires_in"),
        refresh_hard_expires_at=after("x_refresh_token_hard_expires_in"),
        scopes=tuple(str(scope).split()),
        id_token=data.get("id_token"),
    )


async def post_token(
    http: httpx2.AsyncClient,
    url: str,
    *,
    provider: str,
    client_id: str,
    client_secret: str,
    form: dict[str, str],
    headers: dict[str, str] | None = None,
    now: datetime | None = None,
) -> TokenSet:
    """POST to a token endpoint (client_secret_basic) and map failures.

    ``invalid_grant`` (and any other 400/401 OAuth error) → ProviderAuthError, so the caller
    marks the connection ``needs_reauth``; 5xx, timeouts → ProviderUnavailable. No retry here:
    a lost refresh answer is for the connections layer to retry with the same refresh token.
    """
    request_headers = {
        "Authorization": basic_auth(client_id, client_secret),
        "Accept": "application/json",
    }
    request_headers.update(headers or {})
    try:
        response = await http.post(url, data=form, headers=request_headers)
    except httpx2.TransportError as exc:
        raise ProviderUnavailable(
            f"{provider.capitalize()} sign-in service could not be reached; try again shortly.",
            provider=provider,
            outcome_unknown=form.get("grant_type") == "refresh_token",
        ) from exc
    raise_for_oauth(response, provider)
    try:
        return token_set_from_json(response.json(), now)
    except (ValueError, TypeError) as exc:
        raise ProviderUnavailable(
            f"{provider.capitalize()} sign-in service gave an unreadable answer.",
            provider=provider,
        ) from exc


def raise_for_oauth(response: httpx2.Response, provider: str) -> None:
    """Map an OAuth endpoint's failure to our errors; return on success."""
    if response.is_success:
        return
    if response.status_code >= 500 or response.status_code == 429:
        raise ProviderUnavailable(
            f"{provider.capitalize()} sign-in service is unavailable "
            f"(HTTP {response.status_code}); try again shortly.",
            provider=provider,
        )
    try:
        body = response.json()
    except ValueError:
        body = {}
    error = str(body.get("error") or "") if isinstance(body, dict) else ""
    description = str(body.get("error_description") or "") if isinstance(body, dict) else ""
    if error == "invalid_grant":
        raise ProviderAuthError(
            f"{provider.capitalize()} no longer accepts this connection's authorisation "
            f"({description or 'invalid_grant'}); reconnect it.",
            provider=provider,
            reason="invalid_grant",
        )
    if error in ("invalid_client", "unauthorized_client") or response.status_code == 401:
        raise ProviderAuthError(
            f"{provider.capitalize()} refused our app's client credentials "
            f"({description or error or response.status_code}).",
            provider=provider,
            reason="client",
        )
    raise ProviderAuthError(
        f"{provider.capitalize()} refused the authorisation request "
        f"({error or response.status_code}{': ' + description if description else ''}).",
        provider=provider,
        reason=error or "rejected",
    )


def decode_id_token(
    id_token: str,
    *,
    provider: str,
    client_id: str,
    now: datetime | None = None,
    leeway: int = 300,
) -> IdentityClaims:
    """Read the claims of an id_token received straight from the token endpoint.

    OpenID Connect Core §3.1.3.7 lets a client skip the signature check of an id_token it got
    directly from the token endpoint over TLS (the TLS server check authenticates the issuer),
    so we do not fetch the provider's JWKS; we do check ``aud`` and ``exp``.
    """
    try:
        payload = jws.extract_compact(id_token.encode()).payload
        claims = json.loads(payload)
    except (JoseError, ValueError, TypeError) as exc:
        raise ProviderAuthError(
            f"{provider.capitalize()} returned an unreadable id_token.",
            provider=provider,
            reason="id_token",
        ) from exc
    if not isinstance(claims, dict):
        raise ProviderAuthError("id_token has no claims", provider=provider, reason="id_token")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if client_id not in audiences:
        raise ProviderAuthError(
            "The id_token was issued for another app.", provider=provider, reason="id_token"
        )
    moment = (now or datetime.now(UTC)).timestamp()
    if "exp" in claims and float(claims["exp"]) + leeway < moment:
        raise ProviderAuthError("The id_token has expired.", provider=provider, reason="id_token")
    return IdentityClaims(
        subject=str(claims.get("sub") or ""),
        email=claims.get("email"),
        given_name=claims.get("given_name"),
        family_name=claims.get("family_name"),
        provider_user_id=claims.get("xero_userid") or claims.get("realmid"),
        claims=claims,
    )


class OAuthClient:
    """What both providers' OAuth clients share: the authorize request, the code exchange,
    the token calls and the id_token claims. Subclasses name their endpoints."""

    provider: str

    def __init__(self, settings: Any, http: httpx2.AsyncClient, *, pkce: bool) -> None:
        self.settings = settings
        self.http = http
        self.pkce = pkce

    @property
    def authorize_endpoint(self) -> str:
        raise NotImplementedError

    @property
    def token_endpoint(self) -> str:
        raise NotImplementedError

    def authorization_request(
        self, *, redirect_uri: str, state: str, scope: str | None = None
    ) -> AuthorizationRequest:
        """Where to send the admin. Keep ``code_verifier`` with the state for the callback."""
        return authorize_url(
            self.authorize_endpoint,
            client_id=self.settings.client_id,
            redirect_uri=redirect_uri,
            scope=scope or self.settings.scopes,
            state=state,
            code_verifier=new_code_verifier() if self.pkce else None,
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

    async def _token(
        self, form: dict[str, str], now: datetime | None, headers: dict[str, str] | None = None
    ) -> TokenSet:
        return await post_token(
            self.http,
            self.token_endpoint,
            provider=self.provider,
            client_id=self.settings.client_id,
            client_secret=self.settings.client_secret,
            form=form,
            headers=headers,
            now=now,
        )

    def identity(self, id_token: str, *, now: datetime | None = None) -> IdentityClaims:
        """The claims of the consent's id_token (who consented)."""
        return decode_id_token(
            id_token, provider=self.provider, client_id=self.settings.client_id, now=now
        )
