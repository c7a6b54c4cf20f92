"""Crediting one of our invoices at its provider, fully or partly, exactly once.

A credit is a two-step saga (lifecycle-and-billing.md, "what this means for us" 3): create an
approved credit note for the invoice's customer (Xero ACCRECCREDIT, QuickBooks CreditMemo),
then apply what the invoice still owes of it (Xero Allocation, QuickBooks zero-amount
Payment), then re-read the invoice so our row shows its new amounts and status. What exceeds
the amount owed (a paid invoice owes nothing) stays with the customer as credit.

Exactly once: the caller's Idempotency-Key is required. Each step carries a provider key
derived from it (``kit.signing.derived_key``: company, provider, invoice, step, key), so a
repeat of the request, after a lost answer or a crash at any point, is replayed by the
provider instead of crediting twice; once the credit is recorded (the ``credit_note`` row,
unique per company and key) a repeat answers from it without calling the provider. The same
key with another body is 409.

Bad input stops before any provider write: a voided or deleted invoice, or more than what is
left to credit, is 422 in plain words (first against our row, with no call at all, then
against the invoice as the provider has it now).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, ValidationFailed
from app.invoices.billing_schemas import CreditIn, CreditLineOut, CreditOptions, CreditOut
from app.invoices.context import InvoiceContext
from app.invoices.flows.actions import deal_invoice, provider_invoice, view_of
from app.invoices.flows.apply import apply_invoice
from app.invoices.flows.changelog import record_event
from app.invoices.flows.claim import validate_key
from app.invoices.models import CreditNoteRow, CreditStatus, DealInvoice
from app.invoices.repository import CreditRepository
from app.invoices.rules import credits as rules
from app.invoices.rules.dates import company_today
from app.kit.signing import derived_key
from app.providers.base import CreditNote, CreditNoteDraft, Features, Invoice
from app.providers.money import from_minor, to_minor
from app.tenants.permissions import Permission, require

VOIDED_OR_DELETED = ("VOIDED", "DELETED")


def credit_hash(invoice_row_id: str, body: CreditIn) -> str:
    payload = json.dumps({"invoice": invoice_row_id, "body": body.model_dump(mode="json")})
    return hashlib.sha256(payload.encode()).hexdigest()


def credit_out(row: CreditNoteRow) -> CreditOut:
    return CreditOut(
        id=row.id,
        invoice_id=row.deal_invoice_id,
        provider=row.provider,
        status=row.status,
        provider_credit_id=row.provider_credit_id,
        number=row.number,
        currency=row.currency,
        total=from_minor(row.total_minor, row.currency),
        applied=from_minor(row.applied_minor, row.currency),
        reason=row.reason,
    )


async def credited_minor(session: AsyncSession, company_id: str, row: DealInvoice) -> int:
    """What is already credited on the invoice: our credit notes' totals, or the provider's
    AmountCredited when it knows of more (a credit note made in Xero itself)."""
    ours = await CreditRepository(session, company_id).of_invoices([row.id])
    return max(sum(c.total_minor for c in ours), row.amount_credited_minor)


def refuse_early(row: DealInvoice, body: CreditIn, credited: int) -> None:
    """The checks our row allows, before any call: voided or deleted, more than is left."""
    if (row.provider_status or "").upper() in VOIDED_OR_DELETED:
        state = (row.provider_status or "").lower()
        raise ValidationFailed(
            f"This invoice is {state}: a {state} invoice cannot be credited.", field="id"
        )
    currency = row.currency
    left = rules.remaining(from_minor(row.total_minor, currency), from_minor(credited, currency))
    if body.amount is not None and body.amount > left:
        raise too_much(body.amount, left, row.currency)
    if body.full and left <= 0:
        raise ValidationFailed("This invoice is already credited in full.", field="full")


def too_much(amount: Decimal, left: Decimal, currency: str) -> ValidationFailed:
    return ValidationFailed(
        f"A credit of {amount} {currency} is more than the {left} {currency} left to credit "
        "on this invoice.",
        field="amount",
    )


def plan_for(
    features: Features, invoice: Invoice, body: CreditIn, left: Decimal
) -> rules.CreditPlan:
    """The credit note's lines for the request, checked against what is left to credit."""
    label = f"Credit for invoice {invoice.number or invoice.id}"
    if body.line_ids is not None:
        try:
            plan = rules.lines_plan(invoice, body.line_ids)
        except ValueError as exc:
            raise ValidationFailed(str(exc), field="line_ids") from exc
    elif body.full and left == invoice.total:
        plan = rules.lines_plan(invoice, [ln.id for ln in rules.item_lines(invoice) if ln.id])
    else:
        amount = left if body.full else (body.amount or Decimal("0"))
        plan = rules.amount_plan(invoice, amount, features, label)
    if plan.expected_total > left:
        raise too_much(plan.expected_total, left, invoice.currency)
    return plan


