"""Recurring schedules held at the provider (issue 16 item 3): where the adapter can keep a
repeating invoice for the schedule's frequency (``features.repeating_invoices``: Xero weekly
and monthly), the provider makes each period's draft and our worker runs nothing for it.

- **Exactly once**: the repeating invoice is created under an Idempotency-Key derived from
  (company, provider, set key, start, cycles), so a retry after a lost answer (or a second
  click before the first was saved) gets the first one back instead of a second template;
  the row keeps its id (``provider_schedule_id``).
- **Never past the cycles**: its EndDate is the last cycle's date (the provider makes none
  after it).
- **Pause**: not offered. A Xero repeating invoice cannot be edited or paused through the
  API (only deleted); a pause would have to delete it and create another on resume, which
  breaks the one-template-per-schedule record. Stop deletes it; invoices already made stay.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import AppError, Conflict, NotFound, ValidationFailed
from app.invoices.context import InvoiceContext
from app.invoices.flows.draft import build_draft
from app.invoices.flows.review import prepare, reviewed, with_due_date
from app.invoices.models import BillingSchedule
from app.invoices.rules import schedule as rules
from app.invoices.rules.contacts import contact_data
from app.invoices.rules.lines import provider_draft
from app.invoices.schemas import InvoiceIn
from app.kit.signing import derived_key
from app.providers.base import ProviderNotFound, RepeatingInvoice, RepeatingInvoiceDraft

NO_PAUSE = (
    "{label} repeating invoices cannot be edited or paused; stop deletes it at {label} "
    "(the invoices it already made stay)."
)


async def held_frequencies(ctx: InvoiceContext, provider: str) -> frozenset[str]:
    """The frequencies ``provider`` holds as a repeating invoice of its own (cached metadata)."""
    meta = await ctx.meta_cache.get(ctx, provider)
    return meta.features.repeating_invoices


def repeating_key(company_id: str, row: BillingSchedule) -> str:
    """The Idempotency-Key of the schedule's repeating invoice: deal, product set, frequency
    (the set key), start and cycles."""
    return "repeating-" + derived_key(
        company_id, row.provider, row.set_key, row.start_date.isoformat(), str(row.cycles)
    )


async def template_body(
    ctx: InvoiceContext, session: AsyncSession, row: BillingSchedule
) -> InvoiceIn:
    """The deal's draft as it is now, the schedule's products only, dated on its start."""
    draft = await build_draft(ctx, session, row.deal_id, row.provider)
    wanted = set(row.product_ids)
    lines = [ln for ln in reviewed(draft).lines if ln.crm_product_id in wanted]
    if not lines:
        raise ValidationFailed("The deal no longer has these products.", field="product_ids")
    label = f"{row.frequency}" + (f", {row.cycles} times" if row.cycles else "")
    return reviewed(
        draft,
        issue_date=row.start_date,
        due_date=None,
        lines=lines,
        global_discount=None,
        reference=f"{draft.details.reference or ''} ({label})".strip()[:255],
        accept_tax_difference=True,
        deal_token=None,
    )


async def template_contact(ctx: InvoiceContext, row: BillingSchedule, body: InvoiceIn) -> str:
    """The customer's contact id at the provider: the linked one, else created once (key)."""
    customer = body.customer
    if customer.contact_id:
        return customer.contact_id
    adapter = ctx.adapter(row.provider)
    # Once per schedule: a retry after a lost answer gets the same contact back.
    key = "repeating-contact-" + derived_key(ctx.company_id, row.provider, row.set_key)
    data = contact_data(
        customer.name, customer.email, customer.address, customer.tax_id, body.currency
    )
    contact = await ctx.call(
        row.provider,
        lambda c: adapter.create_contact(c, data, idempotency_key=key),
    )
    return str(contact.id)


async def hold_at_provider(
    ctx: InvoiceContext, session: AsyncSession, row: BillingSchedule
) -> None:
    """Create the schedule's repeating invoice at the provider (once per key) and keep its
    id on the row; 422 naming the field for what the provider refuses."""
    body = await template_body(ctx, session, row)
    meta, _, _ = await prepare(ctx, session, body)
    due = (await with_due_date(ctx, session, body)).due_date
    key = repeating_key(ctx.company_id, row)
    contact_id = await template_contact(ctx, row, body)
    invoice = provider_draft(
        meta,
        contact_id=contact_id,
        issue_date=row.start_date,
        due_date=None,
        currency=body.currency,
        tax_mode=body.tax_mode,
        tax_code=body.tax_code,
        template_id=body.template_id,
        reference=body.reference,
        url=None,
        lines=body.lines,
        discount=body.global_discount,
        bill_email=None,
    )
    last = (
        rules.period_date(row.start_date, row.unit, row.interval, row.cycles - 1)
        if row.cycles
        else None
    )
    draft = RepeatingInvoiceDraft(
        invoice=invoice,
        unit="week" if row.unit == "week" else "month",
        every=row.interval,
        start=row.start_date,
        end=last,
        due_days=max(0, (due - row.start_date).days) if due else 0,
    )
    adapter = ctx.adapter(row.provider)
    made: RepeatingInvoice = await ctx.call(
        row.provider, lambda c: adapter.create_repeating_invoice(c, draft, idempotency_key=key)
    )
    row.provider_schedule_id = made.id


async def release_at_provider(ctx: InvoiceContext, row: BillingSchedule) -> None:
    """Delete the schedule's repeating invoice; one already deleted there counts as done."""
    assert row.provider_schedule_id is not None
    ident = row.provider_schedule_id
    adapter = ctx.adapter(row.provider)
    try:
        await ctx.call(row.provider, lambda c: adapter.delete_repeating_invoice(c, ident))
    except AppError:
        try:
            found: RepeatingInvoice = await ctx.call(
                row.provider, lambda c: adapter.get_repeating_invoice(c, ident)
            )
        except (NotFound, ProviderNotFound):
            return
        if found.status != "DELETED":
            raise


def refuse_pause(label: str) -> Conflict:
    return Conflict(NO_PAUSE.format(label=label), field="schedule_id", code="illegal_action")


def held_progress(row: BillingSchedule, today: date) -> tuple[int, date | None]:
    """(periods made, next date) of a provider-held schedule as its dates say by ``today``."""
    done = len(rules.due_periods(row.start_date, row.unit, row.interval, row.cycles, 0, today))
    return done, rules.next_date(row.start_date, row.unit, row.interval, row.cycles, done)
