"""The context every invoice flow runs in (``context`` builds it from a request), the company's
live connection (and whether calls to it are paused), and a short-lived cache of provider
metadata.

Tax rates, currencies and features change rarely, and every draft and every create needs them:
reading them once per few minutes per organisation keeps the draft at two rounds of CRM reads
and the create at one provider round trip.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx2
from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.connections.dependencies import get_token_service, tokens_of
from app.connections.models import ConnectionStatus, ProviderConnection
from app.connections.repository import ConnectionRepository
from app.connections.token_store import check_usable, is_usable
from app.connections.tokens import TokenService
from app.crm.pipedrive.client import FieldDefinitionCache, PipedriveClient
from app.crm.pipedrive.service import client_for, field_cache, installation_for
from app.invoices.models import DealInvoice
from app.invoices.rules.meta import ProviderMeta
from app.kit.circuit import Paused
from app.providers.base import AccountingProvider, Organisation
from app.tenants.models import CrmUser

META_TTL_SECONDS = 300.0


@dataclass
class InvoiceContext:
    """Who acts and with what: built per request by the routes, or by any other surface
    (the Pipedrive Invoicing extension) from the same app state."""

    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    http: httpx2.AsyncClient
    tokens: TokenService
    fields: FieldDefinitionCache
    user: CrmUser
    meta_cache: MetaCache
    # The company's live connection rows read during this request or job, by provider
    # (``live_connection``), handed to the token service so that a provider call needs no
    # read of its own (issue 17). Bound: one row per provider of this one company; dropped
    # with the context; a 401 from the provider makes the token service read afresh.
    connections: dict[str, ProviderConnection] = field(default_factory=dict)

    @property
    def company_id(self) -> str:
        return self.user.company_id

    def adapter(self, provider: str) -> AccountingProvider:
        adapter: AccountingProvider = self.tokens.facade(provider).adapter
        return adapter

    async def call(self, provider: str, fn: Any) -> Any:
        """Run ``fn(creds)`` with the company's valid credentials (409 when not connected).

        Every provider call goes through the adapter's Transport, whose circuit per
        organisation fails it fast (``ProviderCircuitOpen``, 503) while the provider keeps
        failing; ``paused`` says so before anyone tries."""
        return await self.tokens.call(
            self.company_id, provider, fn, known=self.connections.get(provider)
        )

    async def paused(self, provider: str, tenant_id: str) -> Paused | None:
        """Whether calls to this organisation of ``provider`` are paused (its circuit is open)."""
        return await self.adapter(provider).paused(tenant_id)

    async def pipedrive(self, session: AsyncSession) -> tuple[PipedriveClient, str]:
        """A Pipedrive client acting for the company and its API domain."""
        installation = await installation_for(session, self.company_id, self.user.id)
        client = client_for(
            self.http, self.settings, self.sessionmaker, installation.id, installation
        )
        return client, installation.api_domain


def context(request: Request, user: Any) -> InvoiceContext:
    """The flows' context from a request of our app (any surface)."""
    state = request.app.state
    cache = getattr(state, "invoice_meta", None)
    if cache is None:
        cache = state.invoice_meta = MetaCache()
    return InvoiceContext(
        settings=state.settings,
        sessionmaker=state.sessionmaker,
        http=state.http,
        tokens=get_token_service(request),
        fields=field_cache(request),
        user=user,
        meta_cache=cache,
    )


async def background_context(state: Any, company_id: str, row_id: str) -> InvoiceContext | None:
    """The flows' context in a worker, acting as the user who created the intent ``row_id``
    (an id-only stand-in when that user has left); None when the intent is gone."""
    async with state.sessionmaker() as session:
        row = await session.get(DealInvoice, row_id)
        if row is None or row.company_id != company_id:
            return None
        user_id = row.created_by_user_id
    return await acting_as(state, company_id, user_id)


async def acting_as(state: Any, company_id: str, user_id: str | None) -> InvoiceContext:
    """The flows' context in a worker, acting as ``user_id`` (an id-only stand-in when that
    user has left or is unknown)."""
    async with state.sessionmaker() as session:
        user = await session.get(CrmUser, user_id) if user_id else None
    if user is None or user.company_id != company_id:
        user = CrmUser(id=user_id, company_id=company_id, name="", is_admin=False)
    cache = getattr(state, "invoice_meta", None)
    if cache is None:
        cache = state.invoice_meta = MetaCache()
    return InvoiceContext(
        settings=state.settings,
        sessionmaker=state.sessionmaker,
        http=state.http,
        tokens=tokens_of(state),
        fields=FieldDefinitionCache(),
        user=user,
        meta_cache=cache,
    )