async def credit_deal_invoice(
    ctx: InvoiceContext,
    session: AsyncSession,
    deal_id: int,
    row_id: str,
    body: CreditIn,
    key: str | None,
) -> tuple[CreditOut, DealInvoice, bool]:
    """Credit one of the deal's invoices (our row ``row_id``) as ``body`` says, exactly once
    per Idempotency-Key: (the credit, our invoice row, whether this call made it). The
    session is flushed, not committed."""
    key = validate_key(key)
    await require(session, ctx.user, Permission.credit)
    row, invoice_id = await deal_invoice(session, ctx.company_id, deal_id, row_id)
    digest = credit_hash(row.id, body)
    existing = await CreditRepository(session, ctx.company_id).by_key(key)
    if existing is not None:
        return answer_repeat(existing, digest), row, False
    refuse_early(row, body, await credited_minor(session, ctx.company_id, row))
    meta, connection = await ctx.meta_cache.connected(ctx, row.provider, session)
    adapter = ctx.adapter(row.provider)
    invoice = await provider_invoice(ctx, row.provider, invoice_id)
    apply_invoice(row, invoice)
    why = rules.refusal(view_of(adapter, connection, invoice, company_today(meta)).stage)
    if why:
        raise ValidationFailed(f"This invoice cannot be credited: {why}.", field="id")
    credited = await credited_minor(session, ctx.company_id, row)
    left = rules.remaining(invoice.total, from_minor(credited, invoice.currency))
    plan = plan_for(meta.features, invoice, body, left)
    today = company_today(meta)
    note = await send_credit(ctx, row, invoice, plan, body.reason, key, today)
    applied = await apply_credit(ctx, row, invoice, note, key, today)
    fresh = await provider_invoice(ctx, row.provider, invoice_id)
    apply_invoice(row, fresh)
    credit = CreditNoteRow(
        company_id=ctx.company_id,
        deal_invoice_id=row.id,
        provider=row.provider,
        idempotency_key=key,
        request_hash=digest,
        status=CreditStatus.applied,
        provider_credit_id=note.id,
        number=note.number,
        currency=invoice.currency,
        total_minor=to_minor(note.total, invoice.currency),
        applied_minor=to_minor(applied, invoice.currency),
        reason=body.reason,
        created_by_user_id=ctx.user.id,
    )
    return await record(ctx, session, row, credit, digest, deal_id)


def answer_repeat(existing: CreditNoteRow, digest: str) -> CreditOut:
    if existing.request_hash != digest:
        raise Conflict(
            "This Idempotency-Key was used for another credit; send a new key for a new one.",
            field="Idempotency-Key",
            code="idempotency_key_reused",
        )
    return credit_out(existing)


