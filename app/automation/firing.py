"""Firing invoice rules for one deal (the worker's ``automation.evaluate_deal``).

The deal is read fresh from Pipedrive (webhooks are only triggers, and may be stale or out of
order); each enabled rule it matches now is fired:

1. The rule's intent key is derived from (company, rule, deal) (``conditions.intent_key``). An
   intent already recorded under it (created, being created, or unknown) means the rule has
   done its part: duplicates, replays, won → lost → won, a twin process and the catch-up all
   end here, or meet inside ``create_invoice``'s claim, which lets exactly one through.
2. The draft is built exactly as the deal panel builds it for the rule's author, with the
   company's preferences. When it cannot be sent as is (``conditions.blockers``), nothing is
   sent: a note on the deal and an activity for its owner say what to fix, once per set of
   reasons; the next change of the deal tries again.
3. Otherwise it is created through ``create_invoice`` under that key; a lost answer leaves the
   intent to the reconciler (outcome ``pending``).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from app.automation.conditions import (
    DealFacts,
    RuleSpec,
    accepted_warnings,
    blockers,
    intent_key,
    reasons_digest,
)
from app.automation.context import forget_firing, insert_firing, rule_context, update_firing
from app.automation.models import Outcome, RuleFiring
from app.automation.repository import AutomationRepository
from app.crm.pipedrive.client import PipedriveClient
from app.crm.pipedrive.errors import PipedriveError, PipedriveForbidden
from app.crm.pipedrive.schemas import ActivityIn
from app.errors import AppError, Conflict, ServiceUnavailable
from app.invoices.context import InvoiceContext
from app.invoices.flows import build_draft, company_today, create_invoice, reviewed
from app.invoices.models import InvoiceStatus
from app.invoices.repository import InvoiceRepository
from app.invoices.schemas import Check
from app.logs import log
from app.tenants.models import CrmUser


def _firing(
    company_id: str, spec: RuleSpec, deal_id: int, source: str, **values: Any
) -> RuleFiring:
    return RuleFiring(
        company_id=company_id,
        rule_id=spec.id,
        rule_version=spec.version,
        rule_snapshot=spec.snapshot(),
        deal_id=deal_id,
        source=source,
        **values,
    )


async def fire(
    state: Any,
    user: CrmUser,
    spec: RuleSpec,
    deal: DealFacts,
    client: PipedriveClient,
    source: str,
) -> str:
    """Fire ``spec`` (the rule as it was when this firing started) for ``deal``; returns the
    outcome in words."""
    company_id = user.company_id
    key = intent_key(company_id, spec.id, deal.id)
    async with state.sessionmaker() as session:
        existing = await InvoiceRepository(session, company_id).by_key(key)
    if existing is not None and existing.status != InvoiceStatus.failed:
        return f"{spec.name}: invoiced already ({existing.status})"
    ctx = rule_context(state, user)
    try:
        meta = await ctx.meta_cache.get(ctx, spec.provider)
        async with state.sessionmaker() as session:
            draft = await build_draft(ctx, session, deal.id, spec.provider)
    except AppError as exc:
        return await _failed(state, company_id, spec, deal, source, exc.message)
    problems = blockers(draft, meta.label)
    if problems:
        where = (meta.label, company_today(meta))
        return await _block(state, company_id, spec, deal, client, source, problems, where)
    body = reviewed(draft, accept_tax_difference=bool(accepted_warnings(draft)))
    return await _create(
        state, ctx, spec, deal, client, source, body, key, accepted_warnings(draft)
    )


async def _create(
    state: Any,
    ctx: InvoiceContext,
    spec: RuleSpec,
    deal: DealFacts,
    client: PipedriveClient,
    source: str,
    body: Any,
    key: str,
    warnings: list[str],
) -> str:
    try:
        async with ctx.sessionmaker() as session:
            out, created = await create_invoice(ctx, session, deal.id, body, key)
    except Conflict as exc:
        # A twin firing holds the same intent (or made it from a changed deal): one invoice.
        return f"{spec.name}: being invoiced by another firing ({exc.code})"
    except ServiceUnavailable as exc:
        await insert_firing(
            state,
            _firing(
                ctx.company_id, spec, deal.id, source, outcome=Outcome.pending, reason=exc.message
            ),
        )
        return f"{spec.name}: pending ({exc.code})"
    except AppError as exc:
        return await _failed(state, ctx.company_id, spec, deal, source, exc.message)
    if not created:
        return f"{spec.name}: invoiced already"
    reason = "\n".join(["Created with the provider's tax:", *warnings]) if warnings else ""
    await insert_firing(
        state,
        _firing(
            ctx.company_id,
            spec,
            deal.id,
            source,
            outcome=Outcome.invoiced,
            reason=reason,
            invoice_row_id=out.id,
        ),
    )
    await _close_fix_activities(state, ctx.company_id, spec, deal.id, client)
    log.info("invoice_rule_invoiced", rule=spec.id, deal=deal.id, invoice=out.id)
    return f"{spec.name}: invoiced {out.number or out.provider_invoice_id}"


async def _failed(
    state: Any, company_id: str, spec: RuleSpec, deal: DealFacts, source: str, message: str
) -> str:
    """Logged once per distinct message (the same failure on every deal change is one entry);
    a failed intent is tried again on the deal's next change."""
    row = _firing(
        company_id,
        spec,
        deal.id,
        source,
        outcome=Outcome.failed,
        reason=message[:2000],
        reason_digest=reasons_digest(
            [Check(code="failed", severity="error", field=None, message=message)]
        ),
    )
    await insert_firing(state, row)
    return f"{spec.name}: failed: {message}"


