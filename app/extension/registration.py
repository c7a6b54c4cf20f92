"""Registering a provider link with Pipedrive (pipedrive-invoicing-extension.md §4).

After an admin connects Xero or QuickBooks, ``register_after_connect`` (an after-connect hook,
``app.connections.hooks``, that the app factory installs) gives the connection a ``linkId``
and announces it with ``POST {api_domain}/api/v1/invoice/user/provider``, Bearer the admin's
own Pipedrive token.
Pipedrive answers a ``redirectUrl`` that the admin's browser is sent on to.

Idempotent: one link per (company, provider). Reconnecting the same organisation reuses the
link id and registers it again (Pipedrive documents nothing about duplicates, UNCONFIRMED, so
re-announcing the same id is the safe choice); a different organisation gets a new link id, so
that a link id Pipedrive already holds never reaches another organisation's data.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx2
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.connections.models import ProviderConnection
from app.crm.pipedrive.oauth import PipedriveOAuth, parse_json
from app.crm.pipedrive.service import installation_for
from app.crm.pipedrive.tokens import InstallationTokens
from app.db import utcnow
from app.errors import AppError, ServiceUnavailable
from app.extension.models import InvoicingLink
from app.extension.repository import link_for
from app.logs import log

REGISTER_PATH = "/api/v1/invoice/user/provider"


@dataclass(frozen=True)
class Registration:
    """What happened: the link, and Pipedrive's redirect (or why there is none)."""

    link: InvoicingLink
    redirect_url: str | None
    error: str | None = None


async def ensure_link(
    session: AsyncSession, connection: ProviderConnection, user_id: str | None
) -> InvoicingLink:
    """The company's link for this provider, created or pointed at the connection's org."""
    row = await link_for(session, connection.company_id, connection.provider)
    if row is None:
        row = InvoicingLink(
            link_id=str(uuid.uuid4()),
            company_id=connection.company_id,
            provider=connection.provider,
            tenant_id=connection.tenant_id,
        )
        session.add(row)
    elif row.tenant_id != connection.tenant_id:
        row.link_id = str(uuid.uuid4())
        row.tenant_id = connection.tenant_id
        row.registered_at = None
        row.redirect_url = None
    row.user_id = user_id or row.user_id
    await session.flush()
    return row


def redirect_of(body: Any) -> str | None:
    """``data.redirectUrl``, else a top-level ``redirectUrl`` (the answer is UNCONFIRMED)."""
    if not isinstance(body, dict):
        return None
    data = body.get("data")
    if isinstance(data, dict) and isinstance(data.get("redirectUrl"), str):
        return str(data["redirectUrl"])
    top = body.get("redirectUrl")
    return top if isinstance(top, str) else None


async def announce(
    http: httpx2.AsyncClient,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    installation_id: str,
    link: InvoicingLink,
) -> str:
    """POST the link to the company's Pipedrive; returns the redirect URL. A rejected token
    is refreshed once (through the install's locked refresh) and the call repeated."""
    tokens = InstallationTokens(sessionmaker, PipedriveOAuth(http, settings), installation_id)
    creds = await tokens.current()
    payload = {
        "data": {
            "linkId": link.link_id,
            "orgId": link.tenant_id,
            "marketplaceClientId": settings.pipedrive.client_id,
        }
    }
    for attempt in range(2):
        try:
            response = await http.post(
                creds.api_domain.rstrip("/") + REGISTER_PATH,
                json=payload,
                headers={"Authorization": f"Bearer {creds.access_token}"},
            )
        except httpx2.HTTPError as exc:
            raise ServiceUnavailable("Pipedrive could not be reached to register the link") from exc
        if response.status_code == 401 and attempt == 0:
            creds = await tokens.after_rejection(creds.access_token)
            continue
        body = parse_json(response) if response.content else None
        if response.status_code >= 300:
            detail = body.get("error") if isinstance(body, dict) else None
            raise ServiceUnavailable(
                f"Pipedrive refused the link ({response.status_code}"
                + (f": {detail})" if detail else ")")
            )
        url = redirect_of(body)
        if not url:
            raise ServiceUnavailable("Pipedrive registered the link but sent no redirectUrl")
        return url
    raise ServiceUnavailable("Pipedrive kept refusing this user's token")


async def register(
    session: AsyncSession,
    http: httpx2.AsyncClient,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    connection: ProviderConnection,
    user_id: str | None,
) -> Registration:
    """Ensure the link and announce it. Errors come back in ``error`` (the link stays, so the
    admin can register again from the Connections page); nothing here fails the connect."""
    link = await ensure_link(session, connection, user_id)
    try:
        installation = await installation_for(session, connection.company_id, user_id)
        # installation_for falls back to another user's install; the link must be announced
        # with the connecting admin's own token when they have one.
        url = await announce(http, settings, sessionmaker, installation.id, link)
    except (AppError, httpx2.HTTPError) as exc:
        reason = exc.message if isinstance(exc, AppError) else "Pipedrive could not be reached"
        log.warning("invoicing_link_not_registered", provider=link.provider, reason=reason)
        return Registration(link=link, redirect_url=None, error=reason)
    link.registered_at = utcnow()
    link.redirect_url = url[:1024]
    await session.flush()
    return Registration(link=link, redirect_url=url)


async def register_after_connect(
    state: Any, session: AsyncSession, connection: ProviderConnection
) -> Registration:
    """The connect flow's success hook: register the new connection with Pipedrive."""
    return await register(
        session,
        state.http,
        state.settings,
        state.sessionmaker,
        connection,
        connection.connected_by_id,
    )
