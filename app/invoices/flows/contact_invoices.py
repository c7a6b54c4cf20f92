"""The deal's linked contact and all of its invoices: "View all invoices", the totals, and
linking one of them to the deal being viewed (or unlinking it).

Everything here reads our rows (``flows.mirror`` keeps them); the provider is called only the
first time a contact's invoices are wanted, or on refresh.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import ColumnElement, and_, func, not_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.connections.clock import company_timezone
from app.errors import NotFound, ValidationFailed
from app.invoices.context import InvoiceContext
from app.invoices.flows.changelog import record_event
from app.invoices.flows.deal import read_deal
from app.invoices.flows.listing import approvers, invoice_out, row_view, todays
from app.invoices.flows.mirror import ensure_mirrored
from app.invoices.flows.permits import LINK, UNLINK, require
from app.invoices.models import ContactLink, DealInvoice, DealInvoiceLink, InvoiceStatus
from app.invoices.repository import ContactLinkRepository, InvoiceRepository
from app.invoices.rules.summary import CurrencyTotals, date_range, totals_by_currency
from app.invoices.schemas import InvoiceOut
from app.tenants.clock import today_in

# Provider statuses that are not (yet, or any more) money owed; the rest are receivables.
NOT_ISSUED = ("DRAFT", "SUBMITTED")
CLOSED = ("VOIDED", "DELETED")
STATUSES = ("all", "draft", "unpaid", "overdue", "paid", "voided")
PAGE_SIZE = 25


@dataclass
class DealContact:
    """The provider contact the deal's organization (else person) is linked to."""

    provider: str
    entity: str
    crm_id: int
    link: ContactLink


@dataclass
class ContactPage:
    contact: DealContact
    invoices: list[InvoiceOut]
    linked: set[str]
    total: int
    page: int
    page_size: int
    date_from: date | None
    date_to: date | None
    today: date
    totals: list[CurrencyTotals] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


async def deal_contacts(
    ctx: InvoiceContext, session: AsyncSession, deal_id: int
) -> list[DealContact]:
    """Per provider, the contact the deal's organization (else its person) is linked to
    (404 for another company's or a deleted deal)."""
    client, _ = await ctx.pipedrive(session)
    deal = await read_deal(client, deal_id)
    found: list[DealContact] = []
    repo = ContactLinkRepository(session, ctx.company_id)
    for provider in ("xero", "quickbooks"):
        for entity, crm_id in (("organization", deal.org_id), ("person", deal.person_id)):
            if crm_id is None:
                continue
            link = await repo.one(provider, entity, crm_id)
            if link is not None:
                found.append(DealContact(provider, entity, crm_id, link))
                break
    return found


async def deal_contact(
    ctx: InvoiceContext, session: AsyncSession, deal_id: int, provider: str | None
) -> DealContact:
    """The deal's linked contact at ``provider`` (the first linked one when None); 404 when
    the deal has none."""
    for contact in await deal_contacts(ctx, session, deal_id):
        if provider in (None, contact.provider):
            return contact
    raise NotFound(
        "The deal's organization or person is not linked to a contact.", field="provider"
    )


def status_filter(status: str, today: date) -> ColumnElement[bool] | None:
    """The rows of one status choice (in neutral words: unpaid, overdue, paid...)."""
    issued = not_(DealInvoice.provider_status.in_(NOT_ISSUED + CLOSED))
    if status == "all":
        return None
    if status == "draft":
        return DealInvoice.provider_status.in_(NOT_ISSUED)
    if status == "voided":
        return DealInvoice.provider_status.in_(CLOSED)
    if status == "paid":
        return and_(issued, DealInvoice.amount_due_minor <= 0)
    if status == "unpaid":
        return and_(issued, DealInvoice.amount_due_minor > 0)
    if status == "overdue":
        return and_(issued, DealInvoice.amount_due_minor > 0, DealInvoice.due_date < today)
    raise ValidationFailed(f"Choose a status among {', '.join(STATUSES)}.", field="status")


