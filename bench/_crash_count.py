"""What the crash run counts: our intents against the provider's invoices, matched through the
marker each intent writes on its invoice (``app.providers.markers``)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx2
from sqlalchemy import func, select

from app.config import Settings
from app.connections.tokens import TokenService
from app.db import create_engine, create_sessionmaker
from app.invoices.flows.claim import provider_key
from app.invoices.models import DealInvoice, InvoiceStatus
from app.kit.crypto import keyring
from app.providers.base import Invoice

OPEN = (InvoiceStatus.pending, InvoiceStatus.unknown)


async def open_intents(settings: Settings) -> int:
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            count = await session.scalar(
                select(func.count()).select_from(DealInvoice).where(DealInvoice.status.in_(OPEN))
            )
    finally:
        await engine.dispose()
    return int(count or 0)


async def provider_invoices(
    settings: Settings, sessionmaker: Any, company_id: str, provider: str
) -> list[Invoice]:
    """Every invoice of the connected organisation, all pages."""
    out: list[Invoice] = []
    async with httpx2.AsyncClient(timeout=60) as http:
        tokens = TokenService(settings, sessionmaker, http)
        adapter = tokens.facade(provider).adapter
        page = 1
        while True:
            result = await tokens.call(
                company_id,
                provider,
                lambda c, p=page: adapter.search_invoices(c, page=p, page_size=100),
            )
            out.extend(result.items)
            if not result.has_more:
                return out
            page += 1


async def count_outcomes(settings: Settings, provider: str) -> dict[str, int]:
    # The connection's tokens are read here, in this process: its keyring needs the run's keys,
    # for this read only (the test process that runs it has keys of its own).
    with keyring.using(settings.token_key_list):
        engine = create_engine(settings)
        sessionmaker = create_sessionmaker(engine)
        try:
            async with sessionmaker() as session:
                rows = (await session.execute(select(DealInvoice))).scalars().all()
            if not rows:
                return dict.fromkeys(
                    ("intents", "created", "failed", "open", "provider_invoices", "duplicates",
                     "orphans", "unrecorded", "missing"), 0,
                )  # fmt: skip
            company_id = rows[0].company_id
            invoices = await provider_invoices(settings, sessionmaker, company_id, provider)
        finally:
            await engine.dispose()
    return tally(rows, invoices, company_id)


def tally(rows: Any, invoices: list[Invoice], company_id: str) -> dict[str, int]:
    marked = [i for i in invoices if i.marker and i.status != "DELETED"]
    per_marker = Counter(i.marker for i in marked)
    created = [r for r in rows if r.status == InvoiceStatus.created]
    created_markers = {provider_key(company_id, r.idempotency_key, r.attempt) for r in created}
    existing = {i.id for i in marked}
    unrecorded = sum(1 for i in marked if i.marker not in created_markers)
    missing = sum(1 for r in created if r.provider_invoice_id not in existing)
    return {
        "intents": len(rows),
        "created": len(created),
        "failed": sum(1 for r in rows if r.status == InvoiceStatus.failed),
        "open": sum(1 for r in rows if r.status in OPEN),
        "provider_invoices": len(marked),
        "duplicates": sum(n - 1 for n in per_marker.values() if n > 1),
        "orphans": unrecorded + missing,
        "unrecorded": unrecorded,
        "missing": missing,
    }
