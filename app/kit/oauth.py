"""OAuth 2.0 client pieces shared by every party we sign in to: Xero, QuickBooks and Pipedrive.

Built on Authlib's framework-independent parts: ``prepare_grant_uri`` for authorize URLs,
``create_s256_code_challenge`` for PKCE and ``generate_token`` for states and verifiers.
Authlib's httpx integration needs the ``httpx`` package while we use ``httpx2``, so the token
endpoint is called here directly with the shared ``httpx2.AsyncClient``.

The kit knows no party: a subclass names its endpoints and turns failures into its own errors
(``unreachable``, ``refused``, ``unreadable``).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import httpx2
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from pydantic import BaseModel, ConfigDict, Field

from app.errors import AppError, ServiceUnavailable


class TokenSet(BaseModel):
    """A token endpoint answer. ``refresh_token`` always replaces the stored one (rotation)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    access_token: str = Field(repr=False)
    refresh_token: str | None = Field(default=None, repr=False)
    token_type: str = "Bearer"
    expires_at: datetime
    # QuickBooks: rolling refresh-token life and the five-year hard cap, when announced.
    refresh_expires_at: datetime | None = None
    refresh_hard_expires_at: datetime | None = None
    scopes: tuple[str, ...] = ()
    id_token: str | None = Field(default=None, repr=False)
    # Pipedrive: the company's own API host, announced with every token.
    api_domain: str | None = None


@dataclass(frozen=True)
class AuthorizationRequest:
    """Where to send the user, and what to keep (server side, with ``state``) for the callback."""

    url: str
    state: str | None
    code_verifier: str | None
    redirect_uri: str


def new_state() -> str:
    """An unguessable value for ``state`` (the callers sign and store their own)."""
    return generate_token(43)


def new_code_verifier() -> str:
    """A PKCE verifier: 64 chars from [A-Za-z0-9] (RFC 7636 allows 43-128 of the unreserved set)."""
    return generate_token(64)


def authorize_url(
    endpoint: str,
    *,
    client_id: str,
    redirect_uri: str,
    scope: str | None,
    state: str | None,
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


def token_set_from_json(
    data: dict[str, Any],
    now: datetime | None = None,
    default_lifetime: timedelta = timedelta(minutes=30),
) -> TokenSet:
    """A token endpoint answer → TokenSet, with lifetimes turned into aware instants."""
    now = now or datetime.now(UTC)
    if not isinstance(data, dict) or not data.get("access_token"):
        raise ValueError("token response without access_token")

    def after(key: str) -> datetime | None:
        value = data.get(key)
        return now + timedelta(seconds=int(value)) if value not in (None, "") else None

    scope = data.get("scope") or ""
    return TokenSet(
        access_token=str(data["access_token"]),
        refresh_token=data.get("refresh_token"),
        token_type=str(data.get("token_type") or "Bearer"),
        expires_at=after("expires_in") or now + default_lifetime,
        refresh_expires_at=after("x_refresh_token_expires_in"),
        refresh_hard_expires_at=after("x_refresh_token_hard_expires_in"),
        scopes=tuple(str(scope).split()),
        id_token=data.get("id_token"),
        api_domain=data.get("api_domain"),
    )


def oauth_error(response: httpx2.Response) -> tuple[str, str]:
    """``(error, error_description)`` of an OAuth endpoint's failure (RFC 6749 §5.2)."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        return "", ""
    return str(body.get("error") or ""), str(body.get("error_description") or "")


class OAuthClient:
    """The authorize request, the code exchange and the token calls (client_secret_basic).

    ``settings`` carries ``client_id``, ``client_secret`` and (optionally) ``scopes``.
    Subclasses name their endpoints and may override the three error hooks.
    """

    name: str = "the OAuth server"
    # Lifetime assumed when the token answer gives no ``expires_in``.
    default_lifetime = timedelta(minutes=30)
    # Headers sent with every token call (code exchange and refresh).
    token_headers: ClassVar[dict[str, str]] = {}

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
        self, *, redirect_uri: str, state: str | None, scope: str | None = None
    ) -> AuthorizationRequest:
        """Where to send the user. Keep ``code_verifier`` with the state for the callback."""
        return authorize_url(
            self.authorize_endpoint,
            client_id=self.settings.client_id,
            redirect_uri=redirect_uri,
            scope=scope or getattr(self.settings, "scopes", None),
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
        """POST to the token endpoint and map failures. No retry here: a lost refresh answer
        is for the caller to retry with the same refresh token."""
        request_headers = {
            "Authorization": basic_auth(self.settings.client_id, self.settings.client_secret),
            "Accept": "application/json",
        }
        request_headers.update(self.token_headers)
        request_headers.update(headers or {})
        try:
            response = await self.http.post(self.token_endpoint, data=form, headers=request_headers)
        except httpx2.HTTPError as exc:
            raise self.unreachable(form) from exc
        if not response.is_success:
            raise self.refused(response, form)
        try:
            data = json.loads(response.content or b"null", parse_float=Decimal)
            return token_set_from_json(data, now, self.default_lifetime)
        except (ValueError, TypeError) as exc:
            raise self.unreadable(form) from exc

    # --- error hooks -------------------------------------------------------------------------

    def unreachable(self, form: dict[str, str]) -> Exception:
        """The token endpoint could not be reached (or the answer was lost)."""
        return ServiceUnavailable(f"{self.name} could not be reached; try again shortly.")

    def refused(self, response: httpx2.Response, form: dict[str, str]) -> Exception:
        """The token endpoint answered with an error."""
        error, description = oauth_error(response)
        return AppError(f"{self.name} refused: {description or error or response.status_code}")

    def unreadable(self, form: dict[str, str]) -> Exception:
        """The token endpoint's answer is not a usable token set."""
        return ServiceUnavailable(f"{self.name} gave an unreadable answer.")
