"""Who is calling: CurrentUser and CurrentCompany, from our signed session token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select

from app.errors import Forbidden, Unauthorized
from app.tenants.models import Company, CrmUser
from app.tenants.service import read_session_token
from app.web import DbSession, SettingsDep

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
