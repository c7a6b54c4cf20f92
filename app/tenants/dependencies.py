"""Who is calling: CurrentUser and CurrentCompany, from our signed session token; PageUser,
from the CRM's signed iframe token or our session. Once the company is known, the request is
counted against its budget (``web.spend_request_budget``: 429 past it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.errors import Forbidden, Unauthorized
from app.tenants.models import Company, CrmUser
from app.tenants.service import read_session_token
from app.web import DbSession, SettingsDep, spend_request_budget

SESSION_HEADER = "X-Session-Token"


def session_token_from(request: Request) -> str | None:
    return request.headers.get(SESSION_HEADER) or request.query_params.get("session")


async def get_current_user(request: Request, session: DbSession, settings: SettingsDep) -> CrmUser:
    token = session_token_from(request)
    if not token:
        raise Unauthorized("sign in from Pipedrive first: no session token was sent")
    claims = read_session_token(settings, token)
    result = await session.execute(
        select(CrmUser).where(CrmUser.id == claims.user_id, CrmUser.company_id == claims.company_id)
    )
    user = result.scalar_one_or_none()
    if user is None:
        # The user uninstalled (or the company left) after the token was issued.
        raise Unauthorized("this session's user is no longer installed")
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


def use_page_sign_in(app: FastAPI, sign_in: PageSignIn) -> None:
    """Install how an iframe page's ``token`` is verified (the app factory does it once)."""
    app.state.page_sign_in = sign_in


async def get_page_user(request: Request, session: DbSession, settings: SettingsDep) -> CrmUser:
    """The user of a page: from the CRM's ``token`` on an iframe load, else our session.

    Either way ``request.state.session_token`` holds the token the page must carry on.
    """
    token = request.query_params.get("token")
    if token:
        sign_in: PageSignIn | None = getattr(request.app.state, "page_sign_in", None)
        if sign_in is None:
            raise Unauthorized("This app cannot verify the CRM's sign-in token.")
        user, session_token = await sign_in(
            session,
            settings,
            token,
            request.query_params.get("userId"),
            request.query_params.get("companyId"),
        )
        request.state.session_token = session_token
        await spend_request_budget(request, user.company_id)
        return user
    if session_token_from(request):
        return await get_current_user(request, session, settings)
    raise Unauthorized(
        "Open this page from Pipedrive (or from the link at the end of the install): "
        "no sign-in was sent with it."
    )


PageUser = Annotated[CrmUser, Depends(get_page_user)]
