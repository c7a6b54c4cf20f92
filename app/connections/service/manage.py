"""Managing connections: listing, disconnecting (revoke at the provider, keep the history),
and revoking every connection of a company that leaves (the purge hook)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import httpx2
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.connections.exceptions import NeedsReauth, NotConnected, reconnect_url
from app.connections.models import (
    ConnectionStatus,
    Provider,
    ProviderConnection,
)
from app.connections.oauth import (
    ClientRefused,
    InvalidGrant,
    TokenAnswerLost,
)
from app.connections.repository import ConnectionRepository, any_live
from app.connections.schemas import ConnectionOut, DisconnectOut
from app.connections.service.common import provider_label, retire
from app.connections.tokens import TokenService
from app.db import utcnow
from app.errors import NotFound, ServiceUnavailable
from app.providers.errors import ProviderAuthError, ProviderError
from app.tenants.models import Company

log = structlog.get_logger(__name__)

# --- listing ---------------------------------------------------------------------------------


async def list_connections(
    settings: Settings, session: AsyncSession, company_id: str
) -> list[ConnectionOut]:
    """Both providers' state for the company (live, history, or never connected)."""
    repo = ConnectionRepository(session, company_id)
    out = []
    for provider in Provider:
        row = await repo.latest(provider.value)
        out.append(connection_out(settings, provider.value, row))
    return out


def _age(moment: datetime | None) -> float | None:
    return (utcnow() - moment).total_seconds() if moment else None


def connection_out(
    settings: Settings, provider: str, row: ProviderConnection | None
) -> ConnectionOut:
    base = {
        "provider": provider,
        "provider_label": provider_label(provider),
        "connect_url": reconnect_url(settings, provider),
    }
    if row is None:
        return ConnectionOut(status="not_connected", **base)
    return ConnectionOut(
        status=row.status,
        status_reason=row.status_reason,
        tenant_id=row.tenant_id,
        organisation_name=row.organisation_name,
        base_currency=row.base_currency,
        short_code=row.short_code,
        timezone=row.timezone,
        connected_by=row.connected_by_name,
        connected_by_user_id=row.connected_by_id,
        connected_at=row.connected_at,
        disconnected_at=row.disconnected_at,
        provider_role=row.provider_role or None,
        expires_at=row.expires_at if row.is_live else None,
        renew_by=row.renew_by(utcnow()),
        last_sync_at=row.last_sync_at,
        synced_until=row.synced_until,
        sync_lag_seconds=(utcnow() - row.last_sync_at).total_seconds()
        if row.last_sync_at
        else None,
        last_sync_error=row.last_sync_error or "",
        last_sync_error_at=row.last_sync_error_at,
        **base,
    )


# --- disconnecting ---------------------------------------------------------------------------


async def disconnect(
    settings: Settings,
    session: AsyncSession,
    tokens: TokenService,
    company_id: str,
    provider: Provider,
) -> DisconnectOut:
    """Revoke at the provider (Xero: also DELETE /connections/{id}), delete the tokens, keep
    the row as history (status disconnected) so invoice links stay readable.

    When the provider cannot be reached the connection is left as it was (503).
    """
    repo = ConnectionRepository(session, company_id)
    row = await repo.live(provider.value)
    if row is None:
        raise NotFound(f"{provider_label(provider.value)} is not connected")
    try:
        revoked = await _revoke(settings, session, tokens, row)
    except (ProviderError, ServiceUnavailable, TokenAnswerLost, ClientRefused) as exc:
        raise ServiceUnavailable(
            f"{provider_label(provider.value)} could not be reached to revoke access, so "
            "the connection was kept. Try again in a minute.",
            headers={"Retry-After": "30"},
            extra={"retry_after": 30},
        ) from exc
    retire(row, utcnow())
    await session.flush()
    log.info("connection_disconnected", provider=provider.value, company=company_id)
    return DisconnectOut(provider=provider.value, status=row.status, revoked_at_provider=revoked)


