"""Recurring billing: a deal's products with a billing frequency become schedules. Where the
provider can hold the schedule (``features.repeating_invoices``: Xero weekly and monthly),
it lives there as a repeating invoice of drafts (``flows.repeating``); otherwise (Xero
quarterly and longer, QuickBooks, whose RecurringTransaction needs Essentials or Plus and
posts invoices at once) the worker creates each period's invoice (a draft where the provider
has drafts) exactly once; see docs/recurring.md. Each period's invoice goes through the one
exactly-once creation (``create_invoice``) under the key (deal, product set, frequency,
period), so a job that dies after the provider created an invoice, a worker restart, or two
workers at once, never make a period twice; a schedule never makes more periods than its cycles.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.invoices.billing_schemas import ScheduleAction, ScheduleOut
from app.invoices.context import InvoiceContext
from app.invoices.flows.creation import create_invoice
from app.invoices.flows.deal import read_deal
from app.invoices.flows.draft import build_draft
from app.invoices.flows.linking import check_provider
from app.invoices.flows.repeating import (
    held_frequencies,
    held_progress,
    hold_at_provider,
    refuse_pause,
    release_at_provider,
)
from app.invoices.flows.review import reviewed
from app.invoices.models import BillingSchedule, ScheduleStatus
from app.invoices.rules import schedule as rules
from app.invoices.rules.dates import company_today
from app.invoices.schemas import InvoiceIn
from app.kit.signing import derived_key
from app.tenants.repository import CompanyScopedRepository


class ScheduleRepository(CompanyScopedRepository[BillingSchedule]):
    model = BillingSchedule
    not_found_message = "schedule not found"

    async def of_deal(self, deal_id: int) -> Sequence[BillingSchedule]:
        result = await self.session.execute(
            self.select()
            .where(BillingSchedule.deal_id == deal_id)
            .order_by(BillingSchedule.created_at)
        )
        return result.scalars().all()


def schedule_out(row: BillingSchedule, today: date | None = None) -> ScheduleOut:
    """The schedule as the API shows it; a provider-held one's progress as its dates say by
    ``today`` (the provider makes its periods; we are not told of each)."""
    note = None
    if row.start_from_close:
        note = (
            f"No billing start date on these products: billing starts on the deal's expected "
            f"close date, {row.start_date.isoformat()}."
        )
    done, upcoming, status = row.periods_done, row.next_date, row.status
    if row.provider_schedule_id and today is not None and status == ScheduleStatus.active:
        done, upcoming = held_progress(row, today)
        status = ScheduleStatus.active if upcoming else ScheduleStatus.finished
    return ScheduleOut(
        id=row.id,
        deal_id=row.deal_id,
        provider=row.provider,
        product_ids=list(row.product_ids),
        frequency=row.frequency,
        cycles=row.cycles,
        start_date=row.start_date,
        start_from_close=row.start_from_close,
        periods_done=done,
        next_date=upcoming,
        status=status,
        last_error=row.last_error,
        note=note,
        provider_schedule_id=row.provider_schedule_id,
        held_at_provider=row.provider_schedule_id is not None,
    )


async def deal_plans(
    ctx: InvoiceContext, session: AsyncSession, deal_id: int
) -> list[rules.SchedulePlan]:
    """The deal's schedules as its recurring products say (422 naming what is missing)."""
    client, _ = await ctx.pipedrive(session)
    deal = await read_deal(client, deal_id)
    products = await client.deal_products(deal_id)
    close = date.fromisoformat(deal.expected_close_date) if deal.expected_close_date else None
    try:
        found = rules.plans(products, close)
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="billing_start_date") from exc
    if not found:
        raise ValidationFailed(
            "This deal has no recurring products (a billing frequency other than one-time).",
            field="deal_id",
        )
    return found


async def start_schedules(
    ctx: InvoiceContext, session: AsyncSession, deal_id: int, provider: str
) -> list[ScheduleOut]:
    """Create the deal's schedules in ``provider`` (each once: a repeat finds it again); a
    frequency the provider holds becomes its repeating invoice (``flows.repeating``)."""
    provider = check_provider(provider)
    # The deal first: another company's deal is a 404 whether or not this one is connected.
    found = await deal_plans(ctx, session, deal_id)
    await ctx.meta_cache.connected(ctx, provider)
    held = await held_frequencies(ctx, provider)
    repo = ScheduleRepository(session, ctx.company_id)
    existing = {row.set_key: row for row in await repo.of_deal(deal_id) if row.provider == provider}
    out = []
    for plan in found:
        key = plan.key(deal_id)
        row = existing.get(key)
        if row is None:
            row = BillingSchedule(
                company_id=ctx.company_id,
                deal_id=deal_id,
                provider=provider,
                set_key=key,
                product_ids=list(plan.product_ids),
                frequency=plan.frequency,
                unit=plan.unit,
                interval=plan.interval,
                cycles=plan.cycles,
                start_date=plan.start,
                start_from_close=plan.start_from_close,
                periods_done=0,
                next_date=plan.start,
                status=ScheduleStatus.active,
                created_by_user_id=ctx.user.id,
            )
            if plan.frequency in held:
                # Before the row is written: no write transaction waits on the provider.
                await hold_at_provider(ctx, session, row)
            session.add(row)
        out.append(row)
    await session.flush()
    today = await company_day(ctx, provider)
    return [schedule_out(r, today) for r in out]


