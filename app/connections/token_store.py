"""The connection row as the shared ``TokenRefresher`` sees it (``app.kit.refresher``).

Only the storage specifics live here: how a connection row is read and checked, how the lease
is claimed on ``token_version``, how a rotation is stored (keeping the replaced refresh token
for the provider's grace window), and what ``invalid_grant`` does to the row.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.connections.exceptions import NeedsReauth, NotConnected
from app.connections.models import ConnectionStatus, ProviderConnection
from app.db import utcnow
from app.kit.oauth import TokenSet
from app.kit.refresher import InvalidGrant

log = structlog.get_logger(__name__)


def is_usable(row: ProviderConnection) -> bool:
    """Whether ``row``'s tokens can be used or refreshed (not waiting for a reconnect)."""
    return row.status != ConnectionStatus.needs_reauth.value and bool(row.refresh_token)


def check_usable(settings: Settings, row: ProviderConnection | None, provider: str) -> None:
    """Raise NotConnected or NeedsReauth (409) unless ``row`` can be used or refreshed."""
    if row is None:
        raise NotConnected(settings, provider)
    if not is_usable(row):
        raise NeedsReauth(settings, provider, row.status_reason)


def mark_needs_reauth(row: ProviderConnection, reason: str) -> None:
    """The tokens are dead: the connection waits for a reconnect."""
    log.warning("connection_needs_reauth", provider=row.provider, connection=row.id)
    row.status = ConnectionStatus.needs_reauth.value
    row.status_reason = reason[:500]
    # Keep nothing secret that no longer works.
    row.access_token = None
    row.refresh_token = None
    row.previous_refresh_token = None
    row.refresh_lease_until = None
    row.token_version = row.token_version + 1


def apply_rotation(row: ProviderConnection, tokens: TokenSet) -> None:
    """Store a token answer on the row; the replaced refresh token is kept for the grace
    window (a lost answer may mean the provider never saw our rotation take hold)."""
    now = utcnow()
    if tokens.refresh_token and tokens.refresh_token != row.refresh_token:
        row.previous_refresh_token = row.refresh_token
        row.rotated_at = now
        row.refresh_token = tokens.refresh_token
    row.access_token = tokens.access_token
    row.expires_at = tokens.expires_at
    if tokens.refresh_expires_at:
        row.refresh_expires_at = tokens.refresh_expires_at
    if tokens.refresh_hard_expires_at:
        row.refresh_hard_expires_at = tokens.refresh_hard_expires_at
    row.token_version = row.token_version + 1
    row.last_refreshed_at = now
    row.refresh_lease_until = None


class ConnectionTokenStore:
    """One ``ProviderConnection`` row for the refresher; ``fetch`` is the token call."""

    def __init__(
        self,
        settings: Settings,
        connection_id: str,
        fetch: Callable[[ProviderConnection], Awaitable[TokenSet]],
    ) -> None:
        self.settings = settings
        self.key = connection_id
        self._fetch = fetch

    def version(self, row: ProviderConnection) -> int:
        return row.token_version

    async def load(self, session: AsyncSession, *, for_update: bool = False) -> ProviderConnection:
        query = select(ProviderConnection).where(ProviderConnection.id == self.key)
        if for_update:
            query = query.with_for_update()
        row = (await session.execute(query)).scalar_one()
        check_usable(self.settings, row, row.provider)
        return row

    async def claim_lease(self, session: AsyncSession, version: int, until: datetime) -> bool:
        now = utcnow()
        claimed = await session.execute(
            update(ProviderConnection)
            .where(
                ProviderConnection.id == self.key,
                ProviderConnection.token_version == version,
                (ProviderConnection.refresh_lease_until.is_(None))
                | (ProviderConnection.refresh_lease_until < now),
            )
            .values(refresh_lease_until=until)
            .execution_options(synchronize_session=False)
        )
        return _rowcount(claimed) == 1

    async def release_lease(self, session: AsyncSession, version: int) -> None:
        await session.execute(
            update(ProviderConnection)
            .where(ProviderConnection.id == self.key, ProviderConnection.token_version == version)
            .values(refresh_lease_until=None)
            .execution_options(synchronize_session=False)
        )

    async def fetch(self, row: ProviderConnection) -> TokenSet:
        return await self._fetch(row)

    async def save(
        self, session: AsyncSession, row: ProviderConnection, tokens: TokenSet
    ) -> ProviderConnection:
        seen_version = row.token_version
        # In the row-locked transaction this is the locked row itself (identity map).
        current = await session.get(ProviderConnection, self.key)
        assert current is not None
        if current.token_version != seen_version:
            # Our lease lapsed and another process rotated meanwhile; theirs is stored, and
            # the provider treats ours as the newer set, so keep ours (it is the live one).
            log.warning("refresh_lease_lapsed", connection=self.key)
        apply_rotation(current, tokens)
        return current

    async def invalid_grant(
        self, session: AsyncSession, row: ProviderConnection, exc: InvalidGrant, *, locked: bool
    ) -> ProviderConnection | Exception:
        seen_version = row.token_version
        current = row
        if not locked:
            # Re-read once: another process may have rotated the token under us.
            fresh = await session.get(ProviderConnection, self.key)
            assert fresh is not None
            current = fresh
            active = current.status == ConnectionStatus.active.value
            if current.token_version != seen_version and active:
                current.refresh_lease_until = None
                return current
        mark_needs_reauth(current, exc.message)
        return NeedsReauth(self.settings, current.provider, exc.message)


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
