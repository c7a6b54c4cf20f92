"""Background work of the invoices domain: catch-up sync per connection, and the processing of
provider webhook events (registered with the inbox in ``app/wiring.py``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from app.connections.dependencies import tokens_of
from app.connections.exceptions import NeedsReauth, NotConnected
from app.connections.models import ConnectionStatus, ProviderConnection
from app.connections.repository import ConnectionRepository
from app.db import utcnow
from app.errors import AppError
from app.invoices.context import acting_as, background_context
from app.invoices.flows.changelog import POST_NOTE
from app.invoices.flows.notes import post_note
from app.invoices.flows.reconcile import due_intents, resolve_intent
from app.invoices.flows.recurring import ScheduleRepository, due_schedules, run_schedule
from app.invoices.flows.sync import catch_up, sync_invoices
from app.invoices.models import BillingSchedule
from app.invoices.rules.dates import company_today
from app.logs import log
from app.providers.errors import ProviderError, ProviderRateLimited
from app.worker.outbox import enqueue
from app.worker.registry import Defer, JobContext, job

CATCH_UP = "invoices.catch_up"
CATCH_UP_DUE = "invoices.catch_up_due"
RESOLVE_DUE = "invoices.resolve_due"
RESOLVE = "invoices.resolve_intent"
# A Retry-After longer than this parks the job until then instead of failing it.
LONG_WAIT = 30.0


async def _record_error(ctx: JobContext, connection_id: str, message: str) -> None:
    """Sync health survives the job's rollback: written in a session of its own."""
    async with ctx.state.sessionmaker() as session:
        await session.execute(
            update(ProviderConnection)
            .where(ProviderConnection.id == connection_id)
            .values(last_sync_error=message[:500], last_sync_error_at=utcnow())
        )
        await session.commit()


@job(CATCH_UP)
async def catch_up_connection(ctx: JobContext, connection_id: str) -> None:
    """Catch up one connection; a connection that needs reconnecting stops syncing (its
    reconnect banner shows) instead of being retried."""
    if ctx.company_id is None:
        return
    connection = await ConnectionRepository(ctx.session, ctx.company_id).get(connection_id)
    if connection is None or connection.status != ConnectionStatus.active.value:
        return  # disconnected (or the company left) since the job was recorded
    try:
        report = await catch_up(tokens_of(ctx.state), ctx.session, connection)
    except (NeedsReauth, NotConnected) as exc:
        connection.last_sync_error = f"stopped: {exc.message}"[:500]
        connection.last_sync_error_at = utcnow()
        return
    except ProviderRateLimited as exc:
        await _record_error(ctx, connection_id, f"rate limited: {exc}")
        if exc.retry_after and exc.retry_after > LONG_WAIT:
            raise Defer(exc.retry_after, "the provider asked us to wait") from exc
        raise
    except ProviderError as exc:
        await _record_error(ctx, connection_id, f"{type(exc).__name__}: {exc}")
        raise
    log.info(
        "catch_up_done",
        provider=report.provider,
        read=report.read,
        updated=report.updated,
        deleted=report.deleted,
    )


