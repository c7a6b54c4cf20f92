"""The reconciler: resolves every intent left ``pending`` past its lease or ``unknown``, with
no client involved (run by the worker, ``invoices.tasks``).

Each due intent is taken over like a retrying request would (compare and swap, a new claim
token), then delivered as a resumed intent: looked for through its own marker, sent again
under its own provider key only when the search, read to the end, did not find it. The
outcome is ``created``, ``failed`` with the provider's refusal, or ``unknown`` again with a
longer wait (never ``failed`` without a definitive answer).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.errors import AppError
from app.invoices.context import InvoiceContext
from app.invoices.flows.claim import Claim, take_over
from app.invoices.flows.creation import record_created
from app.invoices.flows.delivery import Attempt, deliver, settle
from app.invoices.models import DealInvoice, InvoiceStatus
from app.invoices.repository import InvoiceRepository
from app.invoices.schemas import InvoiceIn

OPEN = (InvoiceStatus.pending, InvoiceStatus.unknown)


async def due_intents(
    session: AsyncSession, now: datetime | None = None, limit: int = 500
) -> list[tuple[str, str, str]]:
    """(row id, company id, due key) of every intent, all companies, that is open and whose
    lease or backoff has passed, oldest first. The due key changes with every new lease or
    backoff, so each due time is worked on once."""
    now = now or utcnow()
    result = await session.execute(
        select(DealInvoice.id, DealInvoice.company_id, DealInvoice.tries, DealInvoice.lease_until)
        .where(
            DealInvoice.status.in_(OPEN),
            or_(DealInvoice.lease_until.is_(None), DealInvoice.lease_until <= now),
        )
        .order_by(DealInvoice.created_at)
        .limit(limit)
    )
    return [
        (row_id, company_id, f"{tries}:{lease.timestamp() if lease else 0}")
        for row_id, company_id, tries, lease in result.all()
    ]


async def resolve_intent(ctx: InvoiceContext, row_id: str) -> str:
    """Resolve one intent of ``ctx``'s company; returns the outcome in words."""
    held = await take_due(ctx, row_id)
    if held is None:
        return "skipped: not due, or another holder has it"
    body = InvoiceIn.model_validate(held.row.request_body)
    try:
        meta, connection = await ctx.meta_cache.connected(ctx, held.row.provider)
    except Exception as exc:
        # Whatever stops it here, the intent is let go at once (unknown, with a backoff),
        # never left held until its lease runs out.
        await settle(ctx, Attempt(held, body), exc)
        if isinstance(exc, AppError):
            return f"unknown: {exc.message}"
        raise
    try:
        sent = await deliver(ctx, meta, held, body)
    except AppError as exc:
        async with ctx.sessionmaker() as session:
            row = await InvoiceRepository(session, ctx.company_id).get(row_id)
        return f"{row.status if row else 'gone'}: {exc.message}"
    saved = await record_created(ctx, meta, connection, held, body, sent, linked=False)
    return f"{saved.status}: {saved.provider_invoice_id}"


async def take_due(ctx: InvoiceContext, row_id: str) -> Claim | None:
    async with ctx.sessionmaker() as session:
        row = await InvoiceRepository(session, ctx.company_id).get(row_id)
        if row is None or row.status not in OPEN:
            return None
        if row.lease_until is not None and row.lease_until > utcnow():
            return None
        return await take_over(ctx, session, row, by_reconciler=True)
