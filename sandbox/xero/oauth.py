"""Xero's identity server: the consent page, token and revocation endpoints, JWKS, and the
connections API (xero.md section 2).

Policy: access tokens live 30 minutes; the refresh token rotates on every refresh, the previous
one stays usable for 30 minutes from its first rotation, then answers `invalid_grant`; a refresh
token unused for 60 days expires. Revocation kills the grant and all the user's connections.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from joserfc import jwt

from sandbox.oauth import Client, client_matches, parse_basic, pkce_ok, redirect_with
from sandbox.xero import pages
from sandbox.xero.state import (
    ACCESS_TTL,
    AUTHORIZE_PARAMS,
    KNOWN_SCOPES,
    REFRESH_GRACE,
    REFRESH_TTL,
    XeroState,
    new_id,
)


def conn_time(moment: datetime) -> str:
    """Connections use .NET-style timestamps: 7 fractional digits, no offset."""
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}0"


def token_error(error: str, status: int = 400, description: str | None = None) -> JSONResponse:
    body = {"error": error}
    if description:
        body["error_description"] = description
    return JSONResponse(body, status, headers={"cache-control": "no-store"})


class IdentityServer:
    def __init__(self, state: XeroState) -> None:
        self.state = state

    @property
    def client(self) -> Client:
        return self.state.sandbox.settings.xero_client

    # ---------------------------------------------------------------- authorize
    def check_authorize(self, params: dict[str, str]) -> tuple[Response | None, list[str]]:
        """Validate an authorize request: (error response or None, requested scopes)."""
        client = self.client
        if params.get("client_id") != client.client_id:
            return pages.identity_error(
                "unauthorized_client", "Unknown client or client not enabled"
            ), []
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in client.redirect_uris:
            # Never redirect to an unregistered URI: show the error, as Xero's login page does.
            return pages.identity_error("unauthorized_client", "Invalid redirect_uri"), []
        state = params.get("state")
        if params.get("response_type") != "code":
            return RedirectResponse(
                redirect_with(redirect_uri, {"error": "unsupported_response_type", "state": state}),
                302,
            ), []
        scopes = params.get("scope", "").split()
        if not scopes or any(s not in KNOWN_SCOPES for s in scopes):
            return RedirectResponse(
                redirect_with(redirect_uri, {"error": "invalid_scope", "state": state}), 302
            ), []
        if params.get("code_challenge") and params.get("code_challenge_method", "plain") != "S256":
            # Xero's PKCE flow documents S256 only.
            return RedirectResponse(
                redirect_with(redirect_uri, {"error": "invalid_request", "state": state}), 302
            ), []
        return None, scopes

    def user_tenants(self, user: dict[str, Any]) -> list[str]:
        return [t for t in user.get("roles", {}) if self.state.org(t) is not None]

    def approve(self, params: dict[str, str], user: dict[str, Any], tenant_ids: list[str]) -> str:
        """Record the consent (connections), issue a code, return the redirect URL."""
        state = self.state
        auth_event_id = new_id()
        now = state.now()
        existing = {
            c["tenantId"]: c
            for c in state.store.all("xero:connection", scope=user["UserID"])
            if c["_client_id"] == self.client.client_id
        }
        for tenant_id in tenant_ids:
            org = state.org(tenant_id) or {}
            conn = existing.get(tenant_id) or {
                "id": new_id(),
                "tenantId": tenant_id,
                "tenantType": "ORGANISATION",
                "createdDateUtc": conn_time(now),
                "_client_id": self.client.client_id,
            }
            conn.update(
                authEventId=auth_event_id,
                tenantName=org.get("Name", ""),
                updatedDateUtc=conn_time(now),
            )
            state.store.put("xero:connection", conn["id"], conn, scope=user["UserID"])
        code = state.grants.issue_code(
            {
                "client_id": params.get("client_id"),
                "redirect_uri": params.get("redirect_uri"),
                "scopes": params.get("scope", "").split(),
                "user_id": user["UserID"],
                "tenant_ids": tenant_ids,
                "auth_event_id": auth_event_id,
                "code_challenge": params.get("code_challenge"),
                "code_challenge_method": params.get("code_challenge_method"),
                "nonce": params.get("nonce"),
            }
        )
        return redirect_with(
            params["redirect_uri"],
            {"code": code, "scope": params.get("scope"), "state": params.get("state")},
        )

    # ---------------------------------------------------------------- tokens
    def auto_decide(self, params: dict[str, str]) -> Response:
        """Answer an authorize request the way the control API armed it, without a page."""
        state = self.state
        auto = state.auto
        assert auto is not None
        if auto.remaining is not None:
            auto.remaining -= 1
            if auto.remaining <= 0:
                state.auto = None
        if auto.deny:
            return RedirectResponse(
                redirect_with(
                    params["redirect_uri"], {"error": "access_denied", "state": params["state"]}
                ),
                302,
            )
        email = (auto.email or "").lower()
        user = next((u for u in state.users() if u["EmailAddress"].lower() == email), None)
        if user is not None:
            tenants = auto.tenant_ids or self.user_tenants(user)
            if all(t in user.get("roles", {}) for t in tenants) and tenants:
                return RedirectResponse(self.approve(params, user, tenants), 302)
        return pages.identity_error("access_denied", "Auto-approve user or organisation unknown")

    def authenticate(self, request: Request, form: dict[str, str]) -> tuple[bool, bool]:
        """(authenticated, public) from a Basic header or client_id/client_secret in the body."""
        client = self.client
        basic = parse_basic(request.headers.get("authorization"))
        if basic is not None:
            return client_matches(client, *basic), False
        client_id = form.get("client_id", "")
        secret = form.get("client_secret")
        if secret is not None:
            return client_matches(client, client_id, secret), False
        # A PKCE app has no secret: the client id alone, proven later by the code verifier.
        return secrets.compare_digest(client_id.encode(), client.client_id.encode()), True

    def tokens(self, grant: dict[str, Any]) -> dict[str, Any]:
        state = self.state
        now = int(state.clock.timestamp())
        user = state.user(grant["user_id"]) or {}
        access_claims = {
            "nbf": now,
            "exp": now + ACCESS_TTL,
            "iss": state.issuer,
            "aud": f"{state.issuer}/resources",
            "client_id": grant["client_id"],
            "sub": user.get("_sub", ""),
            "auth_time": grant["auth_time"],
            "xero_userid": grant["user_id"],
            "global_session_id": grant["session_id"],
            "sid": grant["session_id"],
            "jti": secrets.token_hex(16),
            "authentication_event_id": grant["auth_event_id"],
            "scope": grant["scopes"],
        }
        header = {"alg": "RS256", "kid": state.key.kid, "typ": "JWT"}
        access = state.grants.issue_access(
            grant["id"], ACCESS_TTL, token=jwt.encode(header, access_claims, state.key)
        )
        body: dict[str, Any] = {}
        if "openid" in grant["scopes"]:
            id_claims = {
                "nbf": now,
                "exp": now + 300,
                "iss": state.issuer,
                "aud": grant["client_id"],
                "iat": now,
                "auth_time": grant["auth_time"],
                "sub": user.get("_sub", ""),
                "xero_userid": grant["user_id"],
                "global_session_id": grant["session_id"],
                "sid": grant["session_id"],
                "preferred_username": user.get("EmailAddress"),
                "email": user.get("EmailAddress"),
                "given_name": user.get("FirstName"),
                "family_name": user.get("LastName"),
                "name": f"{user.get('FirstName', '')} {user.get('LastName', '')}".strip(),
                "amr": ["pwd"],
            }
            if grant.get("nonce"):
                id_claims["nonce"] = grant["nonce"]
            body["id_token"] = jwt.encode(header, id_claims, state.key)
        body.update(access_token=access, expires_in=ACCESS_TTL, token_type="Bearer")
        if "offline_access" in grant["scopes"]:
            body["refresh_token"] = state.grants.issue_refresh(grant["id"], REFRESH_TTL)
        body["scope"] = " ".join(grant["scopes"])
        return body

    def exchange_code(self, form: dict[str, str], public: bool) -> JSONResponse:
        data, _reason = self.state.grants.consume_code(form.get("code", ""))
        if data is None:
            return token_error("invalid_grant")
        if data["client_id"] != self.client.client_id:
            return token_error("invalid_grant")
        if form.get("redirect_uri") != data["redirect_uri"]:
            return token_error("invalid_grant")
        if not pkce_ok(
            form.get("code_verifier"), data.get("code_challenge"), data.get("code_challenge_method")
        ):
            return token_error("invalid_grant")
        if public and not data.get("code_challenge"):
            return token_error("invalid_client")
        grant_id = self.state.grants.create_grant(
            {
                "user_id": data["user_id"],
                "client_id": data["client_id"],
                "scopes": data["scopes"],
                "auth_event_id": data["auth_event_id"],
                "auth_time": int(self.state.clock.timestamp()),
                "session_id": secrets.token_hex(16),
                "nonce": data.get("nonce"),
                "public": public,
            }
        )
        grant = self.state.grants.grant(grant_id) or {}
        return JSONResponse(self.tokens(grant), headers={"cache-control": "no-store"})

    def refresh(self, form: dict[str, str], public: bool) -> JSONResponse:
        grants = self.state.grants
        token = form.get("refresh_token", "")
        record = grants.refresh_record(token) if token else None
        now = self.state.clock.timestamp()
        if record is None or record.get("revoked") or record["expires_at"] < now:
            return token_error("invalid_grant")
        superseded = record.get("superseded_at")
        if superseded is not None and now > superseded + REFRESH_GRACE:
            return token_error("invalid_grant")
        grant = grants.grant(record["grant_id"])
        if grant is None or grant.get("revoked") or grant["client_id"] != self.client.client_id:
            return token_error("invalid_grant")
        if public and not grant.get("public"):
            return token_error("invalid_client")
        # The grace window counts from the first rotation; retrying the old token inside it
        # works "as many times as needed" (xero.md section 2).
        grants.mark_superseded(token)
        return JSONResponse(self.tokens(grant), headers={"cache-control": "no-store"})

    def revoke(self, token: str) -> None:
        state = self.state
        record = state.grants.refresh_record(token)
        if record is None:
            return
        grant = state.grants.grant(record["grant_id"])
        if grant is None or grant["client_id"] != self.client.client_id:
            return
        state.grants.revoke_grant(grant["id"])
        for conn in state.store.all("xero:connection", scope=grant["user_id"]):
            if conn["_client_id"] == grant["client_id"]:
                state.store.delete("xero:connection", conn["id"])


def install(app: FastAPI, state: XeroState) -> None:
    """Mount the login (consent) pages and the identity server's endpoints."""
    server = IdentityServer(state)
    app.include_router(login_router(server))
    app.include_router(identity_router(server))


