"""Overdue follow-up: a Pipedrive activity for the deal's owner when an invoice is overdue
("Acme Ltd: INV-0005 NZ$6,957.50 is 3 days overdue", with the customer's online link), once
per invoice and reminder step, marked done when the invoice is paid (or voided, deleted).

Whether an invoice is overdue is the provider's rule on our synced row (``providers.view``,
today in the organisation's timezone), so this follows whatever sync brought in. Once per
step holds by ``overdue_followup``'s unique (company, invoice, step): the row is committed
before Pipedrive is called, and a twin run loses the insert.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.automation.conditions import days_overdue, due_step, overdue_subject
from app.automation.context import rule_context
from app.automation.models import OverdueFollowup
from app.automation.repository import AutomationRepository
from app.connections.repository import ConnectionRepository
from app.crm.pipedrive.client import PipedriveClient
from app.crm.pipedrive.schemas import ActivityIn
from app.errors import AppError
from app.invoices.models import DealInvoice, InvoiceStatus
from app.logs import log
from app.providers.base import Invoice
from app.providers.money import from_minor
from app.providers.view import InvoiceStage, InvoiceView, invoice_view
from app.tenants.clock import today_in
from app.tenants.models import CrmUser

SETTLED = (InvoiceStage.paid, InvoiceStage.voided, InvoiceStage.deleted)


def row_view(row: DealInvoice, today: date) -> InvoiceView:
    currency = row.currency or "USD"
    return invoice_view(
        row.provider,
        Invoice(
            id=row.provider_invoice_id or row.id,
            number=row.number,
            status=row.provider_status or "DRAFT",
            currency=currency,
            due_date=row.due_date,
            total=from_minor(row.total_minor, currency),
            amount_due=from_minor(row.amount_due_minor, currency),
            amount_paid=from_minor(row.amount_paid_minor, currency),
            has_payments=row.amount_paid_minor > 0,
        ),
        today=today,
    )


async def _invoices(state: Any, company_id: str) -> tuple[list[DealInvoice], dict[str, date]]:
    async with state.sessionmaker() as session:
        rows = await session.scalars(
            select(DealInvoice).where(
                DealInvoice.company_id == company_id,
                DealInvoice.status == InvoiceStatus.created,
                DealInvoice.deal_id.is_not(None),
                DealInvoice.provider_invoice_id.is_not(None),
            )
        )
        connections = await ConnectionRepository(session, company_id).all_live()
    return list(rows), {c.provider: today_in(c.timezone) for c in connections}


async def follow_up(state: Any, company_id: str, client: PipedriveClient) -> list[str]:
    """Create the due follow-ups of the company and close those whose invoice is settled."""
    async with state.sessionmaker() as session:
        repo = AutomationRepository(session, company_id)
        settings = await repo.settings()
        steps = list(settings.overdue_steps or [])
        enabled = settings.overdue_followup
        sent = await repo.followups()
        await session.commit()
    rows, todays = await _invoices(state, company_id)
    done: list[str] = []
    for row in rows:
        today = todays.get(row.provider)
        if today is None:
            continue
        view = row_view(row, today)
        mine = [f for f in sent if f.invoice_row_id == row.id]
        if view.stage in SETTLED:
            done += await _close(state, client, [f for f in mine if not f.done])
            continue
        step = due_step(steps, days_overdue(row.due_date, today)) if view.overdue else None
        if enabled and step is not None and all(f.step != step for f in mine):
            done.append(await _create(state, company_id, client, row, step, today))
    return done


async def _close(
    state: Any, client: PipedriveClient, open_ones: list[OverdueFollowup]
) -> list[str]:
    out = []
    for followup in open_ones:
        if followup.activity_id is not None:
            await client.update_activity(followup.activity_id, done=True)
        async with state.sessionmaker() as session:
            row = await session.get(OverdueFollowup, followup.id)
            if row is not None:
                row.done = True
                await session.commit()
        out.append(f"done: {followup.subject}")
    return out


async def _share_link(state: Any, company_id: str, row: DealInvoice) -> str | None:
    """The customer's online link (Xero's online invoice, QuickBooks' InvoiceLink) through
    the adapter's ``share_url`` capability; None when the provider has none yet."""
    ctx = rule_context(state, CrmUser(id="", company_id=company_id, name="", is_admin=True))
    adapter = ctx.adapter(row.provider)
    invoice_id = row.provider_invoice_id or ""
    try:
        link: str | None = await ctx.call(row.provider, lambda c: adapter.share_url(c, invoice_id))
    except AppError as exc:
        log.info("overdue_link_unavailable", invoice=row.id, error=exc.message)
        return None
    return link


async def _create(
    state: Any, company_id: str, client: PipedriveClient, row: DealInvoice, step: int, today: date
) -> str:
    days = days_overdue(row.due_date, today)
    amount = from_minor(row.amount_due_minor, row.currency or "USD")
    subject = overdue_subject(
        row.contact_name or "Customer", row.number or "Invoice", amount, row.currency, days
    )
    claim = OverdueFollowup(
        company_id=company_id,
        invoice_row_id=row.id,
        deal_id=row.deal_id,
        step=step,
        subject=subject,
    )
    async with state.sessionmaker() as session:
        session.add(claim)
        try:
            await session.commit()
        except IntegrityError:
            return f"step {step} of {row.number} sent already"
    link = await _share_link(state, company_id, row)
    note = f"<p>{subject}.</p>" + (f'<p><a href="{link}">{link}</a></p>' if link else "")
    try:
        deal = await client.deal(int(row.deal_id or 0))
        activity = await client.create_activity(
            ActivityIn(
                subject=subject,
                type="task",
                owner_id=deal.owner_id,
                deal_id=deal.id,
                due_date=today,
                note=note,
            )
        )
    except BaseException:
        async with state.sessionmaker() as session:
            gone = await session.get(OverdueFollowup, claim.id)
            if gone is not None:
                await session.delete(gone)
                await session.commit()
        raise
    async with state.sessionmaker() as session:
        saved = await session.get(OverdueFollowup, claim.id)
        if saved is not None:
            saved.activity_id = activity.id
            await session.commit()
    return f"step {step}: {subject}"
