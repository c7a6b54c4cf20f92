"""Intuit's OAuth 2.0 server: authorize page, token and revoke endpoints (quickbooks.md §1)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from joserfc import jwt
from joserfc.jwk import OctKey

from sandbox.oauth import Grants, client_matches, parse_basic, redirect_with
from sandbox.quickbooks.errors import OAuthError
from sandbox.templating import render

if TYPE_CHECKING:
    from sandbox.app import Sandbox

ACCESS_TTL = 3600
REFRESH_TTL = 8726400  # ≈101 days, the rolling life seen in Intuit's samples
HARD_CAP = 5 * 365 * 24 * 3600  # the five-year maximum life (2025 policy)
REALM_SCOPES = ("com.intuit.quickbooks.accounting", "com.intuit.quickbooks.payment")
ISSUER = "https://oauth.platform.intuit.com/op/v1"


@dataclass
class AutoApprove:
    """Non-interactive mode: authorize requests redirect at once, approving or denying."""

    realm_id: str | None = None
    deny: bool = False
    user_email: str | None = None


class OAuthState:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.grants = Grants(sandbox.store, sandbox.clock, "qbo")
        self.auto: AutoApprove | None = None

    def reset(self) -> None:
        self.auto = None


def _realms(sandbox: Sandbox) -> list[dict[str, Any]]:
    return sandbox.store.all("qbo:realm")


def _error_page(request: Request, message: str) -> Response:
    response: Response = render(
        request, "quickbooks/oauth_error.html", status_code=400, message=message
    )
    return response


def _approve(state: OAuthState, params: dict[str, str], realm_id: str, user: str) -> str:
    scope = params.get("scope", "")
    with_realm = any(s in scope.split() for s in REALM_SCOPES)
    code = state.grants.issue_code(
        {
            "client_id": params["client_id"],
            "redirect_uri": params["redirect_uri"],
            "scope": scope,
            "realm_id": realm_id if with_realm else None,
            "user": user,
        }
    )
    return redirect_with(
        params["redirect_uri"],
        {"code": code, "state": params.get("state"), "realmId": realm_id if with_realm else None},
    )


def _check_authorize(state: OAuthState, request: Request, params: dict[str, str]) -> str | None:
    """None when the request is acceptable, else the error shown on Intuit's error page."""
    client = state.sandbox.settings.quickbooks_client
    if params.get("client_id") != client.client_id:
        return "Invalid client_id: this app is not registered."
    if params.get("redirect_uri") not in client.redirect_uris:
        # Intuit shows an error page and does not redirect to an unregistered URI.
        return (
            "The redirect_uri query parameter value is invalid. Make sure it is listed in the "
            "Redirect URIs section on your app's keys tab and matches it exactly."
        )
    return None


def _token_response(
    state: OAuthState, grant: dict[str, Any], request: Request, refresh: str, access: str
) -> dict[str, Any]:
    now = state.sandbox.clock.timestamp()
    body: dict[str, Any] = {
        "token_type": "bearer",
        "access_token": access,
        "refresh_token": refresh,
        "expires_in": ACCESS_TTL,
        "x_refresh_token_expires_in": int(min(REFRESH_TTL, grant["hard_expires_at"] - now)),
    }
    if request.headers.get("x-include-refresh-token-hard-expires-in", "").lower() == "true":
        body["x_refresh_token_hard_expires_in"] = int(grant["hard_expires_at"] - now)
    if "openid" in grant["scope"].split():
        client = state.sandbox.settings.quickbooks_client
        claims = {
            "iss": ISSUER,
            "sub": grant["user"],
            "aud": [client.client_id],
            "realmid": grant.get("realm_id"),
            "auth_time": int(grant["created_at"]),
            "iat": int(now),
            "exp": int(now + ACCESS_TTL),
        }
        key = OctKey.import_key(client.client_secret.encode().ljust(32, b"\0"))
        body["id_token"] = jwt.encode({"alg": "HS256"}, claims, key)
    return body


def _issue(state: OAuthState, grant: dict[str, Any], request: Request) -> dict[str, Any]:
    now = state.sandbox.clock.timestamp()
    access = state.grants.issue_access(
        grant["id"], ACCESS_TTL, {"realm_id": grant.get("realm_id"), "scope": grant["scope"]}
    )
    refresh = state.grants.issue_refresh(
        grant["id"], int(min(REFRESH_TTL, grant["hard_expires_at"] - now))
    )
    return _token_response(state, grant, request, refresh, access)


def _client(state: OAuthState, request: Request, form: dict[str, str]) -> None:
    client = state.sandbox.settings.quickbooks_client
    creds = parse_basic(request.headers.get("authorization"))
    if creds is None and form.get("client_id"):
        creds = (form["client_id"], form.get("client_secret", ""))
    if creds is None or not client_matches(client, *creds):
        raise OAuthError(401, "invalid_client")


def install(router: APIRouter, state: OAuthState) -> None:
    consent_routes(router, state)
    token_routes(router, state)