def login_router(server: IdentityServer) -> APIRouter:
    """login.xero.com: the authorize request and the consent form it shows."""
    state = server.state
    login = APIRouter(prefix="/xero/login/identity/connect", tags=["xero identity"])

    @login.get("/authorize", response_model=None)
    async def authorize(request: Request) -> Response:
        """Xero's login and consent: pick a user and organisations, then Allow or Deny."""
        params = {k: request.query_params.get(k, "") for k in AUTHORIZE_PARAMS}
        refused, scopes = server.check_authorize(params)
        if refused is not None:
            return refused
        if state.auto is not None:
            return server.auto_decide(params)
        return pages.consent(request, state, params, scopes)

    @login.post("/authorize", response_model=None)
    async def consent(request: Request) -> Response:
        form = await request.form()
        params = {k: str(form.get(k, "")) for k in AUTHORIZE_PARAMS}
        refused, scopes = server.check_authorize(params)
        if refused is not None:
            return refused
        if form.get("decision") != "allow":
            return RedirectResponse(
                redirect_with(
                    params["redirect_uri"], {"error": "access_denied", "state": params["state"]}
                ),
                303,
            )
        user = state.user(str(form.get("user_id", "")))
        tenants = [str(t) for t in form.getlist("tenant_id")]
        if user is None or not tenants:
            return pages.consent(
                request,
                state,
                params,
                scopes,
                error="Choose a user and at least one organisation.",
                status=400,
            )
        if any(t not in user.get("roles", {}) for t in tenants):
            return pages.consent(
                request,
                state,
                params,
                scopes,
                error=f"{user['EmailAddress']} has no access to that organisation.",
                status=400,
            )
        return RedirectResponse(server.approve(params, user, tenants), 303)

    return login