async def _revoke(
    settings: Settings, session: AsyncSession, tokens: TokenService, row: ProviderConnection
) -> bool:
    revoked = False
    if row.status == ConnectionStatus.active.value and row.refresh_token:
        revoked = await _revoke_at_provider(settings, tokens, row, session)
        # The token service may have rotated the tokens in its own transaction meanwhile.
        await session.refresh(row)
    return revoked


async def _revoke_at_provider(
    settings: Settings, tokens: TokenService, row: ProviderConnection, session: AsyncSession
) -> bool:
    """Remove our access at the provider; True when the grant itself was revoked."""
    facade = tokens.facade(row.provider)
    try:
        # Only a Xero connection has a tenant connection of its own to delete.
        if row.xero_connection_id:
            connection_id = row.xero_connection_id
            try:
                await tokens.call(
                    row.company_id,
                    row.provider,
                    lambda creds: facade.xero_delete_connection(creds.access_token, connection_id),
                )
            except ProviderAuthError as exc:
                # The tenant is already unreachable with this grant; revoking is what remains.
                log.info("xero_delete_connection_refused", reason=exc.reason)
            if await _xero_user_serves_others(session, row):
                # Xero tokens belong to the user, and revoking one removes *all* of that user's
                # connections to this app: that would cut off the other Pipedrive company this
                # Xero user connected. The tenant connection is gone (DELETE above), so this
                # company's access has ended; the grant stays for the other connection.
                log.info("xero_revocation_skipped_shared_user", connection=row.id)
                return False
        async with tokens.sessionmaker() as fresh:
            current = await fresh.get(ProviderConnection, row.id)
            refresh_token = current.refresh_token if current else None
        if refresh_token:
            await facade.revoke(refresh_token)
    except (NeedsReauth, NotConnected, InvalidGrant):
        # The provider already stopped honouring the grant: nothing left to revoke.
        return False
    return True


async def _xero_user_serves_others(session: AsyncSession, row: ProviderConnection) -> bool:
    """Whether the Xero user behind ``row`` also connected another live connection of ours
    (any company: a cross-tenant check that returns nothing but a yes or no)."""
    if not row.provider_user_email:
        return False
    return await any_live(
        session,
        Provider.xero.value,
        ProviderConnection.provider_user_email == row.provider_user_email,
        ProviderConnection.id != row.id,
    )


async def revoke_company_connections(
    settings: Settings,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    http: httpx2.AsyncClient,
    company_id: str,
) -> int:
    """Revoke and delete every provider token of a company (the company is being purged).

    Best effort at the provider: a company that leaves must lose its tokens even when Xero or
    QuickBooks is down. Returns how many connections there were. Runs inside the caller's unit
    of work (``session``), which the purge commits; every provider call (and any token refresh,
    which commits on its own) happens before this session writes, so on SQLite it never waits
    on its own caller's write lock.
    """
    tokens = TokenService(settings, sessionmaker, http)
    rows = list(await ConnectionRepository(session, company_id).all_live())
    for row in rows:
        try:
            await _revoke(settings, session, tokens, row)
        except (ProviderError, ServiceUnavailable, TokenAnswerLost, ClientRefused) as exc:
            log.warning("revoke_failed", provider=row.provider, error=exc.code)
    now = utcnow()
    for row in rows:
        retire(row, now)
    await session.flush()
    return len(rows)


def connections_purge_hook(
    settings: Settings,
) -> Callable[[AsyncSession, Company], Awaitable[None]]:
    """A before-company-purge hook ``hook(session, company)`` (see
    ``app.tenants.service.register_before_purge``) that revokes the company's provider tokens.

    The sessions and the HTTP client are made when the hook runs, on the purge's own engine and
    event loop, so one registration serves every app instance of the process.
    """

    async def hook(session: AsyncSession, company: Company) -> None:
        bind = session.bind
        assert bind is not None, "the purge session is bound to the app's engine"
        maker = async_sessionmaker(bind, expire_on_commit=False, autoflush=False)
        async with httpx2.AsyncClient(timeout=httpx2.Timeout(30.0, connect=10.0)) as http:
            await revoke_company_connections(settings, session, maker, http, company.id)

    return hook
