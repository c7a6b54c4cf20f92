"""Keeping a user's Pipedrive role fresh: the iframe sign-in re-reads ``users/me`` (admin flag
and permission set, lifecycle-and-billing.md §3.6) when what we hold is older than
``ROLE_TTL``, so an admin's change in Pipedrive reaches the app's permissions
(``app.tenants.permissions``) within minutes, not at the next install.

A failure to read it (Pipedrive down, the token refused) keeps what we hold and is logged:
signing in never fails on it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx2
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.crm.pipedrive.iframe import sign_in_with_jwt
from app.crm.pipedrive.models import PipedriveInstallation
from app.crm.pipedrive.oauth import PipedriveOAuth
from app.crm.pipedrive.tokens import InstallationTokens
from app.db import utcnow
from app.errors import AppError
from app.logs import log
from app.tenants.models import CrmUser

# lifecycle-and-billing.md "What this means for us" 9: cache the role about 10 minutes.
ROLE_TTL = timedelta(minutes=10)

SignIn = Callable[
    [AsyncSession, Settings, str, str | None, str | None], Awaitable[tuple[CrmUser, str]]
]


def stale(user: CrmUser) -> bool:
    return user.updated_at is None or utcnow() - user.updated_at > ROLE_TTL


async def refresh_role(
    session: AsyncSession, state: Any, settings: Settings, user: CrmUser
) -> bool:
    """Re-read the user's admin flag and permission set from ``users/me`` with their own
    install's token; answers whether it was read. The caller's transaction keeps it."""
    installation = (
        await session.execute(
            select(PipedriveInstallation).where(PipedriveInstallation.user_id == user.id)
        )
    ).scalar_one_or_none()
    if installation is None:
        return False
    oauth = PipedriveOAuth(state.http, settings)
    try:
        credentials = await InstallationTokens(state.sessionmaker, oauth, installation.id).current()
        me = await oauth.me(credentials.api_domain, credentials.access_token)
    except (AppError, httpx2.HTTPError) as exc:
        log.warning("pipedrive_role_refresh_failed", user_id=user.id, error=type(exc).__name__)
        return False
    user.is_admin = me.admin
    user.permission_set_id = me.permission_set_id
    # Bumped even when nothing changed: the next read is due ROLE_TTL from now.
    user.updated_at = utcnow()
    await session.flush()
    return True


def role_refreshing_sign_in(state: Any) -> SignIn:
    """Pipedrive's JWT sign-in (``iframe.sign_in_with_jwt``) that also refreshes a stale role."""

    async def sign_in(
        session: AsyncSession,
        settings: Settings,
        token: str,
        user_id: str | None,
        company_id: str | None,
    ) -> tuple[CrmUser, str]:
        user, session_token = await sign_in_with_jwt(session, settings, token, user_id, company_id)
        if stale(user):
            await refresh_role(session, state, settings, user)
        return user, session_token

    return sign_in