class MetaCache:
    """Provider metadata per (company, provider, tenant), single-flight, a few minutes."""

    def __init__(self, ttl: float = META_TTL_SECONDS) -> None:
        self.ttl = ttl
        self._entries: dict[tuple[str, str, str], tuple[float, ProviderMeta]] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    def invalidate(self, company_id: str, provider: str) -> None:
        for key in [k for k in self._entries if k[:2] == (company_id, provider)]:
            self._entries.pop(key, None)

    async def get(self, ctx: InvoiceContext, provider: str) -> ProviderMeta:
        return (await self.connected(ctx, provider))[0]

    async def connected(
        self, ctx: InvoiceContext, provider: str, session: AsyncSession | None = None
    ) -> tuple[ProviderMeta, ProviderConnection]:
        """The metadata and the live connection row (409 when there is none): the row this
        request or job already read (``ctx.connections``), else read in ``session``."""
        connection = ctx.connections.get(provider) or await live_connection(ctx, provider, session)
        return await self._meta(ctx, provider, connection), connection

    async def _meta(
        self, ctx: InvoiceContext, provider: str, connection: ProviderConnection
    ) -> ProviderMeta:
        key = (ctx.company_id, provider, connection.tenant_id)
        entry = self._entries.get(key)
        if entry and entry[0] > time.monotonic():
            return entry[1]
        async with self._locks.setdefault(key[:2], asyncio.Lock()):
            entry = self._entries.get(key)
            if entry and entry[0] > time.monotonic():
                return entry[1]
            adapter = ctx.adapter(provider)
            features, rates, currencies, templates = await asyncio.gather(
                ctx.call(provider, adapter.get_features),
                ctx.call(provider, adapter.list_tax_rates),
                ctx.call(provider, adapter.list_currencies),
                ctx.call(provider, adapter.list_templates),
            )
            meta = ProviderMeta(
                provider=provider,
                organisation=organisation_of(connection),
                features=features,
                tax_rates=tuple(rates),
                currencies=tuple(currencies),
                templates=tuple(templates),
            )
            self._entries[key] = (time.monotonic() + self.ttl, meta)
            return meta


def organisation_of(row: ProviderConnection) -> Organisation:
    return Organisation(
        id=row.tenant_id,
        name=row.organisation_name,
        base_currency=row.base_currency,
        short_code=row.short_code,
        timezone=row.timezone,
    )


async def live_connection(
    ctx: InvoiceContext, provider: str, using: AsyncSession | None = None
) -> ProviderConnection:
    """The company's live connection, or 409 with the connect / reconnect URL. Read in
    ``using`` when the caller has a session: a request holding its session's pooled
    connection while it waits for a second one deadlocked the pool at 30 concurrent creates
    per process (bench/create_invoice.py (g), 500s after 30 s pool timeouts)."""
    if using is None:
        async with ctx.sessionmaker() as session:
            return await live_connection(ctx, provider, session)
    row = await ConnectionRepository(using, ctx.company_id).live(provider)
    check_usable(ctx.settings, row, provider)
    assert row is not None
    ctx.connections[provider] = row
    return row


async def read_live_connection(ctx: InvoiceContext, session: AsyncSession, provider: str) -> None:
    """Read the live connection in the caller's session ahead of concurrent work that needs
    it (``MetaCache.connected`` then reuses it), raising nothing: the work reports a missing
    or broken connection in its own order."""
    row = await ConnectionRepository(session, ctx.company_id).live(provider)
    if row is not None and is_usable(row):
        ctx.connections[provider] = row


async def paused_connections(ctx: InvoiceContext, session: AsyncSession) -> dict[str, Paused]:
    """The company's active connections whose calls are paused, by provider (for the panel)."""
    rows = await ConnectionRepository(session, ctx.company_id).all_live()
    pauses: dict[str, Paused] = {}
    for row in rows:
        if row.status != ConnectionStatus.active.value:
            continue
        paused = await ctx.paused(row.provider, row.tenant_id)
        if paused is not None:
            pauses[row.provider] = paused
    return pauses
