"""Evaluating a company's invoice rules for a deal, and the catch-up that finds deals whose
webhook never came (both run in the worker; see ``tasks``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from app.automation.conditions import facts_of, mismatch
from app.automation.context import actor, rule_context, spec_of
from app.automation.firing import fire
from app.automation.repository import AutomationRepository
from app.crm.pipedrive.client import PipedriveClient
from app.crm.pipedrive.errors import PipedriveNotFound
from app.db import utcnow
from app.errors import Conflict

# The catch-up reads deals updated since its last read, less this overlap (clock skew and
# updates committed while it read); firing is idempotent, so reading a deal twice is harmless.
CATCH_UP_OVERLAP = timedelta(minutes=2)
CATCH_UP_FIRST = timedelta(hours=1)


async def company_client(state: Any, company_id: str, user_id: str | None) -> PipedriveClient:
    ctx = rule_context(state, await actor(state, company_id, user_id))
    async with state.sessionmaker() as session:
        client, _ = await ctx.pipedrive(session)
    return client


async def evaluate_deal(state: Any, company_id: str, deal_id: int, source: str) -> str:
    """Fire every enabled rule of the company that the deal matches now; the outcome in
    words (starting "ignored" when there was nothing to do)."""
    async with state.sessionmaker() as session:
        rules = await AutomationRepository(session, company_id).rules(enabled_only=True)
        specs = [(spec_of(r), r.created_by_user_id) for r in rules]
    if not specs:
        return "ignored: no invoice rules"
    try:
        client = await company_client(state, company_id, specs[0][1])
    except Conflict:
        return "ignored: the app is not installed in this company"
    try:
        deal = await client.deal(deal_id)
    except PipedriveNotFound:
        return "ignored: Pipedrive has no such deal for this company"
    lines = await client.deal_products(deal_id)
    facts = facts_of(deal.raw or {"id": deal_id}, bool(lines))
    outcomes: list[str] = []
    for spec, author in specs:
        why = mismatch(spec, facts)
        if why is not None:
            outcomes.append(f"{spec.name}: no ({why})")
            continue
        user = await actor(state, company_id, author)
        outcomes.append(await fire(state, user, spec, facts, client, source))
    return "processed: " + "; ".join(outcomes)


async def recently_updated(state: Any, company_id: str) -> tuple[list[int], datetime]:
    """Deals updated since the last catch-up read (an hour back the first time), and the
    moment this read started (the next one reads from there)."""
    started = utcnow()
    async with state.sessionmaker() as session:
        repo = AutomationRepository(session, company_id)
        rules = await repo.rules(enabled_only=True)
        settings = await repo.settings()
        since = settings.deals_read_until
        await session.commit()
    if not rules:
        return [], started
    since = (since - CATCH_UP_OVERLAP) if since else started - CATCH_UP_FIRST
    client = await company_client(state, company_id, rules[0].created_by_user_id)
    deals = await client.updated_deals(since)
    return [d.id for d in deals], started
