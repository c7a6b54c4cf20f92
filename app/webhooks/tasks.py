"""Processing stored events in jobs, batched per company and source.

What an event means belongs to the domain: processors are registered by category at app
creation (``register_processor``), so the inbox imports no domain code. The first job of a
burst takes up to ``BATCH`` waiting events of its company and source at once (Xero reads 100
invoices per call); the jobs of events it took find them processed and do nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import select, update

from app.db import utcnow
from app.webhooks.models import EventStatus, WebhookEvent
from app.webhooks.service import BATCH_SIZE, PROCESS_JOB, forget_old
from app.worker.registry import JobContext, job
from app.worker.schedule import every

BATCH = BATCH_SIZE

# (ctx, company_id, source, {category: [resource ids]}) → {resource id: outcome}. An outcome
# starting with "ignored" marks the event ignored; anything else, processed.
Processor = Callable[[JobContext, str, str, dict[str, list[str]]], Awaitable[dict[str, str]]]

_processors: dict[tuple[str, str], Processor] = {}


def register_processor(source: str, categories: list[str], processor: Processor) -> None:
    for category in categories:
        _processors[(source, category.lower())] = processor


def processor_for(source: str, category: str) -> Processor | None:
    return _processors.get((source, category.lower()))


async def _batch(ctx: JobContext, first: WebhookEvent) -> list[WebhookEvent]:
    """Up to ``BATCH`` waiting events of the company and source, locked for this job: on
    PostgreSQL ``SKIP LOCKED`` gives concurrent jobs disjoint batches (SQLite has one writer
    at a time anyway). ``first`` may be in another job's batch already; then that job has it."""
    rows = await ctx.session.scalars(
        select(WebhookEvent)
        .where(
            WebhookEvent.company_id == first.company_id,
            WebhookEvent.source == first.source,
            WebhookEvent.status == EventStatus.received.value,
        )
        .order_by(WebhookEvent.received_at)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    )
    return list(rows)


async def _mark(ctx: JobContext, events: list[WebhookEvent], outcomes: dict[str, str]) -> None:
    """Record each event's outcome: one statement per distinct outcome, not per event."""
    now = utcnow()
    groups: dict[str, list[str]] = {}
    for event in events:
        groups.setdefault(outcomes.get(event.resource_id, "processed")[:500], []).append(event.id)
    for outcome, ids in groups.items():
        status = EventStatus.ignored if outcome.startswith("ignored") else EventStatus.processed
        await ctx.session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.id.in_(ids))
            .values(status=status.value, outcome=outcome, processed_at=now)
        )


@job(PROCESS_JOB)
async def process_event(ctx: JobContext, event_id: str) -> None:
    event = await ctx.session.get(WebhookEvent, event_id)
    if event is None or event.status != EventStatus.received.value:
        return  # processed by an earlier job of its batch, or forgotten
    batch = await _batch(ctx, event)
    groups: dict[Processor, list[WebhookEvent]] = {}
    unused: list[WebhookEvent] = []
    for row in batch:
        found = processor_for(row.source, row.category)
        if found is None:
            unused.append(row)
        else:
            groups.setdefault(found, []).append(row)
    for row in unused:
        await _mark(ctx, [row], {row.resource_id: f"ignored: no use for {row.category}"})
    for handler, events in groups.items():
        resources: dict[str, list[str]] = {}
        for row in events:
            ids = resources.setdefault(row.category, [])
            if row.resource_id not in ids:
                ids.append(row.resource_id)
        outcomes = await handler(ctx, event.company_id, event.source, resources)
        await _mark(ctx, events, outcomes)


@job("webhooks.forget_old")
async def forget_old_events(ctx: JobContext) -> None:
    await forget_old(ctx.session, ctx.state.settings)


every("webhooks.forget_old", 6 * 3600)
