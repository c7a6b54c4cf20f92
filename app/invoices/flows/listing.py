"""The deal's invoices as the API shows them, with the actions each offers now."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.connections.repository import ConnectionRepository
from app.invoices.context import InvoiceContext
from app.invoices.flows.actions import permitted
from app.invoices.flows.deal import read_deal
from app.invoices.flows.linking import check_provider
from app.invoices.models import DealInvoice, InvoiceStatus
from app.invoices.repository import CreditRepository, InvoiceRepository
from app.invoices.rules.credits import CREDITABLE
from app.invoices.rules.dates import today_in
from app.invoices.schemas import InvoiceOut
from app.providers.base import Invoice
from app.providers.money import from_minor
from app.providers.view import InvoiceView, invoice_view
from app.tenants.permissions import Permission, permissions_of


async def approvers(ctx: InvoiceContext, session: AsyncSession) -> dict[str, bool]:
    """Per provider, whether the company's live connection may approve invoices: the role of
    the person who connected it, as the provider's adapter judges it."""
    rows = await ConnectionRepository(session, ctx.company_id).all_live()
    return {row.provider: ctx.adapter(row.provider).can_approve(row.provider_role) for row in rows}


async def todays(ctx: InvoiceContext, session: AsyncSession) -> dict[str, date]:
    """Per provider, today in its organisation's timezone (whether an invoice is overdue)."""
    rows = await ConnectionRepository(session, ctx.company_id).all_live()
    return {row.provider: today_in(row.timezone) for row in rows}


def row_invoice(row: DealInvoice, credited_minor: int = 0) -> Invoice:
    """Our row as the provider's invoice DTO (what the unified view reads);
    ``credited_minor``: what our credit notes on it total."""
    currency = row.currency or "USD"
    credited = max(credited_minor, row.amount_credited_minor)
    return Invoice(
        id=row.provider_invoice_id or row.id,
        number=row.number,
        contact_id=row.contact_id,
        contact_name=row.contact_name,
        status=row.provider_status or "",
        currency=currency,
        issue_date=row.issue_date,
        due_date=row.due_date,
        subtotal=from_minor(row.subtotal_minor, currency),
        total_tax=from_minor(row.tax_minor, currency),
        total=from_minor(row.total_minor, currency),
        amount_due=from_minor(row.amount_due_minor, currency),
        amount_paid=from_minor(row.amount_paid_minor, currency),
        amount_credited=from_minor(credited, currency),
        # A credit applied counts like a payment: neither provider voids it then.
        has_payments=row.amount_paid_minor > 0 or credited > 0,
        url=row.url,
        updated_at=row.provider_updated_at,
    )


def row_view(
    row: DealInvoice, today: date, *, can_approve: bool, credited_minor: int = 0
) -> InvoiceView | None:
    """The unified view of a created row (None for intents not at the provider)."""
    if row.status != InvoiceStatus.created or not row.provider_invoice_id:
        return None
    if not row.provider_status:
        return None
    invoice = row_invoice(row, credited_minor)
    return invoice_view(row.provider, invoice, today=today, can_approve=can_approve)


def invoice_out(
    row: DealInvoice,
    today: date,
    *,
    can_approve: bool,
    permissions: frozenset[Permission] | None = None,
    credited_minor: int = 0,
) -> InvoiceOut:
    """Our row as the API shape; ``can_approve`` (the connection's role may approve) decides
    whether "approve" is among the actions offered, ``permissions`` (the user's role, all
    when None) which of the offered actions the user sees; ``credited_minor`` is what our
    credit notes on it total."""
    currency = row.currency or "USD"
    credited = max(credited_minor, row.amount_credited_minor)
    out = InvoiceOut(
        id=row.id,
        provider=row.provider,
        deal_id=row.deal_id,
        status=row.status,
        provider_invoice_id=row.provider_invoice_id,
        number=row.number,
        contact_id=row.contact_id,
        contact_name=row.contact_name,
        provider_status=row.provider_status,
        currency=currency,
        issue_date=row.issue_date,
        due_date=row.due_date,
        subtotal=from_minor(row.subtotal_minor, currency),
        tax=from_minor(row.tax_minor, currency),
        total=from_minor(row.total_minor, currency),
        amount_due=from_minor(row.amount_due_minor, currency),
        amount_paid=from_minor(row.amount_paid_minor, currency),
        amount_credited=from_minor(credited, currency),
        url=row.url,
        failure_reason=row.failure_reason,
        orphan_contact_id=row.orphan_contact_id,
        part_label=row.part_label,
    )
    view = row_view(row, today, can_approve=can_approve, credited_minor=credited_minor)
    if view is not None:
        if permissions is not None:
            view = permitted(view, permissions)
        out.status_label = view.status_label
        out.actions = [a.model_dump(mode="json") for a in view.actions]
        out.can_credit = (
            view.stage in CREDITABLE
            and credited < row.total_minor
            and (permissions is None or Permission.credit in permissions)
        )
    return out


async def credited_by_invoice(
    session: AsyncSession, company_id: str, rows: Sequence[DealInvoice]
) -> dict[str, int]:
    """Per invoice row, what our credit notes on it total (minor units)."""
    found: dict[str, int] = {}
    for credit in await CreditRepository(session, company_id).of_invoices([r.id for r in rows]):
        found[credit.deal_invoice_id] = found.get(credit.deal_invoice_id, 0) + credit.total_minor
    return found


async def one_invoice_out(
    ctx: InvoiceContext, session: AsyncSession, row: DealInvoice
) -> InvoiceOut:
    """One of our invoices as the API shows it (after an action or a credit)."""
    local = await todays(ctx, session)
    allowed = await approvers(ctx, session)
    credited = await credited_by_invoice(session, ctx.company_id, [row])
    return invoice_out(
        row,
        local.get(row.provider, datetime.now(UTC).date()),
        can_approve=allowed.get(row.provider, False),
        credited_minor=credited.get(row.id, 0),
    )


async def list_invoices(
    ctx: InvoiceContext, session: AsyncSession, deal_id: int, provider: str | None = None
) -> list[InvoiceOut]:
    """The deal's invoices, and the intents still open or failed in the background."""
    if provider:
        check_provider(provider)
    client, _ = await ctx.pipedrive(session)
    await read_deal(client, deal_id)
    rows = await InvoiceRepository(session, ctx.company_id).of_deal(deal_id, provider)
    utc_today = datetime.now(UTC).date()
    local = await todays(ctx, session)
    allowed = await approvers(ctx, session)
    mine = await permissions_of(session, ctx.user)
    credited = await credited_by_invoice(session, ctx.company_id, rows)
    return [
        invoice_out(
            r,
            local.get(r.provider, utc_today),
            can_approve=allowed.get(r.provider, False),
            permissions=mine,
            credited_minor=credited.get(r.id, 0),
        )
        for r in rows
        if shown(r)
    ]


def shown(row: DealInvoice) -> bool:
    """Created invoices, intents still open (being created or not confirmed yet), and failed
    ones the user has not been told about by a response: decided in the background, or
    leaving a contact behind."""
    if row.status in (InvoiceStatus.created, InvoiceStatus.pending, InvoiceStatus.unknown):
        return True
    return bool(row.orphan_contact_id) or row.tries > 0