def contact_criteria(
    company_id: str, contact: DealContact, date_from: date | None, date_to: date | None
) -> list[ColumnElement[bool]]:
    criteria: list[ColumnElement[bool]] = [
        DealInvoice.company_id == company_id,
        DealInvoice.provider == contact.provider,
        DealInvoice.contact_id == contact.link.contact_id,
        DealInvoice.status == InvoiceStatus.created,
    ]
    if date_from is not None:
        criteria.append(DealInvoice.issue_date >= date_from)
    if date_to is not None:
        criteria.append(DealInvoice.issue_date <= date_to)
    return criteria


@dataclass
class Query:
    """What "View all invoices" asks for (checked before anything is read)."""

    range: str = "last_12_months"
    date_from: date | None = None
    date_to: date | None = None
    status: str = "all"
    page: int = 1
    provider: str | None = None
    refresh: bool = False
    # What to read: the page of invoices, the range's totals, or both (the JSON API).
    parts: tuple[str, ...] = ("page", "totals")


async def contact_page(
    ctx: InvoiceContext, session: AsyncSession, deal_id: int, query: Query
) -> ContactPage:
    """One page of the deal's linked contact's invoices in the range and status, newest
    first, with which are linked to the deal, and the range's totals per currency."""
    zone = await company_timezone(session, ctx.company_id)
    today = today_in(zone)
    date_from, date_to = date_range(query.range, today, query.date_from, query.date_to)
    status_filter(query.status, today)  # a bad status is refused before any read
    contact = await deal_contact(ctx, session, deal_id, query.provider)
    await ensure_mirrored(
        ctx, session, contact.provider, contact.link.contact_id, refresh=query.refresh
    )
    local = await todays(ctx, session)
    provider_today = local.get(contact.provider, today)
    found = ContactPage(
        contact=contact,
        invoices=[],
        linked=set(),
        total=0,
        page=query.page,
        page_size=PAGE_SIZE,
        date_from=date_from,
        date_to=date_to,
        today=today,
    )
    if "page" in query.parts:
        await read_page(ctx, session, deal_id, query, found, provider_today)
    if "totals" in query.parts:
        found.totals = await range_totals(
            session, ctx.company_id, contact, date_from, date_to, provider_today
        )
    return found


