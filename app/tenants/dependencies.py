"""Who is calling: CurrentUser and CurrentCompany, from our signed session token (the
``X-Session-Token`` header, never a URL); PageUser and PageAdmin, for our pages, also from the
CRM's signed iframe token, a one-time ``handoff`` code or the reload cookie (tenants/handoff.py).
Once the company is known, the request is counted against its budget
(``web.spend_request_budget``: 429 past it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.errors import Forbidden, Unauthorized
from app.tenants.handoff import (
    HANDOFF_PARAM,
    redeem_handoff,
    reload_claims,
    remember_for_reload,
)
from app.tenants.models import Company, CrmUser
from app.tenants.service import SessionClaims, issue_session_token, read_session_token
from app.web import DbSession, SettingsDep, spend_request_budget

SESSION_HEADER = "X-Session-Token"
# Inside the CRM's iframe the page sends, with every request, a fresh signed token from the
# CRM's SDK (``Authorization: Bearer``) and the ids of the user and company its frame was
# opened for (the iframe URL's ``userId``/``companyId``): a token naming anyone else is refused.
FRAME_USER_HEADER = "X-Frame-User-Id"
FRAME_COMPANY_HEADER = "X-Frame-Company-Id"


def session_token_from(request: Request) -> str | None:
    """Our session travels only in the header: a URL would leave it in the address bar, the
    history, server logs and Referer headers."""
    return request.headers.get(SESSION_HEADER)


async def user_of(session: AsyncSession, claims: SessionClaims) -> CrmUser:
    result = await session.execute(
        select(CrmUser).where(CrmUser.id == claims.user_id, CrmUser.company_id == claims.company_id)
    )
    user = result.scalar_one_or_none()
    if user is None:
        # The user uninstalled (or the company left) after the token was issued.
        raise Unauthorized("this session's user is no longer installed")
    return user


async def get_current_user(request: Request, session: DbSession, settings: SettingsDep) -> CrmUser:
    token = session_token_from(request)
    if not token:
        raise Unauthorized("sign in from Pipedrive first: no session token was sent")
    user = await user_of(session, read_session_token(settings, token))
    request.state.session_token = token
    await spend_request_budget(request, user.company_id)
    return user


CurrentUser = Annotated[CrmUser, Depends(get_current_user)]


async def get_current_company(user: CurrentUser, session: DbSession) -> Company:
    company = await session.get(Company, user.company_id)
    if company is None:
        raise Unauthorized("this session's company no longer exists")
    return company


CurrentCompany = Annotated[Company, Depends(get_current_company)]


async def get_current_admin(user: CurrentUser) -> CrmUser:
    if not user.is_admin:
        raise Forbidden("only a Pipedrive admin of the company can do this")
    return user


CurrentAdmin = Annotated[CrmUser, Depends(get_current_admin)]


# Verifies the CRM's iframe token (session, settings, token, userId, companyId) and answers the
# installed user and a fresh session token. The CRM integration provides it (Pipedrive's JWT:
# ``app.crm.pipedrive.iframe.sign_in_with_jwt``); tenants sits below it and only runs it.
PageSignIn = Callable[
    [AsyncSession, Settings, str, str | None, str | None], Awaitable[tuple[CrmUser, str]]
]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header[:7].lower() != "bearer ":
        return None
    return header[7:].strip() or None


# Where a browser that came without any sign-in (a top-level window opened from the CRM or a
# provider's app center) goes to sign in; given the path to come back to. The CRM provides it
# (Pipedrive: its OAuth install flow used as a sign-in, ``/pipedrive/install?next=``).
SignInStart = Callable[[str], str]


def use_page_sign_in(app: FastAPI, sign_in: PageSignIn, start: SignInStart | None = None) -> None:
    """Install how an iframe page's ``token`` is verified and where a page with no sign-in
    sends the browser to sign in (the app factory does it once)."""
    app.state.page_sign_in = sign_in
    app.state.page_sign_in_start = start


def sign_in_redirect(request: Request) -> str | None:
    """Where to send this request's browser to sign in and come back here (the one-time code
    and the CRM's token left out of the way back); None when the CRM offers no sign-in."""
    start: SignInStart | None = getattr(request.app.state, "page_sign_in_start", None)
    if start is None:
        return None
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in _SIGN_IN_PARAMS]
    back = request.url.path + (f"?{urlencode(kept)}" if kept else "")
    return start(back)


_SIGN_IN_PARAMS = {HANDOFF_PARAM, "token", "userId", "companyId"}