def consent_routes(router: APIRouter, state: OAuthState) -> None:
    """appcenter.intuit.com: the consent page and the person's answer."""

    @router.get("/quickbooks/appcenter/connect/oauth2", include_in_schema=False)
    async def authorize(request: Request) -> Response:
        params = dict(request.query_params)
        problem = _check_authorize(state, request, params)
        if problem:
            return _error_page(request, problem)
        if params.get("response_type") != "code":
            target = redirect_with(
                params["redirect_uri"],
                {"error": "unsupported_response_type", "state": params.get("state")},
            )
            return RedirectResponse(target, 302)
        if not params.get("scope"):
            target = redirect_with(
                params["redirect_uri"], {"error": "invalid_scope", "state": params.get("state")}
            )
            return RedirectResponse(target, 302)
        auto = state.auto
        if auto is not None:
            if auto.deny:
                target = redirect_with(
                    params["redirect_uri"],
                    {"error": "access_denied", "state": params.get("state")},
                )
                return RedirectResponse(target, 302)
            realms = _realms(state.sandbox)
            realm_id = auto.realm_id or (realms[0]["realm_id"] if realms else "")
            user = auto.user_email or _first_user(state.sandbox, realm_id)
            return RedirectResponse(_approve(state, params, realm_id, user), 302)
        response: Response = render(
            request,
            "quickbooks/authorize.html",
            params=params,
            realms=_realms(state.sandbox),
        )
        return response

    @router.post("/quickbooks/appcenter/connect/oauth2", include_in_schema=False)
    async def decide(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        params = {k[2:]: v for k, v in form.items() if k.startswith("p_")}
        problem = _check_authorize(state, request, params)
        if problem:
            return _error_page(request, problem)
        if form.get("decision") != "allow":
            target = redirect_with(
                params["redirect_uri"], {"error": "access_denied", "state": params.get("state")}
            )
            return RedirectResponse(target, 302)
        realm_id = form.get("realm_id", "")
        if state.sandbox.store.get("qbo:realm", realm_id) is None:
            return _error_page(request, "Choose a company to connect.")
        user = form.get("user") or _first_user(state.sandbox, realm_id)
        return RedirectResponse(_approve(state, params, realm_id, user), 302)


def token_routes(router: APIRouter, state: OAuthState) -> None:
    """The token and revoke endpoints."""

    @router.post("/quickbooks/oauth/oauth2/v1/tokens/bearer", tags=["quickbooks"])
    async def token(request: Request) -> dict[str, Any]:
        """Exchange a code or refresh token (Basic client auth, form body)."""
        form = dict(parse_qsl((await request.body()).decode()))
        _client(state, request, form)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return _exchange_code(state, request, form)
        if grant_type == "refresh_token":
            return _refresh(state, request, form)
        raise OAuthError(400, "unsupported_grant_type")

    @router.post("/quickbooks/developer/v2/oauth2/tokens/revoke", tags=["quickbooks"])
    async def revoke(request: Request) -> Response:
        """Revoke a refresh or access token: the whole connection ends."""
        creds = parse_basic(request.headers.get("authorization"))
        client = state.sandbox.settings.quickbooks_client
        if creds is None or not client_matches(client, *creds):
            raise OAuthError(401, "invalid_client")
        try:
            token_value = json.loads(await request.body() or b"{}").get("token")
        except (ValueError, AttributeError):
            token_value = None
        if not token_value:
            raise OAuthError(400, "invalid_request", "token is required")
        record = state.grants.refresh_record(token_value) or state.sandbox.store.get(
            "qbo:access", token_value
        )
        if record:
            state.grants.revoke_grant(record["grant_id"])
        return Response(status_code=200)


def _first_user(sandbox: Sandbox, realm_id: str) -> str:
    realm = sandbox.store.get("qbo:realm", realm_id) or {}
    users = realm.get("_users") or [{"email": "admin@sandbox.test"}]
    return str(users[0]["email"])


def _exchange_code(state: OAuthState, request: Request, form: dict[str, str]) -> dict[str, Any]:
    data, reason = state.grants.consume_code(form.get("code", ""))
    if data is None:
        raise OAuthError(400, "invalid_grant", f"Authorization code {reason}")
    client = state.sandbox.settings.quickbooks_client
    if data["client_id"] != client.client_id:
        raise OAuthError(400, "invalid_grant", "Code was issued to another client")
    if form.get("redirect_uri") != data["redirect_uri"]:
        raise OAuthError(400, "invalid_grant", "redirect_uri does not match the authorize request")
    now = state.sandbox.clock.timestamp()
    grant_id = state.grants.create_grant(
        {
            "client_id": data["client_id"],
            "realm_id": data["realm_id"],
            "scope": data["scope"],
            "user": data["user"],
            "created_at": now,
            "hard_expires_at": now + HARD_CAP,
        }
    )
    grant = state.grants.grant(grant_id)
    assert grant is not None
    return _issue(state, grant, request)


def _refresh(state: OAuthState, request: Request, form: dict[str, str]) -> dict[str, Any]:
    token_value = form.get("refresh_token", "")
    with state.sandbox.store.transaction():
        record = state.grants.refresh_record(token_value)
        now = state.sandbox.clock.timestamp()
        if record is None:
            raise OAuthError(400, "invalid_grant", "Token invalid")
        grant = state.grants.grant(record["grant_id"])
        if (
            grant is None
            or grant.get("revoked")
            or record["revoked"]
            or record["superseded_at"] is not None
            or record["expires_at"] < now
        ):
            # QBO rotates: once a newer refresh token exists, the previous one is dead.
            raise OAuthError(400, "invalid_grant", "Token invalid")
        state.grants.mark_superseded(token_value)
        return _issue(state, grant, request)
