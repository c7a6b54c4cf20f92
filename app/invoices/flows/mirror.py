"""The contact's invoices at the provider, mirrored into our rows (``source="provider"``).

The deal panel's "View all invoices", its totals and the extension's ``getSearchInvoices`` /
``getInvoiceSummary`` read ``deal_invoice`` rows, never the provider on each render. A contact's
invoices are read in full once (``ensure_mirrored``; again on refresh), after which the status
sync keeps them (``adopt_new`` in the catch-up adds new invoices of mirrored contacts; every
mirrored row is a created row, so webhooks and catch-ups apply to it like to ours).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import insert_ignoring_conflicts, new_uuid, utcnow
from app.invoices.context import InvoiceContext, live_connection, organisation_of
from app.invoices.flows.apply import apply_invoice
from app.invoices.models import (
    ContactMirror,
    DealInvoice,
    DealInvoiceLink,
    InvoiceSource,
    InvoiceStatus,
)
from app.providers.base import Invoice

PAGE_SIZE = 100
# A contact with more than 10,000 invoices is read to that many (newest first).
MAX_PAGES = 100

# Rows per insert statement (SQLite allows 32,766 parameters; a row has about 40).
INSERT_BATCH = 200

UrlOf = Callable[[str], str | None]


async def read_contact(
    ctx: InvoiceContext, session: AsyncSession, provider: str, contact_id: str
) -> int:
    """Read every invoice of the contact at the provider and bring our rows in step; returns
    how many were read."""
    connection = await live_connection(ctx, provider, session)
    adapter = ctx.adapter(provider)
    organisation = organisation_of(connection)
    found: list[Invoice] = []
    for page in range(1, MAX_PAGES + 1):
        result = await ctx.call(
            provider,
            lambda c, p=page: adapter.search_invoices(
                c, contact_id=contact_id, page=p, page_size=PAGE_SIZE
            ),
        )
        found.extend(result.items)
        if not result.has_more:
            break
    await upsert(
        session,
        ctx.company_id,
        provider,
        found,
        lambda invoice_id: adapter.invoice_url(organisation, invoice_id),
    )
    await mark_mirrored(session, ctx.company_id, provider, contact_id)
    return len(found)


async def ensure_mirrored(
    ctx: InvoiceContext,
    session: AsyncSession,
    provider: str,
    contact_id: str,
    *,
    refresh: bool = False,
) -> bool:
    """Read the contact's invoices from the provider when never read yet, or when asked to
    (``refresh``); returns whether the provider was called."""
    if not refresh and await mirrored_at(session, ctx.company_id, provider, contact_id):
        return False
    await read_contact(ctx, session, provider, contact_id)
    return True


async def mirrored_at(
    session: AsyncSession, company_id: str, provider: str, contact_id: str
) -> ContactMirror | None:
    found: ContactMirror | None = await session.scalar(
        select(ContactMirror).where(
            ContactMirror.company_id == company_id,
            ContactMirror.provider == provider,
            ContactMirror.contact_id == contact_id,
        )
    )
    return found


async def mark_mirrored(
    session: AsyncSession, company_id: str, provider: str, contact_id: str
) -> None:
    # Two requests may read the same contact at once (the panel's totals and View all): the
    # loser's insert does nothing instead of failing its transaction.
    await session.execute(
        insert_ignoring_conflicts(
            session,
            ContactMirror.__table__,
            {
                "id": new_uuid(),
                "company_id": company_id,
                "provider": provider,
                "contact_id": contact_id,
                "synced_at": utcnow(),
            },
            ["company_id", "provider", "contact_id"],
        )
    )
    await session.execute(
        update(ContactMirror)
        .where(
            ContactMirror.company_id == company_id,
            ContactMirror.provider == provider,
            ContactMirror.contact_id == contact_id,
        )
        .values(synced_at=utcnow())
    )


async def upsert(
    session: AsyncSession,
    company_id: str,
    provider: str,
    invoices: Sequence[Invoice],
    url_of: UrlOf,
) -> int:
    """Apply each invoice to our row for it (ours or mirrored), adding a mirrored row for
    those we have none of; returns how many rows were added. Rows another request added at
    the same moment are left to it (the insert ignores conflicts)."""
    if not invoices:
        return 0
    known = {
        row.provider_invoice_id: row
        for row in await session.scalars(
            select(DealInvoice).where(
                DealInvoice.company_id == company_id,
                DealInvoice.provider == provider,
                DealInvoice.provider_invoice_id.in_([i.id for i in invoices]),
            )
        )
    }
    fresh: dict[str, dict[str, object]] = {}
    for invoice in invoices:
        row = known.get(invoice.id)
        if row is None:
            made = mirror_row(company_id, provider, invoice, url_of(invoice.id))
            fresh[invoice.id] = values_of(made)
        elif row.status == InvoiceStatus.created:
            apply_invoice(row, invoice)
    await session.flush()
    rows = list(fresh.values())
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    for start in range(0, len(rows), INSERT_BATCH):
        # A row another request inserted meanwhile (same key or provider id) is skipped.
        await session.execute(
            insert(DealInvoice).values(rows[start : start + INSERT_BATCH]).on_conflict_do_nothing()
        )
    return len(rows)


def values_of(row: DealInvoice) -> dict[str, object]:
    """Every column value of a new row, its defaults filled as a flush would (the same keys
    for every row, as one multi-row insert needs)."""
    now = utcnow()
    values: dict[str, object] = {}
    for column in DealInvoice.__table__.columns:
        value = getattr(row, column.key, None)
        if value is None and column.default is not None and column.default.is_scalar:
            value = column.default.arg
        values[column.key] = value
    values.update(id=new_uuid(), created_at=now, updated_at=now)
    return values


def mirror_row(company_id: str, provider: str, invoice: Invoice, url: str | None) -> DealInvoice:
    row = DealInvoice(
        company_id=company_id,
        provider=provider,
        deal_id=None,
        # Unique per company like an intent's key, and never one a client could send.
        idempotency_key=f"mirror:{provider}:{invoice.id}",
        request_hash="",
        status=InvoiceStatus.created,
        source=InvoiceSource.provider,
        request_body={},
    )
    apply_invoice(row, invoice, url=url)
    return row


async def adopt_new(
    session: AsyncSession,
    company_id: str,
    provider: str,
    invoices: Iterable[Invoice],
    url_of: UrlOf,
) -> int:
    """Of the invoices a catch-up brought that we have no row for, mirror those whose contact
    is mirrored (so "View all" stays complete between refreshes)."""
    fresh = [i for i in invoices if i.contact_id]
    if not fresh:
        return 0
    contacts = set(
        await session.scalars(
            select(ContactMirror.contact_id).where(
                ContactMirror.company_id == company_id,
                ContactMirror.provider == provider,
                ContactMirror.contact_id.in_({i.contact_id for i in fresh}),
            )
        )
    )
    return await upsert(
        session, company_id, provider, [i for i in fresh if i.contact_id in contacts], url_of
    )


async def adopt_mirror(session: AsyncSession, saved: DealInvoice, invoice_id: str) -> None:
    """An intent just confirmed as the provider's ``invoice_id`` which we had already mirrored
    (read with its contact's invoices while the intent's outcome was unknown): the mirrored
    row gives way to the intent, and its deal links move to it."""
    mirrored = await session.scalar(
        select(DealInvoice).where(
            DealInvoice.company_id == saved.company_id,
            DealInvoice.provider == saved.provider,
            DealInvoice.provider_invoice_id == invoice_id,
            DealInvoice.source == InvoiceSource.provider,
            DealInvoice.id != saved.id,
        )
    )
    if mirrored is None:
        return
    has = select(DealInvoiceLink.deal_id).where(DealInvoiceLink.invoice_id == saved.id)
    await session.execute(
        update(DealInvoiceLink)
        .where(DealInvoiceLink.invoice_id == mirrored.id, DealInvoiceLink.deal_id.not_in(has))
        .values(invoice_id=saved.id)
    )
    await session.execute(delete(DealInvoiceLink).where(DealInvoiceLink.invoice_id == mirrored.id))
    await session.delete(mirrored)
    await session.flush()


async def contact_rows(
    session: AsyncSession,
    company_id: str,
    provider: str,
    contact_id: str,
    date_from: date | None = None,
    date_to: date | None = None,
    page: int | None = None,
    page_size: int = PAGE_SIZE,
) -> list[DealInvoice]:
    """Our rows of the contact's invoices issued in the range, newest first (one page, or
    all when ``page`` is None)."""
    query = select(DealInvoice).where(
        DealInvoice.company_id == company_id,
        DealInvoice.provider == provider,
        DealInvoice.contact_id == contact_id,
        DealInvoice.status == InvoiceStatus.created,
    )
    if date_from is not None:
        query = query.where(DealInvoice.issue_date >= date_from)
    if date_to is not None:
        query = query.where(DealInvoice.issue_date <= date_to)
    query = query.order_by(DealInvoice.issue_date.desc().nulls_last(), DealInvoice.id)
    if page is not None:
        query = query.offset((page - 1) * page_size).limit(page_size)
    return list(await session.scalars(query))


async def rows_by_ids(
    ctx: InvoiceContext,
    session: AsyncSession,
    provider: str,
    ids: Sequence[str],
    *,
    refresh: bool = False,
) -> list[DealInvoice]:
    """Our rows of these provider invoices, reading (and mirroring) those we have none of;
    ``refresh`` reads them all at the provider first."""
    query = select(DealInvoice).where(
        DealInvoice.company_id == ctx.company_id,
        DealInvoice.provider == provider,
        DealInvoice.provider_invoice_id.in_(list(ids)),
        DealInvoice.status == InvoiceStatus.created,
    )
    found = {r.provider_invoice_id: r for r in await session.scalars(query)}
    missing = list(ids) if refresh else [i for i in ids if i not in found]
    if missing:
        connection = await live_connection(ctx, provider, session)
        adapter = ctx.adapter(provider)
        organisation = organisation_of(connection)
        read = await ctx.call(provider, lambda c: adapter.get_invoices(c, missing))
        await upsert(
            session,
            ctx.company_id,
            provider,
            read,
            lambda invoice_id: adapter.invoice_url(organisation, invoice_id),
        )
        found = {r.provider_invoice_id: r for r in await session.scalars(query)}
    return [found[i] for i in ids if i in found]