def note_html(spec: RuleSpec, label: str, problems: Sequence[Check]) -> str:
    items = "".join(f"<li>{html.escape(c.message)}</li>" for c in problems)
    return (
        f"<p>The invoice rule <b>{html.escape(spec.name)}</b> could not create this deal's "
        f"invoice in {html.escape(label)}. Nothing was sent. Fix this and the rule tries again "
        f"when the deal changes:</p><ul>{items}</ul>"
    )


async def _block(
    state: Any,
    company_id: str,
    spec: RuleSpec,
    deal: DealFacts,
    client: PipedriveClient,
    source: str,
    problems: Sequence[Check],
    where: tuple[str, Any],
) -> str:
    """Nothing sent; a note and an owner's activity, once per set of reasons."""
    row = _firing(
        company_id,
        spec,
        deal.id,
        source,
        outcome=Outcome.blocked,
        reason="\n".join(c.message for c in problems)[:2000],
        reason_digest=reasons_digest(problems),
    )
    if not await insert_firing(state, row):
        return f"{spec.name}: blocked (already noted on the deal)"
    label, today = where
    content = note_html(spec, label, problems)
    try:
        note_id = await client.add_note(deal.id, content)
        activity = await client.create_activity(
            ActivityIn(
                subject=f"Fix the invoice: {problems[0].message}"[:255],
                type="task",
                owner_id=deal.owner_id,
                deal_id=deal.id,
                due_date=today,
                note=content,
            )
        )
    except PipedriveForbidden:
        # An install from before the app asked for deals:full and activities:full: the log
        # says so (a reinstall grants them) instead of retrying what cannot succeed.
        await update_firing(
            state,
            row.id,
            reason=f"{row.reason}\nPipedrive refused the note: reinstall the app to allow it."[
                :2000
            ],
        )
        return f"{spec.name}: blocked (the note was refused)"
    except BaseException:
        # Let the job's retry write them: the reasons are not noted yet.
        await forget_firing(state, row.id)
        raise
    await update_firing(state, row.id, note_id=note_id, activity_id=activity.id)
    return f"{spec.name}: blocked: {problems[0].message}"


async def _close_fix_activities(
    state: Any, company_id: str, spec: RuleSpec, deal_id: int, client: PipedriveClient
) -> None:
    """Once the rule has invoiced (once: only the creating firing gets here), its fix-it
    activities on the deal are done."""
    async with state.sessionmaker() as session:
        blocks = await AutomationRepository(session, company_id).open_blocks(spec.id, deal_id)
    for block in blocks:
        if block.activity_id is None:
            continue
        try:
            await client.update_activity(block.activity_id, done=True)
        except PipedriveError as exc:
            log.info("fix_activity_not_closed", activity=block.activity_id, error=str(exc))