async def signed_in_by_crm(
    request: Request,
    session: AsyncSession,
    settings: Settings,
    token: str,
    user_id: str | None,
    company_id: str | None,
) -> CrmUser:
    """Verify the CRM's signed token (on the iframe's load, or fresh from its SDK with a
    request) through the installed sign-in; the ids, when given, must be the token's own."""
    sign_in: PageSignIn | None = getattr(request.app.state, "page_sign_in", None)
    if sign_in is None:
        raise Unauthorized("This app cannot verify the CRM's sign-in token.")
    user, session_token = await sign_in(session, settings, token, user_id, company_id)
    request.state.session_token = session_token
    await spend_request_budget(request, user.company_id)
    return user


def check_same_session(request: Request, settings: Settings, user: CrmUser) -> None:
    """A page that carries our session too must be that user's: a signed token for anyone
    else is refused rather than silently switching the page to them."""
    token = session_token_from(request)
    if not token:
        return
    try:
        claims = read_session_token(settings, token)
    except Unauthorized:
        # Expired on a long-open panel: the fresh signed token is what signs it in now.
        return
    if (claims.user_id, claims.company_id) != (user.id, user.company_id):
        raise Unauthorized("the CRM's signed token names another user than this page's")


async def get_page_user(request: Request, session: DbSession, settings: SettingsDep) -> CrmUser:
    """The user of a page (see ``get_page_user_or_none``); 401 when none was sent."""
    user = await get_page_user_or_none(request, session, settings)
    if user is None:
        raise Unauthorized(
            "Open this page from Pipedrive (or from the link at the end of the install): "
            "no sign-in was sent with it.",
            code="no_sign_in",
        )
    return user


async def get_page_user_or_none(
    request: Request, session: DbSession, settings: SettingsDep
) -> CrmUser | None:
    """The user of a page, in this order: a one-time ``handoff`` code (traded once; the page
    then sets the reload cookie); the CRM's ``token`` on an iframe load; a fresh signed token
    from the CRM's SDK (``Authorization: Bearer``, htmx inside the iframe); our session header
    (htmx); the reload cookie on a page's GET (F5 on a standalone page).

    Either way ``request.state.session_token`` holds the token the page must carry on; None
    when nothing was sent.
    """
    token = request.query_params.get("token")
    code = request.query_params.get(HANDOFF_PARAM)
    if code:
        user = await user_of(session, await redeem_handoff(session, settings, code))
        request.state.session_token = issue_session_token(settings, user)
        remember_for_reload(request, settings, user)
        await spend_request_budget(request, user.company_id)
        return user
    if token:
        return await signed_in_by_crm(
            request,
            session,
            settings,
            token,
            request.query_params.get("userId"),
            request.query_params.get("companyId"),
        )
    bearer = bearer_token(request)
    if bearer:
        user = await signed_in_by_crm(
            request,
            session,
            settings,
            bearer,
            request.headers.get(FRAME_USER_HEADER),
            request.headers.get(FRAME_COMPANY_HEADER),
        )
        check_same_session(request, settings, user)
        return user
    if session_token_from(request):
        return await get_current_user(request, session, settings)
    claims = reload_claims(request, settings)
    if claims is not None:
        user = await user_of(session, claims)
        request.state.session_token = issue_session_token(settings, user)
        request.state.signed_in_by_cookie = True
        await spend_request_budget(request, user.company_id)
        return user
    return None


PageUser = Annotated[CrmUser, Depends(get_page_user)]
# A page that sends a browser with no sign-in to sign in (``sign_in_redirect``) instead of 401.
MaybePageUser = Annotated[CrmUser | None, Depends(get_page_user_or_none)]


async def get_page_admin(user: PageUser) -> CrmUser:
    if not user.is_admin:
        raise Forbidden("only a Pipedrive admin of the company can do this")
    return user


PageAdmin = Annotated[CrmUser, Depends(get_page_admin)]


async def get_acting_page_admin(request: Request, admin: PageAdmin) -> CrmUser:
    """An admin opening a page whose GET acts (tells Pipedrive something): the reload cookie
    alone is not enough, since another site can make the browser send it with a top-level GET;
    the one-time code (or the header, or Pipedrive's token) must come with the request."""
    if getattr(request.state, "signed_in_by_cookie", False):
        raise Unauthorized("Open this from the app's page (the link asks for a one-time code).")
    return admin


ActingPageAdmin = Annotated[CrmUser, Depends(get_acting_page_admin)]