async def company_day(ctx: InvoiceContext, provider: str) -> date:
    """Today in the company's timezone (cached metadata)."""
    return company_today(await ctx.meta_cache.get(ctx, provider))


async def list_schedules(
    ctx: InvoiceContext, session: AsyncSession, deal_id: int, *, read: bool = True
) -> list[ScheduleOut]:
    """The deal's schedules; ``read`` checks the deal first (404 for another company's), which
    the panel skips since its invoice list has just read it."""
    if read:
        client, _ = await ctx.pipedrive(session)
        await read_deal(client, deal_id)
    rows = await ScheduleRepository(session, ctx.company_id).of_deal(deal_id)
    days = {
        p: await company_day(ctx, p) for p in {r.provider for r in rows if r.provider_schedule_id}
    }
    return [schedule_out(r, days.get(r.provider)) for r in rows]


async def change_schedule(
    ctx: InvoiceContext,
    session: AsyncSession,
    deal_id: int,
    schedule_id: str,
    action: ScheduleAction,
) -> ScheduleOut:
    """Pause, resume or stop a schedule: admins only (403 otherwise)."""
    row = await ScheduleRepository(session, ctx.company_id).get(schedule_id)
    if row is None or row.deal_id != deal_id:
        raise NotFound("This schedule is not one of the deal's.", field="schedule_id")
    if not ctx.user.is_admin:
        raise Forbidden("Only an admin of the company can pause or stop a schedule.")
    if row.status in (ScheduleStatus.stopped, ScheduleStatus.finished):
        raise Conflict(
            f"This schedule is {row.status}.", field="schedule_id", code="illegal_action"
        )
    if row.provider_schedule_id:
        if action != "stop":
            raise refuse_pause(ctx.adapter(row.provider).display_name)
        await release_at_provider(ctx, row)
    row.status = {
        "pause": ScheduleStatus.paused,
        "resume": ScheduleStatus.active,
        "stop": ScheduleStatus.stopped,
    }[action]
    await session.flush()
    return schedule_out(row, await company_day(ctx, row.provider))


async def period_body(
    ctx: InvoiceContext, session: AsyncSession, row: BillingSchedule, n: int
) -> InvoiceIn:
    """Period ``n``'s invoice: the deal's draft as it is now, its schedule's products only,
    dated on the period (due by the company's terms)."""
    draft = await build_draft(ctx, session, row.deal_id, row.provider)
    wanted = set(row.product_ids)
    lines = [ln for ln in reviewed(draft).lines if ln.crm_product_id in wanted]
    if not lines:
        raise ValidationFailed(
            "The deal no longer has this schedule's products; stop the schedule or add them back.",
            field="product_ids",
        )
    label = f"{row.frequency} period {n + 1}" + (f" of {row.cycles}" if row.cycles else "")
    return reviewed(
        draft,
        issue_date=rules.period_date(row.start_date, row.unit, row.interval, n),
        due_date=None,
        lines=lines,
        global_discount=None,
        reference=f"{draft.details.reference or ''} ({label})".strip()[:255],
        # Started from the dialog, which showed the totals with the provider's tax.
        accept_tax_difference=True,
        # The body must be the same on every run of the period (its key's request hash); the
        # deal token is signed afresh each time, so the create reads the deal instead.
        deal_token=None,
    )


def period_key(company_id: str, row: BillingSchedule, n: int) -> str:
    """The Idempotency-Key of period ``n``'s invoice: deal, product set, frequency, period."""
    return "recurring-" + derived_key(company_id, row.provider, row.set_key, str(n))


async def run_schedule(
    ctx: InvoiceContext, session: AsyncSession, row: BillingSchedule, today: date
) -> int:
    """Create the invoices of every period due by ``today`` (none past the cycles), each once;
    returns how many periods were done. The caller's session keeps the schedule's progress;
    should it be lost (a crash before its commit), the next run asks again for the same
    periods under the same keys and gets the invoices already made."""
    if row.status != ScheduleStatus.active or row.provider_schedule_id:
        # A provider-held schedule's periods are the provider's to make.
        return 0
    due = rules.due_periods(
        row.start_date, row.unit, row.interval, row.cycles, row.periods_done, today
    )
    for n in due:
        # A session of its own per period (committed with its invoice): the schedule's row,
        # in the caller's session, is written once at the end, so no write of ours waits on
        # another (SQLite has one writer).
        async with ctx.sessionmaker() as own:
            body = await period_body(ctx, own, row, n)
            await create_invoice(ctx, own, row.deal_id, body, period_key(ctx.company_id, row, n))
            await own.commit()
        row.periods_done = n + 1
        row.last_error = None
    row.next_date = rules.next_date(
        row.start_date, row.unit, row.interval, row.cycles, row.periods_done
    )
    if row.next_date is None:
        row.status = ScheduleStatus.finished
    await session.flush()
    return len(due)


async def due_schedules(session: AsyncSession, today: date) -> list[tuple[str, str]]:
    """(schedule id, company id) of every active schedule whose next period's date has come."""
    rows = await session.execute(
        select(BillingSchedule.id, BillingSchedule.company_id).where(
            BillingSchedule.status == ScheduleStatus.active,
            BillingSchedule.provider_schedule_id.is_(None),
            BillingSchedule.next_date.is_not(None),
            BillingSchedule.next_date <= today,
        )
    )
    return [(r[0], r[1]) for r in rows.all()]
