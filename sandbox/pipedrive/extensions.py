"""The sandbox Pipedrive as the host of our custom UI extensions (reference pipedrive.md §3.1).

Pipedrive frames each custom UI (the deal panel, a custom modal, the app-settings page) with
``userId, companyId, token, id, resource, view, selectedIds, theme`` (and ``data`` for a modal),
where ``token`` is an HS256 JWT signed with the extension's JWT secret (claims ``userId``,
``companyId``, ``iat``, ``exp`` five minutes later) and ``id`` is the runtime id the App
Extensions SDK echoes in every message. The host's side of the SDK's postMessage protocol lives
in ``static/pipedrive/host.js``; this module builds the frame URLs and the host's configuration,
and serves what that script asks for: a fresh token (GET_SIGNED_TOKEN), a modal's URL
(OPEN_MODAL) and the app-settings page (REDIRECT_TO settings).
"""

from __future__ import annotations

import json
import uuid
import warnings
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import OctKey

from sandbox import templating
from sandbox.pipedrive.state import PREFIX, Pipedrive, pipedrive_of

PANEL_TOKEN_TTL = 300
# Names of the query keys Pipedrive sets itself; a REDIRECT_TO context cannot override them.
RESERVED = {"userId", "companyId", "token", "id", "resource", "view", "selectedIds", "theme"}


def sign_panel_token(secret: str, user_id: int, company_id: int, now: float) -> str:
    """The iframe JWT. The full real claim set is UNCONFIRMED (reference §3.1): ids + iat/exp."""
    with warnings.catch_warnings():
        # Pipedrive signs with whatever secret the developer set, short ones included.
        warnings.simplefilter("ignore", SecurityWarning)
        key = OctKey.import_key(secret)
    claims = {
        "userId": user_id,
        "companyId": company_id,
        "iat": int(now),
        "exp": int(now) + PANEL_TOKEN_TTL,
    }
    return jwt.encode({"alg": "HS256", "typ": "JWT"}, claims, key)


def frame_url(
    pd: Pipedrive,
    path: str,
    user_id: int,
    company_id: int,
    theme: str,
    extra: dict[str, Any] | None = None,
) -> tuple[str, str]:
    """A custom UI's iframe URL with the query Pipedrive adds, and its runtime id (§3.1)."""
    settings = pd.sandbox.settings
    runtime_id = str(uuid.uuid4())
    token = sign_panel_token(
        settings.pipedrive_jwt_secret, user_id, company_id, pd.sandbox.clock.timestamp()
    )
    params: dict[str, Any] = {**(extra or {}), "userId": user_id, "companyId": company_id}
    params.update(id=runtime_id, theme=theme, token=token)
    return f"{settings.app_url.rstrip('/')}{path}?{urlencode(params)}", runtime_id


def deal_frame_url(
    pd: Pipedrive,
    path: str,
    user_id: int,
    company_id: int,
    deal_id: int,
    theme: str,
    extra: dict[str, Any] | None = None,
) -> tuple[str, str]:
    """A custom UI on a deal's detail view (the panel, or a modal opened from it)."""
    deal = {"resource": "deal", "view": "details", "selectedIds": deal_id}
    return frame_url(pd, path, user_id, company_id, theme, {**(extra or {}), **deal})


def host_config(
    request: Request, pd: Pipedrive, domain: str, user_id: int, theme: str
) -> dict[str, Any]:
    """What host.js needs: where to fetch tokens and modal URLs, where REDIRECT_TO goes, and
    whether (and how soon) it hides a frame whose SDK has not initialised."""
    settings = pd.sandbox.settings
    base = f"{PREFIX}/c/{domain}"
    require = request.query_params.get("require_sdk")
    timeout_ms = request.query_params.get("sdk_timeout_ms", "")
    return {
        "appName": "CRM Invoicing",
        "theme": theme,
        "userId": user_id,
        "appOrigin": settings.app_url.rstrip("/"),
        "tokenUrl": f"{base}/extensions/signed-token?user_id={user_id}",
        "modalUrl": f"{base}/extensions/modal-url?user_id={user_id}",
        "homeUrl": f"{base}/?user_id={user_id}",
        "dealUrl": f"{base}/deal/{{id}}?user_id={user_id}",
        "settingsUrl": f"{base}/settings/apps/invoicing?user_id={user_id}",
        "requireSdk": settings.pipedrive_require_sdk if require is None else require == "1",
        "timeoutMs": int(timeout_ms)
        if timeout_ms.isdigit()
        else int(settings.pipedrive_sdk_timeout * 1000),
    }