def identity_router(server: IdentityServer) -> APIRouter:
    """identity.xero.com: token, revocation, OpenID discovery and the signing keys."""
    state = server.state
    identity = APIRouter(prefix="/xero/identity", tags=["xero identity"])

    @identity.post("/connect/token", response_model=None)
    async def token(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        authenticated, public = server.authenticate(request, form)
        if not authenticated:
            return token_error("invalid_client")
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return server.exchange_code(form, public)
        if grant_type == "refresh_token":
            return server.refresh(form, public)
        return token_error("unsupported_grant_type")

    @identity.post("/connect/revocation", response_model=None)
    async def revocation(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        authenticated, _ = server.authenticate(request, form)
        if not authenticated:
            return token_error("invalid_client")
        if not form.get("token"):
            return token_error("invalid_request")
        server.revoke(form["token"])
        return Response(status_code=200)

    @identity.get("/.well-known/openid-configuration")
    async def discovery() -> dict[str, Any]:
        return {
            "issuer": state.issuer,
            "jwks_uri": f"{state.issuer}/.well-known/openid-configuration/jwks",
            "authorization_endpoint": f"{state.base}/login/identity/connect/authorize",
            "token_endpoint": f"{state.issuer}/connect/token",
            "revocation_endpoint": f"{state.issuer}/connect/revocation",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": sorted(KNOWN_SCOPES),
        }

    @identity.get("/.well-known/openid-configuration/jwks")
    async def jwks() -> dict[str, Any]:
        public = state.key.as_dict(private=False)
        return {"keys": [dict(public, use="sig", alg="RS256")]}

    return identity
