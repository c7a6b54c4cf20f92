"""Pipedrive's Marketplace OAuth server (reference §1.1, §2) under /pipedrive/oauth/oauth/...

- authorize: a consent page where a person picks one of the seeded users, then
  "Allow and install" or "Cancel" (→ ``error=user_denied``); ``state`` is optional and echoed;
- token: Basic client auth, form body only; codes live 5 min and work once; access tokens
  live 60 min (``expires_in`` 3599); the refresh token is never rotated, each use extends its
  60-day life;
- revoke (RFC 7009): revoking the refresh token uninstalls (every token of that install
  dies), revoking an access token kills only that token; 200 even for an unknown token.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from sandbox.oauth import client_matches, parse_basic, redirect_with
from sandbox.pipedrive.api.webhooks import remove_owned
from sandbox.pipedrive.pages import render
from sandbox.pipedrive.state import PREFIX, Pipedrive, pipedrive_of

ACCESS_TTL = 3600
# The token response says 3599 (reference §1.1 example) for a 60-minute token.
EXPIRES_IN = 3599
REFRESH_TTL = 60 * 24 * 3600
# The scopes a Marketplace app gets are configured in Developer Hub, not requested in the URL;
# the stand-in's registered app has the minimal invoicing set (reference §1.2).
APP_SCOPES = "base,deals:full,products:read,contacts:read,activities:full,admin"
FORM = "application/x-www-form-urlencoded"


def oauth_error(status: int, error: str, message: str) -> JSONResponse:
    # Pipedrive's OAuth error body is UNCONFIRMED; its messages are documented (reference
    # §1.1). Carry the message under both RFC 6749's and Pipedrive's usual keys.
    return JSONResponse(
        {"success": False, "error": error, "error_description": message, "message": message},
        status_code=status,
    )


def _consent_problem(pd: Pipedrive, client_id: str | None, redirect_uri: str | None) -> str | None:
    client = pd.sandbox.settings.pipedrive_client
    if not client_id or not secrets.compare_digest(client_id, client.client_id):
        return "client_id is invalid"
    if not redirect_uri or redirect_uri not in client.redirect_uris:
        return "redirect_uri is invalid"
    return None


def _issue(
    pd: Pipedrive,
    user: dict[str, Any],
    redirect_uri: str,
    state: str | None,
    scope: str | None = None,
) -> str:
    code = pd.grants.issue_code(
        {
            "client_id": pd.sandbox.settings.pipedrive_client.client_id,
            "redirect_uri": redirect_uri,
            "user_id": user["id"],
            "company_id": user["company_id"],
            # A narrower set plays an install made before the app's scopes grew (reference
            # §1.2: old tokens keep their old scopes).
            "scope": scope or APP_SCOPES,
        }
    )
    return redirect_with(redirect_uri, {"code": code, "state": state})


def _tokens(pd: Pipedrive, grant_id: str, refresh_token: str) -> dict[str, Any]:
    grant = pd.grants.grant(grant_id) or {}
    company = pd.data.company(int(grant["company_id"])) or {}
    access = pd.grants.issue_access(grant_id, ACCESS_TTL)
    return {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": EXPIRES_IN,
        "refresh_token": refresh_token,
        "scope": grant.get("scope", APP_SCOPES),
        "api_domain": pd.api_domain(company),
    }


def uninstall_grant(pd: Pipedrive, grant_id: str) -> None:
    """Revoking a refresh token uninstalls (reference §1.1): the grant dies, and once the user
    has no live install left, so do the app webhooks they made (§6)."""
    pd.grants.revoke_grant(grant_id)
    grant = pd.grants.grant(grant_id) or {}
    company_id, user_id = int(grant.get("company_id", 0)), int(grant.get("user_id", 0))
    live = [
        g
        for g in pd.grants.installs()
        if (int(g["company_id"]), int(g["user_id"])) == (company_id, user_id)
        and not g.get("revoked")
    ]
    if not live:
        remove_owned(pd, company_id, user_id)


def exchange_code(pd: Pipedrive, form: dict[str, str]) -> JSONResponse:
    """authorization_code: a new install (grant) with its first access and refresh token."""
    client = pd.sandbox.settings.pipedrive_client
    data, reason = pd.grants.consume_code(form.get("code", ""))
    if data is None:
        message = (
            "Invalid grant: authorization_code has expired"
            if reason == "expired"
            else "Invalid grant: authorization code is invalid"
        )
        return oauth_error(400, "invalid_grant", message)
    if form.get("redirect_uri") != data["redirect_uri"]:
        return oauth_error(400, "invalid_request", "redirect_uri is invalid")
    grant_id = pd.grants.create_grant(
        {
            "company_id": data["company_id"],
            "user_id": data["user_id"],
            "client_id": client.client_id,
            "scope": data.get("scope") or APP_SCOPES,
            "installed_at": pd.sandbox.clock.timestamp(),
        }
    )
    refresh = pd.grants.issue_refresh(grant_id, REFRESH_TTL)
    return JSONResponse(_tokens(pd, grant_id, refresh))


def refresh_tokens(pd: Pipedrive, form: dict[str, str]) -> JSONResponse:
    """refresh_token: a new access token; the refresh token itself is never rotated."""
    refresh = form.get("refresh_token", "")
    record = pd.grants.live_refresh(refresh)
    if record is None:
        return oauth_error(400, "invalid_grant", "Invalid grant: refresh token is invalid")
    # Not rotated: the same refresh token comes back with its 60 days restarted.
    pd.grants.extend_refresh(refresh, REFRESH_TTL)
    return JSONResponse(_tokens(pd, record["grant_id"], refresh))


def router() -> APIRouter:
    r = APIRouter(prefix=f"{PREFIX}/oauth/oauth", tags=["pipedrive oauth"])
    r.include_router(consent_routes())
    r.include_router(token_routes())
    return r


def consent_routes() -> APIRouter:
    """oauth.pipedrive.com/oauth/authorize: the consent page and the person's answer."""
    r = APIRouter()

    @r.get("/authorize", response_model=None)
    async def authorize(request: Request) -> Response:
        """The consent page, or an immediate redirect in auto-approve mode."""
        pd = pipedrive_of(request)
        q = request.query_params
        problem = _consent_problem(pd, q.get("client_id"), q.get("redirect_uri"))
        if problem:
            # Never redirect to an unverified redirect_uri: show the error instead.
            return render(request, "authorize_error.html", 400, message=problem)
        redirect_uri, state = str(q.get("redirect_uri")), q.get("state")
        auto = pd.auto_approve
        if auto is not None:
            if auto.get("deny"):
                return RedirectResponse(
                    redirect_with(redirect_uri, {"error": "user_denied", "state": state}), 302
                )
            user = pd.data.user(int(auto.get("user_id") or 0))
            if user is not None:
                return RedirectResponse(
                    _issue(pd, user, redirect_uri, state, auto.get("scope")), 302
                )
        companies = [
            {**company, "users": pd.data.users(company["id"])} for company in pd.data.companies()
        ]
        return render(
            request,
            "authorize.html",
            companies=companies,
            client_id=q.get("client_id"),
            redirect_uri=redirect_uri,
            state=state,
            scopes=APP_SCOPES.split(","),
        )

    @r.post("/authorize", response_model=None)
    async def decide(request: Request) -> Response:
        """The person's answer: Allow and install (with the chosen user) or Cancel."""
        pd = pipedrive_of(request)
        form = await request.form()
        client_id, redirect_uri = form.get("client_id"), form.get("redirect_uri")
        state = str(form["state"]) if form.get("state") else None
        problem = _consent_problem(pd, str(client_id or ""), str(redirect_uri or ""))
        if problem:
            return render(request, "authorize_error.html", 400, message=problem)
        target = str(redirect_uri)
        if form.get("decision") != "allow":
            return RedirectResponse(
                redirect_with(target, {"error": "user_denied", "state": state}), 303
            )
        raw_user = str(form.get("user_id") or "")
        user = pd.data.user(int(raw_user)) if raw_user.isdigit() else None
        if user is None:
            return render(request, "authorize_error.html", 400, message="Choose a user")
        return RedirectResponse(_issue(pd, user, target, state), 303)

    return r


