"""The company's one timezone read from what we store (``app.tenants.clock`` is the rule)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.connections.models import ConnectionStatus, ProviderConnection
from app.tenants.clock import company_zone
from app.tenants.models import Company


async def company_timezone(session: AsyncSession, company_id: str) -> str:
    """The IANA zone a company's invoice dates are in (Pipedrive's, else its organisation's)."""
    company = await session.get(Company, company_id)
    rows = (
        await session.execute(
            select(ProviderConnection.provider, ProviderConnection.timezone).where(
                ProviderConnection.company_id == company_id,
                ProviderConnection.status != ConnectionStatus.disconnected.value,
            )
        )
    ).all()
    return company_zone(company.timezone if company else None, [(p, tz) for p, tz in rows])
