"""The accounting providers' side of OAuth: Xero and QuickBooks on the kit's OAuth client.

What is theirs: failures become ``ProviderAuthError`` / ``ProviderUnavailable`` (so the
connections layer can tell ``invalid_grant`` from our own client refused), and the id_token's
claims say who consented, decoded with joserfc (see ``decode_id_token`` on why its signature
is not checked).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx2
from joserfc import jws
from joserfc.errors import JoseError

from app.kit.oauth import OAuthClient, TokenSet, oauth_error
from app.providers.errors import ProviderAuthError, ProviderUnavailable


@dataclass(frozen=True)
class IdentityClaims:
    """Who consented, from the id_token (Xero: ``xero_userid``; QuickBooks: ``realmid``)."""

    subject: str
    email: str | None
    given_name: str | None
    family_name: str | None
    provider_user_id: str | None
    claims: dict[str, Any]


def oauth_failure(
    response: httpx2.Response, provider: str
) -> ProviderUnavailable | ProviderAuthError:
    """An OAuth endpoint's failure as our error: ``invalid_grant`` (and any other 400/401 OAuth
    error) → ProviderAuthError, so the caller marks the connection ``needs_reauth``; 5xx and
    429 → ProviderUnavailable."""
    name = provider.capitalize()
    if response.status_code >= 500 or response.status_code == 429:
        return ProviderUnavailable(
            f"{name} sign-in service is unavailable "
            f"(HTTP {response.status_code}); try again shortly.",
            provider=provider,
        )
    error, description = oauth_error(response)
    if error == "invalid_grant":
        return ProviderAuthError(
            f"{name} no longer accepts this connection's authorisation "
            f"({description or 'invalid_grant'}); reconnect it.",
            provider=provider,
            reason="invalid_grant",
        )
    if error in ("invalid_client", "unauthorized_client") or response.status_code == 401:
        return ProviderAuthError(
            f"{name} refused our app's client credentials "
            f"({description or error or response.status_code}).",
            provider=provider,
            reason="client",
        )
    return ProviderAuthError(
        f"{name} refused the authorisation request "
        f"({error or response.status_code}{': ' + description if description else ''}).",
        provider=provider,
        reason=error or "rejected",
    )


def raise_for_oauth(response: httpx2.Response, provider: str) -> None:
    """Map an OAuth endpoint's failure to our errors; return on success."""
    if not response.is_success:
        raise oauth_failure(response, provider)


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


class ProviderOAuthClient(OAuthClient):
    """What both providers' OAuth clients share beyond the kit: their errors and the
    id_token claims. Subclasses name their endpoints."""

    provider: str
    #: The callback's query parameter naming the company chosen at consent (QuickBooks:
    #: ``realmId``); None when the grant's organisations are listed afterwards (Xero).
    chosen_tenant_param: str | None = None

    def unreachable(self, form: dict[str, str]) -> Exception:
        return ProviderUnavailable(
            f"{self.provider.capitalize()} sign-in service could not be reached; "
            "try again shortly.",
            provider=self.provider,
            outcome_unknown=form.get("grant_type") == "refresh_token",
        )

    def refused(self, response: httpx2.Response, form: dict[str, str]) -> Exception:
        return oauth_failure(response, self.provider)

    def unreadable(self, form: dict[str, str]) -> Exception:
        return ProviderUnavailable(
            f"{self.provider.capitalize()} sign-in service gave an unreadable answer.",
            provider=self.provider,
        )

    async def refresh(self, refresh_token: str, *, now: datetime | None = None) -> TokenSet:
        """A new token set; the returned refresh token replaces the old one (rotation).

        ``invalid_grant`` raises ProviderAuthError(reason="invalid_grant").
        """
        return await self._token(
            {"grant_type": "refresh_token", "refresh_token": refresh_token}, now
        )

    async def revoke(self, token: str) -> None:
        """Revoke the grant (each provider names its own revocation call)."""
        raise NotImplementedError

    def identity(self, id_token: str, *, now: datetime | None = None) -> IdentityClaims:
        """The claims of the consent's id_token (who consented)."""
        return decode_id_token(
            id_token, provider=self.provider, client_id=self.settings.client_id, now=now
        )