@job(CATCH_UP_DUE)
async def catch_up_due(ctx: JobContext) -> None:
    """Record a catch-up for every active connection whose last sync is older than the
    configured period; keyed per connection and period, so each runs once per period."""
    minutes = ctx.state.settings.catch_up_minutes
    if minutes <= 0:
        return
    period = timedelta(minutes=minutes)
    now = utcnow()
    slot = int(now.timestamp() // period.total_seconds())
    rows = await ctx.session.execute(
        select(
            ProviderConnection.id, ProviderConnection.company_id, ProviderConnection.last_sync_at
        ).where(ProviderConnection.status == ConnectionStatus.active.value)
    )
    for connection_id, company_id, last in rows.all():
        if last is not None and now - last < period:
            continue
        await enqueue(
            ctx.session,
            CATCH_UP,
            company_id=company_id,
            key=f"catch-up:{connection_id}:{slot}",
            connection_id=connection_id,
        )


async def process_provider_events(
    ctx: JobContext, company_id: str, provider: str, resources: dict[str, list[str]]
) -> dict[str, str]:
    """The inbox's processor for Xero and QuickBooks events (ids only, as they come).

    Invoice events re-read those invoices in one batched call. QuickBooks payment events
    carry the payment's id, not the invoice's: one catch-up (a single CDC call) brings every
    invoice whose balance changed.
    """
    tokens = tokens_of(ctx.state)
    invoice_ids = [i for key, ids in resources.items() if key.lower() == "invoice" for i in ids]
    payment_ids = [i for key, ids in resources.items() if key.lower() == "payment" for i in ids]
    outcomes: dict[str, str] = {}
    try:
        if invoice_ids:
            report = await sync_invoices(tokens, ctx.session, company_id, provider, invoice_ids)
            outcomes.update(report.outcomes)
        if payment_ids:
            connection = await ConnectionRepository(ctx.session, company_id).live(provider)
            if connection is None or connection.status != ConnectionStatus.active.value:
                raise NotConnected(ctx.state.settings, provider)
            report = await catch_up(tokens, ctx.session, connection)
            for payment_id in payment_ids:
                outcomes[payment_id] = f"processed: catch-up updated {report.updated} invoice(s)"
    except (NeedsReauth, NotConnected) as exc:
        return {i: f"ignored: {exc.message}" for i in invoice_ids + payment_ids}
    return outcomes


@job(RESOLVE_DUE)
async def resolve_due(ctx: JobContext) -> None:
    """Record a resolve job for every intent left pending past its lease or unknown past its
    backoff; keyed per intent, try and lease, so each is worked on once per due time."""
    if not ctx.state.settings.intent_reconciler:
        return
    for row_id, company_id, due in await due_intents(ctx.session):
        await enqueue(
            ctx.session,
            RESOLVE,
            company_id=company_id,
            key=f"resolve:{row_id}:{due}",
            row_id=row_id,
        )


@job(RESOLVE)
async def resolve(ctx: JobContext, row_id: str) -> None:
    """Resolve one intent (``flows.reconcile``); its outcomes are the intent's own states, so
    the job itself succeeds (the next due time brings another try)."""
    if ctx.company_id is None:
        return
    invoice_ctx = await background_context(ctx.state, ctx.company_id, row_id)
    if invoice_ctx is None:
        return
    outcome = await resolve_intent(invoice_ctx, row_id)
    log.info("invoice_intent_resolved", row=row_id, outcome=outcome)


@job(POST_NOTE)
async def post_changelog_note(ctx: JobContext, event_id: str) -> None:
    """Write one changelog event to its deal in Pipedrive as a note (once: see flows.notes)."""
    if ctx.company_id is None:
        return
    outcome = await post_note(
        ctx.state, ctx.session, ctx.company_id, event_id, first_run=ctx.first_run
    )
    log.info("changelog_note", event_id=event_id, outcome=outcome)


RECURRING_DUE = "invoices.recurring_due"
RECURRING_RUN = "invoices.recurring_run"


async def now_of(state: Any) -> datetime:
    """The time schedules are judged by: ``state.clock`` when set (an async callable; the
    tests point it at the sandbox's clock, which they move forward), else the real time."""
    clock = getattr(state, "clock", None)
    if clock is None:
        return utcnow()
    found: datetime = await clock()
    return found


@job(RECURRING_DUE)
async def recurring_due(ctx: JobContext) -> None:
    """Record a run for every active schedule whose next period has come; keyed per schedule
    and period, so each period's run is recorded once."""
    if not ctx.state.settings.recurring_billing:
        return
    today = (await now_of(ctx.state)).date()
    # Once a minute at most per schedule and progress: a refused run is tried again later.
    slot = int(utcnow().timestamp() // 60)
    for schedule_id, company_id in await due_schedules(ctx.session, today):
        row = await ctx.session.get(BillingSchedule, schedule_id)
        assert row is not None
        await enqueue(
            ctx.session,
            RECURRING_RUN,
            company_id=company_id,
            key=f"recurring:{schedule_id}:{row.periods_done}:{today.isoformat()}:{slot}",
            schedule_id=schedule_id,
        )


@job(RECURRING_RUN)
async def recurring_run(ctx: JobContext, schedule_id: str) -> None:
    """Create the schedule's due periods (``flows.recurring.run_schedule``), acting as the
    user who started it."""
    if ctx.company_id is None:
        return
    row = await ScheduleRepository(ctx.session, ctx.company_id).get(schedule_id)
    if row is None:
        return
    invoice_ctx = await acting_as(ctx.state, ctx.company_id, row.created_by_user_id)
    meta = await invoice_ctx.meta_cache.get(invoice_ctx, row.provider)
    today = company_today(meta, await now_of(ctx.state))
    try:
        made = await run_schedule(invoice_ctx, ctx.session, row, today)
    except AppError as exc:
        # Said on the deal (the schedule's last error); the next due check tries again.
        row.last_error = exc.message[:2000]
        log.warning("recurring_run_refused", schedule=schedule_id, error=exc.message)
        return
    log.info("recurring_run_done", schedule=schedule_id, periods=made)