async def send_credit(
    ctx: InvoiceContext,
    row: DealInvoice,
    invoice: Invoice,
    plan: rules.CreditPlan,
    reason: str | None,
    key: str,
    today: date,
) -> CreditNote:
    """Step 1: the credit note, under a provider key derived from the caller's key."""
    adapter = ctx.adapter(row.provider)
    reference = f"Credit for {invoice.number or invoice.id}" + (f": {reason}" if reason else "")
    draft = CreditNoteDraft(
        contact_id=invoice.contact_id or row.contact_id or "",
        issue_date=today,
        currency=invoice.currency,
        tax_mode=plan.tax_mode,
        reference=reference,
        global_discount=plan.global_discount,
        lines=plan.lines,
    )
    provider_key = derived_key(ctx.company_id, row.provider, invoice.id, "CREDIT", key)
    note: CreditNote = await ctx.call(
        row.provider,
        lambda c: adapter.create_credit_note(c, draft, idempotency_key=provider_key),
    )
    return note


async def apply_credit(
    ctx: InvoiceContext,
    row: DealInvoice,
    invoice: Invoice,
    note: CreditNote,
    key: str,
    today: date,
) -> Decimal:
    """Step 2: apply what the invoice still owes of the note (none when it is paid)."""
    amount = min(note.remaining, invoice.amount_due)
    if amount <= 0:
        return Decimal("0")
    adapter = ctx.adapter(row.provider)
    provider_key = derived_key(ctx.company_id, row.provider, invoice.id, "CREDIT-APPLY", key)
    await ctx.call(
        row.provider,
        lambda c: adapter.apply_credit_note(
            c,
            note,
            invoice_id=invoice.id,
            contact_id=invoice.contact_id or row.contact_id or "",
            amount=amount,
            on=today,
            idempotency_key=provider_key,
        ),
    )
    return amount


async def record(
    ctx: InvoiceContext,
    session: AsyncSession,
    row: DealInvoice,
    credit: CreditNoteRow,
    digest: str,
    deal_id: int,
) -> tuple[CreditOut, DealInvoice, bool]:
    """Save the credit and its changelog event; a concurrent request with the same key that
    recorded first wins (the provider replayed its calls to this one), and is answered."""
    try:
        async with session.begin_nested():
            session.add(credit)
            await record_event(
                session,
                ctx.company_id,
                "invoice.credited",
                actor=ctx.user,
                deal_id=deal_id,
                provider=row.provider,
                provider_invoice_id=row.provider_invoice_id,
                details={
                    "number": row.number,
                    "provider_credit_id": credit.provider_credit_id,
                    "total_minor": credit.total_minor,
                    "applied_minor": credit.applied_minor,
                },
            )
    except IntegrityError:
        winner = await CreditRepository(session, ctx.company_id).by_key(credit.idempotency_key)
        if winner is None:
            raise
        return answer_repeat(winner, digest), row, False
    await session.flush()
    return credit_out(credit), row, True


async def credits_of(
    ctx: InvoiceContext, session: AsyncSession, deal_id: int, row_id: str
) -> list[CreditOut]:
    """The credit notes on one of the deal's invoices (404 for anything else)."""
    row, _ = await deal_invoice(session, ctx.company_id, deal_id, row_id)
    rows = await CreditRepository(session, ctx.company_id).of_invoices([row.id])
    return [credit_out(c) for c in rows]


async def credit_options(
    ctx: InvoiceContext, session: AsyncSession, deal_id: int, row_id: str
) -> CreditOptions:
    """The invoice's lines as the provider has them now, and what is left to credit."""
    row, invoice_id = await deal_invoice(session, ctx.company_id, deal_id, row_id)
    invoice = await provider_invoice(ctx, row.provider, invoice_id)
    apply_invoice(row, invoice)
    credited = await credited_minor(session, ctx.company_id, row)
    return CreditOptions(
        invoice_id=row.id,
        currency=invoice.currency,
        total=invoice.total,
        left=rules.remaining(invoice.total, from_minor(credited, invoice.currency)),
        amount_due=invoice.amount_due,
        lines=[
            CreditLineOut(
                id=ln.id, description=ln.description, quantity=ln.quantity, amount=ln.amount
            )
            for ln in rules.item_lines(invoice)
            if ln.id
        ],
    )
