"""Company-scoped access to connections."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.connections.models import ConnectionStatus, ProviderConnection
from app.tenants.repository import CompanyScopedRepository


class ConnectionRepository(CompanyScopedRepository[ProviderConnection]):
    model = ProviderConnection
    not_found_message = "connection not found"

    async def live(self, provider: str) -> ProviderConnection | None:
        """The company's active or needs-reauth connection to ``provider``, if any."""
        result = await self.session.execute(
            self.select().where(
                ProviderConnection.provider == provider,
                ProviderConnection.status != ConnectionStatus.disconnected.value,
            )
        )
        row: ProviderConnection | None = result.scalar_one_or_none()
        return row

    async def latest(self, provider: str) -> ProviderConnection | None:
        """The live connection, or else the most recently disconnected one (history)."""
        live = await self.live(provider)
        if live is not None:
            return live
        result = await self.session.execute(
            self.select()
            .where(ProviderConnection.provider == provider)
            .order_by(ProviderConnection.connected_at.desc())
            .limit(1)
        )
        row: ProviderConnection | None = result.scalars().first()
        return row

    async def all_live(self) -> Sequence[ProviderConnection]:
        return await self.list(ProviderConnection.status != ConnectionStatus.disconnected.value)


async def any_live(session: AsyncSession, provider: str, *where: ColumnElement[bool]) -> bool:
    """Whether any company's live connection to ``provider`` matches ``where`` (a cross-tenant
    check, so it looks past the company filter and answers only yes or no)."""
    result = await session.execute(
        select(ProviderConnection.id).where(
            ProviderConnection.provider == provider,
            ProviderConnection.status != ConnectionStatus.disconnected.value,
            *where,
        )
    )
    return result.first() is not None


async def claimed_elsewhere(
    repo: ConnectionRepository, provider: str, tenant_id: str
) -> ProviderConnection | None:
    """A live connection of *another* company to this organisation (a cross-tenant check, so
    it deliberately looks past the repository's company filter and returns no details)."""
    result = await repo.session.execute(
        select(ProviderConnection).where(
            ProviderConnection.provider == provider,
            ProviderConnection.tenant_id == tenant_id,
            ProviderConnection.status != ConnectionStatus.disconnected.value,
            ProviderConnection.company_id != repo.company_id,
        )
    )
    row: ProviderConnection | None = result.scalars().first()
    return row
