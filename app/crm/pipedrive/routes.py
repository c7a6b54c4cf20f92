"""Install and uninstall of the Marketplace app, and the iframe sign-in exchange."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel

from app.crm.pipedrive.iframe import sign_in_with_jwt
from app.crm.pipedrive.oauth import PipedriveOAuth
from app.crm.pipedrive.service import (
    STATE_TTL_SECONDS,
    basic_credentials_ok,
    check_state,
    complete_install,
    issue_state,
    uninstall,
)
from app.errors import BadRequest, Unauthorized
from app.logs import log
from app.tenants.dependencies import CurrentUser, PageUser
from app.tenants.handoff import HANDOFF_PARAM, issue_handoff
from app.tenants.schemas import UserOut
from app.tenants.service import issue_session_token
from app.web import DbSession, HttpClient, SettingsDep, render

router = APIRouter(tags=["pipedrive"])

CALLBACK_PATH = "/pipedrive/callback"
INSTALL_COOKIE = "crm_invoicing_install"
_DROP_INSTALL_COOKIE = f"{INSTALL_COOKIE}=; Max-Age=0; Path={CALLBACK_PATH}; HttpOnly; SameSite=lax"


def install_as_sign_in(back: str) -> str:
    """Where a page sends a browser that came with no sign-in: Pipedrive's OAuth, then back."""
    return f"/pipedrive/install?{urlencode({'next': back})}"


@router.get("/pipedrive/install", include_in_schema=False)
async def install(
    settings: SettingsDep,
    http: HttpClient,
    next_path: Annotated[str | None, Query(alias="next")] = None,
) -> RedirectResponse:
    """Start the install: to Pipedrive's consent screen with a signed, single-use state.

    With ``next`` (a path on this site) it is a sign-in: a user who comes without our session
    (from Pipedrive's Invoicing flow or a provider's app center) signs in with Pipedrive and
    is sent back to ``next`` with a one-time code.

    The browser also gets a short-lived marker cookie: a callback that comes back to it
    without a state is one of our installs that lost its state, not a Marketplace install.
    """
    url = PipedriveOAuth(http, settings).authorize_url(issue_state(settings, next_path))
    response = RedirectResponse(url, status_code=302)
    response.set_cookie(
        INSTALL_COOKIE,
        "1",
        max_age=STATE_TTL_SECONDS,
        path=CALLBACK_PATH,
        httponly=True,
        secure=settings.public_url.startswith("https://"),
        samesite="lax",  # sent on Pipedrive's top-level redirect back to the callback
    )
    return response


@router.get("/pipedrive/callback", include_in_schema=False)
async def callback(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    http: HttpClient,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
) -> Response:
    """Pipedrive sends the user back here after "Allow and install" or "Cancel"."""
    if error:
        # Nothing is stored for a refusal: the user simply did not install.
        status = 200 if error == "user_denied" else 400
        page = render(
            request, "pipedrive/denied.html", status_code=status, error=error, settings=settings
        )
        page.headers.append("set-cookie", _DROP_INSTALL_COOKIE)
        return page
    if not code:
        raise BadRequest("the install callback carries no authorization code", field="code")
    # Installs started from the Marketplace listing come without our state (UNCONFIRMED
    # whether Pipedrive adds one); ours always carry it, and then it must check out. A
    # state-less callback to a browser that started one of ours is refused.
    if not state and request.cookies.get(INSTALL_COOKIE):
        raise BadRequest(
            "this install was started here but came back without its state; "
            "start the install again",
            field="state",
            code="missing_state",
            headers={"set-cookie": _DROP_INSTALL_COOKIE},
        )
    checked = await check_state(session, settings, state) if state else None
    nonce = checked.nonce if checked else None
    result = await complete_install(session, PipedriveOAuth(http, settings), code, nonce)
    # A one-time code, not a session: the target page trades it and drops it from the address.
    handoff = issue_handoff(settings, result.user)
    log.info(
        "pipedrive_installed",
        company_id=result.company.id,
        reinstall=result.reinstall,
        marketplace_started=state is None,
        sign_in=bool(checked and checked.next_path),
    )
    if checked and checked.next_path:
        joiner = "&" if "?" in checked.next_path else "?"
        target = f"{checked.next_path}{joiner}{urlencode({HANDOFF_PARAM: handoff})}"
    elif result.user.is_admin:
        query = {HANDOFF_PARAM: handoff, "installed": "1"}
        if result.first_admin:
            query["setup"] = "1"
        target = f"/preferences?{urlencode(query)}"
    else:
        target = f"/pipedrive/installed?{urlencode({HANDOFF_PARAM: handoff})}"
    response = RedirectResponse(target, status_code=303)
    response.headers.append("set-cookie", _DROP_INSTALL_COOKIE)
    return response


@router.get("/pipedrive/installed", include_in_schema=False)
async def installed(request: Request, user: PageUser) -> Response:
    """The short "you're set" page for non-admins."""
    return render(
        request,
        "pipedrive/installed.html",
        user=user,
        session_token=request.state.session_token,
    )


@router.delete("/pipedrive/callback", include_in_schema=False)
async def uninstall_callback(
    request: Request, session: DbSession, settings: SettingsDep
) -> JSONResponse:
    """Pipedrive's uninstall notice (Basic client_id:client_secret)."""
    if not basic_credentials_ok(settings, request.headers.get("authorization")):
        raise Unauthorized(
            "the uninstall call must carry Basic client_id:client_secret",
            headers={"WWW-Authenticate": 'Basic realm="pipedrive"'},
        )
    try:
        body: Any = await request.json()
    except ValueError as exc:
        raise BadRequest("the uninstall body must be JSON") from exc
    if not isinstance(body, dict):
        raise BadRequest("the uninstall body must be a JSON object")
    result = await uninstall(session, body)
    return JSONResponse(
        {
            "status": result.status,
            "company_purged": result.company_purged,
            "deleted": result.deleted or {},
        }
    )


class SessionOut(BaseModel):
    session_token: str
    expires_in: int
    user: UserOut


@router.post("/api/v1/session", response_model=SessionOut, tags=["session"])
async def exchange_session(
    request: Request, session: DbSession, settings: SettingsDep
) -> SessionOut:
    """Trade a Pipedrive JWT (``Authorization: Bearer``, from the SDK's GET_SIGNED_TOKEN) for
    a session token of ours, sent back by our pages in ``X-Session-Token``."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer ") or not header[7:].strip():
        raise Unauthorized("send Pipedrive's signed token as Authorization: Bearer <token>")
    user, token = await sign_in_with_jwt(
        session,
        settings,
        header[7:].strip(),
        request.query_params.get("userId"),
        request.query_params.get("companyId"),
    )
    return SessionOut(
        session_token=token,
        expires_in=settings.session_ttl_seconds,
        user=UserOut.model_validate(user),
    )


@router.get("/api/v1/session", response_model=SessionOut, tags=["session"])
async def current_session(user: CurrentUser, settings: SettingsDep) -> SessionOut:
    """Renew our own session token before it expires."""
    return SessionOut(
        session_token=issue_session_token(settings, user),
        expires_in=settings.session_ttl_seconds,
        user=UserOut.model_validate(user),
    )