def token_routes() -> APIRouter:
    """Token and revoke endpoints (client-authenticated, form bodies)."""
    r = APIRouter()

    @r.post("/token")
    async def token(request: Request) -> JSONResponse:
        pd = pipedrive_of(request)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != FORM:
            return oauth_error(400, "invalid_request", f"content must be {FORM}")
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        # Basic auth is the documented way; credentials in the body also work (reference §1.1).
        creds = parse_basic(request.headers.get("authorization")) or (
            form.get("client_id", ""),
            form.get("client_secret", ""),
        )
        client = pd.sandbox.settings.pipedrive_client
        if not client_matches(client, *creds):
            return oauth_error(401, "invalid_client", "Invalid client credentials")
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return exchange_code(pd, form)
        if grant_type == "refresh_token":
            return refresh_tokens(pd, form)
        return oauth_error(
            400, "unsupported_grant_type", f"Unsupported grant type: {grant_type or ''}".strip()
        )

    @r.post("/revoke", response_model=None)
    async def revoke(request: Request) -> Response:
        """RFC 7009: revoking the refresh token uninstalls; 200 even for unknown tokens."""
        pd = pipedrive_of(request)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != FORM:
            return oauth_error(400, "invalid_request", f"content must be {FORM}")
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        creds = parse_basic(request.headers.get("authorization")) or (
            form.get("client_id", ""),
            form.get("client_secret", ""),
        )
        if not client_matches(pd.sandbox.settings.pipedrive_client, *creds):
            return oauth_error(401, "invalid_client", "Invalid client credentials")
        token = form.get("token", "")
        hint = form.get("token_type_hint")
        refresh = pd.grants.refresh_record(token) if hint != "access_token" else None
        if refresh is None and not pd.grants.revoke_access(token) and hint == "access_token":
            # A wrong hint must not hide the token (RFC 7009 §2.1): look at refresh tokens too.
            refresh = pd.grants.refresh_record(token)
        if refresh is not None:
            uninstall_grant(pd, refresh["grant_id"])
        return Response(status_code=200)

    return r
