"""``invoicing sync``: catch-up from the command line, for one company or all of them."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from app.config import Settings
from app.connections.dependencies import tokens_of
from app.connections.models import ConnectionStatus, ProviderConnection
from app.invoices.flows.sync import catch_up
from app.kit.crypto import keyring
from app.worker.process import close_state, open_state


async def sync_once(settings: Settings, company_id: str | None = None) -> list[str]:
    """Catch up every active connection (of ``company_id`` when given); one line each."""
    keyring.configure(settings.token_key_list)
    state = open_state(settings)
    lines: list[str] = []
    try:
        async with state.sessionmaker() as session:
            query = select(ProviderConnection.id).where(
                ProviderConnection.status == ConnectionStatus.active.value
            )
            if company_id:
                query = query.where(ProviderConnection.company_id == company_id)
            ids = list((await session.scalars(query)).all())
        tokens = tokens_of(state)
        for connection_id in ids:
            async with state.sessionmaker() as session:
                connection = await session.get(ProviderConnection, connection_id)
                if connection is None:
                    continue
                label = (
                    f"{connection.provider} {connection.organisation_name or connection.tenant_id}"
                )
                try:
                    report = await catch_up(tokens, session, connection)
                    await session.commit()
                except Exception as exc:  # one connection's failure must not stop the others
                    lines.append(f"{label}: failed ({type(exc).__name__}: {exc})")
                    continue
                lines.append(
                    f"{label}: read {report.read}, updated {report.updated}, "
                    f"deleted {report.deleted}"
                )
    finally:
        await close_state(state)
    return lines


async def sync_forever(settings: Settings, company_id: str | None, every: float) -> None:
    while True:
        for line in await sync_once(settings, company_id):
            print(line, flush=True)
        await asyncio.sleep(every)
