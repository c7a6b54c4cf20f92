"""Pipedrive's OAuth server: authorize URL, code exchange, refresh, revoke, and ``users/me``.

The authorize URL and token calls are the kit's Authlib-based ``OAuthClient``; every call
authenticates with HTTP Basic client_id:client_secret, as Pipedrive recommends.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx2

from app.config import Settings
from app.crm.pipedrive.errors import PipedriveAuthError, PipedriveError, PipedriveUnavailable
from app.crm.pipedrive.schemas import Me
from app.kit.oauth import OAuthClient, TokenSet


def callback_url(settings: Settings) -> str:
    """The one Callback URL: OAuth redirect_uri and the uninstall DELETE target."""
    return f"{settings.public_url}/pipedrive/callback"


def parse_json(response: httpx2.Response) -> Any:
    """JSON with every number that has a fraction as Decimal: money never passes through float."""
    try:
        return json.loads(response.content or b"null", parse_float=Decimal)
    except ValueError as exc:
        raise PipedriveError(
            f"Pipedrive answered {response.status_code} with a body that is not JSON"
        ) from exc


def _error_text(response: httpx2.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        for key in ("error_description", "error", "message"):
            if body.get(key):
                return str(body[key])
    return str(body)[:200]


# What each grant asks of Pipedrive, for messages.
_WHAT = {
    "authorization_code": "accept the authorization code",
    "refresh_token": "refresh the access token",
}


class PipedriveOAuth(OAuthClient):
    """The OAuth client of our Marketplace app (no PKCE, no scope parameter: the app's scopes
    are set in the Marketplace)."""

    name = "Pipedrive's OAuth server"
    # Pipedrive's access tokens live an hour; assumed when an answer leaves out expires_in.
    default_lifetime = timedelta(seconds=3599)

    def __init__(self, http: httpx2.AsyncClient, settings: Settings) -> None:
        super().__init__(settings.pipedrive, http, pkce=False)
        self.app_settings = settings
        self.config = settings.pipedrive

    @property
    def authorize_endpoint(self) -> str:
        return f"{self.config.oauth_url}/oauth/authorize"

    @property
    def token_endpoint(self) -> str:
        return f"{self.config.oauth_url}/oauth/token"

    @property
    def _auth(self) -> httpx2.BasicAuth:
        return httpx2.BasicAuth(self.config.client_id, self.config.client_secret)

    def authorize_url(self, state: str | None) -> str:
        request = self.authorization_request(
            redirect_uri=callback_url(self.app_settings), state=state or None
        )
        return request.url

    def unreachable(self, form: dict[str, str]) -> Exception:
        what = _WHAT.get(form.get("grant_type", ""), "answer")
        return PipedriveUnavailable(f"Pipedrive's OAuth server could not be reached to {what}")

    def refused(self, response: httpx2.Response, form: dict[str, str]) -> Exception:
        what = _WHAT.get(form.get("grant_type", ""), "answer")
        if response.status_code in (400, 401):
            return PipedriveAuthError(
                f"Pipedrive refused to {what}: {_error_text(response)}",
                extra={"status": response.status_code},
            )
        return PipedriveUnavailable(
            f"Pipedrive's OAuth server answered {response.status_code} when asked to {what}"
        )

    def unreadable(self, form: dict[str, str]) -> Exception:
        what = _WHAT.get(form.get("grant_type", ""), "answer")
        return PipedriveError(f"Pipedrive's token answer is missing fields ({what})")

    async def exchange_code(  # type: ignore[override]
        self, code: str, *, now: datetime | None = None
    ) -> TokenSet:
        return await super().exchange_code(
            code=code, redirect_uri=callback_url(self.app_settings), now=now
        )

    async def refresh(self, refresh_token: str) -> TokenSet:
        return await self._token(
            {"grant_type": "refresh_token", "refresh_token": refresh_token}, None
        )

    async def revoke(self, token: str, hint: str = "refresh_token") -> None:
        """Revoke a token (RFC 7009). Revoking the refresh token uninstalls the app."""
        try:
            response = await self.http.post(
                f"{self.config.oauth_url}/oauth/revoke",
                data={"token": token, "token_type_hint": hint},
                auth=self._auth,
            )
        except httpx2.HTTPError as exc:
            raise PipedriveUnavailable("Pipedrive's OAuth server could not be reached") from exc
        if response.status_code >= 300:
            raise PipedriveError(f"Pipedrive refused to revoke the token ({response.status_code})")

    async def me(self, api_domain: str, access_token: str) -> Me:
        """``GET /api/v1/users/me``: v2 has no identity endpoint."""
        try:
            response = await self.http.get(
                f"{api_domain.rstrip('/')}/api/v1/users/me",
                headers={"Authorization": f"Bearer {access_token}"},
            )
        except httpx2.HTTPError as exc:
            raise PipedriveUnavailable("Pipedrive could not be reached to identify you") from exc
        if response.status_code == 401:
            raise PipedriveAuthError("Pipedrive did not accept the new access token")
        if response.status_code >= 300:
            raise PipedriveError(
                f"Pipedrive answered {response.status_code} to users/me: {_error_text(response)}"
            )
        body = parse_json(response)
        try:
            return Me.model_validate(body["data"])
        except (KeyError, TypeError, ValueError) as exc:
            raise PipedriveError("Pipedrive's users/me answer has no usable data") from exc
