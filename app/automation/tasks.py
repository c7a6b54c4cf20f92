"""Background work of invoice automation (registered in ``app/wiring.py``):

- the inbox's processor for Pipedrive ``deal`` events records one ``automation.evaluate_deal``
  job per deal (ids only; the deal is read fresh there);
- ``automation.catch_up_due`` (periodic) records an ``automation.catch_up`` per company with
  rules: deals updated since its last read are evaluated too, so a missed webhook still fires
  the rule, later;
- ``automation.overdue_due`` (periodic) records an ``automation.overdue`` per company with
  follow-up on or follow-ups still open.
"""

from __future__ import annotations

from sqlalchemy import or_, select

from app.automation.followup import follow_up
from app.automation.models import AutomationSettings, InvoiceRule, OverdueFollowup
from app.automation.repository import AutomationRepository
from app.automation.rules import disable_missing_stages
from app.automation.service import company_client, evaluate_deal, recently_updated
from app.db import utcnow
from app.errors import Conflict
from app.logs import log
from app.worker.outbox import enqueue
from app.worker.registry import JobContext, job

EVALUATE = "automation.evaluate_deal"
CATCH_UP = "automation.catch_up"
CATCH_UP_DUE = "automation.catch_up_due"
OVERDUE = "automation.overdue"
OVERDUE_DUE = "automation.overdue_due"


async def _has_rules(ctx: JobContext, company_id: str) -> bool:
    found = await ctx.session.scalar(
        select(InvoiceRule.id)
        .where(InvoiceRule.company_id == company_id, InvoiceRule.enabled.is_(True))
        .limit(1)
    )
    return found is not None


async def process_deal_events(
    ctx: JobContext, company_id: str, source: str, resources: dict[str, list[str]]
) -> dict[str, str]:
    """The inbox's processor for Pipedrive deal events: one evaluation job per deal."""
    deal_ids = [i for key, ids in resources.items() if key.lower() == "deal" for i in ids]
    if not await _has_rules(ctx, company_id):
        return {i: "ignored: no invoice rules" for i in deal_ids}
    for deal_id in deal_ids:
        if deal_id.isdigit():
            await enqueue(
                ctx.session, EVALUATE, company_id=company_id, deal_id=int(deal_id), source="webhook"
            )
    return {i: "processed: invoice rules queued" for i in deal_ids}


@job(EVALUATE)
async def evaluate(ctx: JobContext, deal_id: int, source: str = "webhook") -> None:
    """Fire the company's rules for one deal (idempotent: see ``firing``)."""
    if ctx.company_id is None:
        return
    outcome = await evaluate_deal(ctx.state, ctx.company_id, int(deal_id), source)
    log.info("invoice_rules_evaluated", deal=deal_id, outcome=outcome[:300])


@job(CATCH_UP_DUE)
async def catch_up_due(ctx: JobContext) -> None:
    """One catch-up per company with enabled rules and period (keyed, so once)."""
    period = max(ctx.state.settings.automation_catch_up_seconds, 1.0)
    slot = int(utcnow().timestamp() // period)
    companies = await ctx.session.scalars(
        select(InvoiceRule.company_id).where(InvoiceRule.enabled.is_(True)).distinct()
    )
    for company_id in companies.all():
        await enqueue(
            ctx.session, CATCH_UP, company_id=company_id, key=f"rules-catch-up:{company_id}:{slot}"
        )


@job(CATCH_UP)
async def catch_up(ctx: JobContext) -> None:
    """Evaluate every deal updated since the last read (webhooks may have been missed), and
    turn off stage rules whose stage is gone. Writes of its own sessions come first and are
    committed; the job's session only records the evaluations and the new read mark, so they
    land together (SQLite allows one writer at a time)."""
    if ctx.company_id is None:
        return
    try:
        client = await company_client(ctx.state, ctx.company_id, None)
        async with ctx.state.sessionmaker() as session:
            await disable_missing_stages(session, ctx.company_id, client)
            await session.commit()
        deal_ids, started = await recently_updated(ctx.state, ctx.company_id)
    except Conflict:
        return  # nobody has the app installed any more
    for deal_id in deal_ids:
        await enqueue(
            ctx.session, EVALUATE, company_id=ctx.company_id, deal_id=deal_id, source="catch-up"
        )
    settings = await AutomationRepository(ctx.session, ctx.company_id).settings()
    settings.deals_read_until = started


@job(OVERDUE_DUE)
async def overdue_due(ctx: JobContext) -> None:
    period = max(ctx.state.settings.automation_overdue_seconds, 1.0)
    slot = int(utcnow().timestamp() // period)
    companies = await ctx.session.scalars(
        select(AutomationSettings.company_id).where(
            or_(
                AutomationSettings.overdue_followup.is_(True),
                AutomationSettings.company_id.in_(
                    select(OverdueFollowup.company_id).where(OverdueFollowup.done.is_(False))
                ),
            )
        )
    )
    for company_id in companies.all():
        await enqueue(
            ctx.session, OVERDUE, company_id=company_id, key=f"overdue:{company_id}:{slot}"
        )


@job(OVERDUE)
async def overdue(ctx: JobContext) -> None:
    """Create the company's due overdue follow-ups and close the settled ones."""
    if ctx.company_id is None:
        return
    try:
        client = await company_client(ctx.state, ctx.company_id, None)
    except Conflict:
        return
    outcomes = await follow_up(ctx.state, ctx.company_id, client)
    if outcomes:
        log.info("overdue_followups", company=ctx.company_id, outcomes=outcomes[:20])