def _viewer(pd: Pipedrive, domain: str, raw: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    company = pd.data.company_by_domain(domain)
    if company is None:
        return None
    users = pd.data.users(company["id"])
    if raw.isdigit():
        viewer = next((u for u in users if u["id"] == int(raw)), None)
    else:
        viewer = next((u for u in users if u.get("is_admin")), users[0] if users else None)
    return (company, viewer) if viewer else None


def _modal_data(raw: str) -> str | None:
    """OPEN_MODAL's ``data``, passed on to the iframe as stringified JSON (§3.1)."""
    if not raw:
        return None
    try:
        return json.dumps(json.loads(raw), separators=(",", ":"))
    except ValueError:
        return None


def router() -> APIRouter:
    r = APIRouter(prefix=PREFIX, tags=["pipedrive extensions"], include_in_schema=False)

    @r.get("/c/{domain}/extensions/signed-token")
    async def signed_token(request: Request, domain: str, user_id: str = "") -> JSONResponse:
        """A fresh JWT for GET_SIGNED_TOKEN, valid five minutes."""
        pd = pipedrive_of(request)
        found = _viewer(pd, domain, user_id)
        if found is None:
            return JSONResponse({"success": False, "error": "Unknown user"}, 404)
        company, viewer = found
        settings = pd.sandbox.settings
        now = pd.sandbox.clock.timestamp()
        token = sign_panel_token(settings.pipedrive_jwt_secret, viewer["id"], company["id"], now)
        return JSONResponse({"token": token})

    @r.get("/c/{domain}/extensions/modal-url")
    async def modal_url(
        request: Request,
        domain: str,
        user_id: str = "",
        action_id: str = "",
        deal_id: str = "",
        theme: str = "light",
        data: str = "",
    ) -> JSONResponse:
        """The iframe URL of the custom modal registered as ``action_id`` (OPEN_MODAL)."""
        pd = pipedrive_of(request)
        found = _viewer(pd, domain, user_id)
        if found is None:
            return JSONResponse({"error": "Unknown user"}, 404)
        company, viewer = found
        path = pd.sandbox.settings.pipedrive_modals.get(action_id)
        if path is None:
            return JSONResponse({"error": f"No custom modal {action_id!r} in this app"}, 404)
        extra = {"data": packed} if (packed := _modal_data(data)) else {}
        theme = "dark" if theme == "dark" else "light"
        if not deal_id:  # opened from a page that is not about a deal (the settings page)
            url, runtime_id = frame_url(pd, path, viewer["id"], company["id"], theme, extra)
            return JSONResponse({"url": url, "id": runtime_id})
        deal = pd.data.get("deal", company["id"], deal_id) if deal_id.isdigit() else None
        if deal is None or deal["is_deleted"]:
            return JSONResponse({"error": "No such deal"}, 404)
        url, runtime_id = deal_frame_url(
            pd, path, viewer["id"], company["id"], deal["id"], theme, extra
        )
        return JSONResponse({"url": url, "id": runtime_id})

    @r.get("/c/{domain}/settings/apps/invoicing", response_class=HTMLResponse)
    async def app_settings(
        request: Request, domain: str, user_id: str = "", theme: str = "light"
    ) -> HTMLResponse:
        """Tools and apps → Marketplace apps → Invoicing: our settings page as a custom UI."""
        pd = pipedrive_of(request)
        found = _viewer(pd, domain, user_id)
        if found is None:
            return templating.render(
                request, "pipedrive/not_found.html", 404, message="No such company or user"
            )
        company, viewer = found
        theme = "dark" if theme == "dark" else "light"
        # REDIRECT_TO {view: settings, context} passes the context on in the query (UNCONFIRMED
        # how exactly; here as plain keys, never over Pipedrive's own).
        context = {k: v for k, v in request.query_params.items() if k not in RESERVED}
        for key in ("user_id", "require_sdk", "sdk_timeout_ms"):
            context.pop(key, None)
        settings = pd.sandbox.settings
        url, runtime_id = frame_url(
            pd, settings.pipedrive_settings_path, viewer["id"], company["id"], theme, context
        )
        return templating.render(
            request,
            "pipedrive/app_settings.html",
            company=company,
            viewer=viewer,
            users=pd.data.users(company["id"]),
            theme=theme,
            frame_url=url,
            frame_id=runtime_id,
            host=host_config(request, pd, domain, viewer["id"], theme),
        )

    return r