async def read_page(
    ctx: InvoiceContext,
    session: AsyncSession,
    deal_id: int,
    query: Query,
    found: ContactPage,
    provider_today: date,
) -> None:
    """Fill ``found`` with one page of the invoices in its range and the query's status."""
    criteria = contact_criteria(ctx.company_id, found.contact, found.date_from, found.date_to)
    wanted = status_filter(query.status, found.today)
    listed = criteria if wanted is None else [*criteria, wanted]
    total = await session.scalar(select(func.count()).select_from(DealInvoice).where(*listed))
    rows = list(
        await session.scalars(
            select(DealInvoice)
            .where(*listed)
            .order_by(DealInvoice.issue_date.desc().nulls_last(), DealInvoice.number.desc())
            .offset((query.page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
    )
    can = (await approvers(ctx, session)).get(found.contact.provider, False)
    found.linked = set(
        await session.scalars(
            select(DealInvoiceLink.invoice_id).where(
                DealInvoiceLink.company_id == ctx.company_id,
                DealInvoiceLink.deal_id == deal_id,
                DealInvoiceLink.invoice_id.in_([r.id for r in rows]),
            )
        )
    )
    found.invoices = [invoice_out(r, provider_today, can_approve=can) for r in rows]
    found.total = total or 0


async def range_totals(
    session: AsyncSession,
    company_id: str,
    contact: DealContact,
    date_from: date | None,
    date_to: date | None,
    today: date,
) -> list[CurrencyTotals]:
    rows = await session.scalars(
        select(DealInvoice).where(*contact_criteria(company_id, contact, date_from, date_to))
    )
    return totals_of(rows, today)


def totals_of(rows: Iterable[DealInvoice], today: date) -> list[CurrencyTotals]:
    """Totals per currency of our rows (the panel's and the extension's one computation)."""
    views = (row_view(r, today, can_approve=False) for r in rows)
    return totals_by_currency(v for v in views if v is not None)


async def contact_invoice(
    session: AsyncSession, company_id: str, contact: DealContact, row_id: str
) -> DealInvoice:
    """One invoice of the contact (404 for another company's or another contact's)."""
    row = await InvoiceRepository(session, company_id).get(row_id)
    if (
        row is None
        or row.status != InvoiceStatus.created
        or row.provider != contact.provider
        or row.contact_id != contact.link.contact_id
    ):
        raise NotFound("This invoice is not one of the contact's invoices.", field="invoice_id")
    return row


async def link_invoice(
    ctx: InvoiceContext, session: AsyncSession, deal_id: int, row_id: str
) -> tuple[DealInvoice, bool]:
    """List the contact's invoice ``row_id`` in the deal; returns it and whether this call
    linked it (False: it already was, nothing changed)."""
    await require(ctx, session, LINK)
    row = await linkable(ctx, session, deal_id, row_id)
    repo = InvoiceRepository(session, ctx.company_id)
    if await repo.is_linked(row.id, deal_id):
        return row, False
    session.add(
        DealInvoiceLink(
            company_id=ctx.company_id,
            invoice_id=row.id,
            deal_id=deal_id,
            linked_by_user_id=ctx.user.id,
        )
    )
    await link_event(ctx, session, "invoice.linked", row, deal_id)
    await session.flush()
    return row, True


async def link_event(
    ctx: InvoiceContext, session: AsyncSession, action: str, row: DealInvoice, deal_id: int
) -> None:
    """Who linked or unlinked which invoice and deal, when: a changelog event (and, when the
    company keeps them, a note on the deal in Pipedrive)."""
    await record_event(
        session,
        ctx.company_id,
        action,
        actor=ctx.user,
        deal_id=deal_id,
        provider=row.provider,
        provider_invoice_id=row.provider_invoice_id,
        details={"invoice_id": row.id, "number": row.number},
    )


async def unlink_invoice(
    ctx: InvoiceContext, session: AsyncSession, deal_id: int, row_id: str
) -> DealInvoice:
    """Take the invoice out of the deal's list. The invoice row and its history stay, even
    when this was its last link (it is still the contact's, in "View all")."""
    await require(ctx, session, UNLINK)
    repo = InvoiceRepository(session, ctx.company_id)
    row = await repo.get(row_id)
    if row is None or not await repo.is_linked(row.id, deal_id):
        raise NotFound("This invoice is not linked to the deal.", field="invoice_id")
    link = await session.scalar(
        select(DealInvoiceLink).where(
            DealInvoiceLink.company_id == ctx.company_id,
            DealInvoiceLink.invoice_id == row.id,
            DealInvoiceLink.deal_id == deal_id,
        )
    )
    await session.delete(link)
    await link_event(ctx, session, "invoice.unlinked", row, deal_id)
    await session.flush()
    return row


async def linkable(
    ctx: InvoiceContext, session: AsyncSession, deal_id: int, row_id: str
) -> DealInvoice:
    """The invoice, when it is one of a contact the deal is linked to (404 otherwise)."""
    contacts = await deal_contacts(ctx, session, deal_id)
    row = await InvoiceRepository(session, ctx.company_id).get(row_id)
    for contact in contacts:
        if row is not None and row.provider == contact.provider:
            return await contact_invoice(session, ctx.company_id, contact, row_id)
    raise NotFound("This invoice is not one of the contact's invoices.", field="invoice_id")


async def unlink_deal_contact(
    ctx: InvoiceContext, session: AsyncSession, deal_id: int, provider: str | None
) -> DealContact:
    """Forget the link between the deal's organization (or person) and its provider contact:
    the next draft suggests contacts again. Invoices and their history stay."""
    await require(ctx, session, UNLINK)
    contact = await deal_contact(ctx, session, deal_id, provider)
    await ContactLinkRepository(session, ctx.company_id).delete(contact.link)
    return contact


async def refresh_contacts(ctx: InvoiceContext, session: AsyncSession, deal_id: int) -> None:
    """Re-read the deal's linked contacts' invoices at their providers (the panel's refresh)."""
    for contact in await deal_contacts(ctx, session, deal_id):
        await ensure_mirrored(ctx, session, contact.provider, contact.link.contact_id, refresh=True)
