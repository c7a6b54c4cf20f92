"""Sending an intent to the provider, for a request or for the reconciler alike.

An intent that an earlier holder may already have sent (``Claim.resumed``) is first looked
for at the provider through what that intent itself wrote: its marker (``providers.markers``)
among its contact's invoices of its issue date. Only a search read to the end that finds
nothing lets it be sent again, and then under the same provider idempotency key (QuickBooks
replays the original answer for a repeated ``requestid``; Xero does too for a repeated
``Idempotency-Key`` while it keeps it, for an unpublished time: hence the marker).

Outcomes: the provider's invoice (``Sent``); a definitive refusal (a 4xx about this very
request, nothing sent before it or a clean search) marks the intent ``failed``; anything else
(a lost answer, an outage, a crash, a failed search) leaves it ``unknown`` for the next
request with the key or the reconciler, after a backoff.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update

from app.db import utcnow
from app.errors import AppError, ServiceUnavailable
from app.invoices.context import InvoiceContext
from app.invoices.flows.claim import Claim, lease_end, provider_key, save_row
from app.invoices.flows.linking import provider_contact
from app.invoices.models import DealInvoice, InvoiceStatus
from app.invoices.rules.contacts import contact_data, contact_diff, contact_input
from app.invoices.rules.lines import provider_draft
from app.invoices.rules.meta import ProviderMeta
from app.invoices.schemas import InvoiceIn
from app.kit.http import RateLimited, Unavailable
from app.logs import log
from app.providers.base import Contact, Invoice, InvoiceDraft

# The reconciler waits this long after an unknown outcome before it looks (a lost answer's
# invoice may still be being committed), doubling with each try up to the maximum.
FIRST_LOOK = timedelta(seconds=5)
MAX_BACKOFF = timedelta(minutes=5)


@dataclass
class Sent:
    """What the provider confirmed: the invoice, and the contact read or written (None: the
    linked contact, untouched) with its id."""

    invoice: Invoice
    contact: Contact | None
    contact_id: str


@dataclass
class Attempt:
    """One holder's work on an intent. ``clean`` is True while nothing this intent's attempt
    could have created exists at the provider except what this holder sends now: a fresh
    intent, or a resumed one whose marker search found nothing."""

    claim: Claim
    body: InvoiceIn
    clean: bool = False

    @property
    def row(self) -> DealInvoice:
        return self.claim.row


async def deliver(ctx: InvoiceContext, meta: ProviderMeta, claim: Claim, body: InvoiceIn) -> Sent:
    """The intent's invoice at the provider: found (resumed) or created. A failure leaves the
    intent ``failed`` or ``unknown`` as the module says, and is raised."""
    attempt = Attempt(claim, body, clean=not claim.resumed)
    async with holding(ctx, claim):
        try:
            return await send(ctx, meta, attempt)
        except BaseException as exc:
            await asyncio.shield(settle(ctx, attempt, exc))
            if isinstance(exc, Unavailable) and not isinstance(exc, RateLimited):
                raise outcome_unknown(meta, exc) from exc
            raise


def is_refusal(exc: BaseException) -> bool:
    """A definitive "no" to this request: a 4xx of ours or the provider's that is not about
    availability (validation, not found, auth, not connected), never a 429 or a 5xx."""
    return (
        isinstance(exc, AppError)
        and not isinstance(exc, Unavailable | RateLimited)
        and 400 <= exc.status_code < 500
        and exc.status_code != 429
    )


async def settle(ctx: InvoiceContext, attempt: Attempt, exc: BaseException) -> None:
    """Record how the attempt ended, if this holder still holds the intent."""
    row = attempt.row
    if is_refusal(exc) and attempt.clean:
        assert isinstance(exc, AppError)
        values: dict[str, object] = {
            "status": InvoiceStatus.failed,
            "lease_until": None,
            "failure_reason": exc.message[:2000],
        }
    else:
        backoff = min(FIRST_LOOK * (2 ** min(row.tries, 10)), MAX_BACKOFF)
        reason = exc.message if isinstance(exc, AppError) else "interrupted before an answer"
        values = {
            "status": InvoiceStatus.unknown,
            "lease_until": utcnow() + backoff,
            "failure_reason": reason[:2000],
        }
    values.update(claim_token=None, updated_at=utcnow())
    async with ctx.sessionmaker() as session:
        await session.execute(
            update(DealInvoice)
            .where(DealInvoice.id == row.id, DealInvoice.claim_token == attempt.claim.token)
            .values(**values)
        )
        await session.commit()
    log.info("invoice_intent_settled", row=row.id, status=values["status"])


def outcome_unknown(meta: ProviderMeta, exc: BaseException) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"{meta.label} did not confirm the invoice. We keep checking and record it once "
        "(retrying with the same Idempotency-Key never creates a second one).",
        code="outcome_unknown",
    )


@asynccontextmanager
async def holding(ctx: InvoiceContext, claim: Claim) -> AsyncIterator[None]:
    """Renew the intent's lease while this holder works on it: a holder that dies stops
    renewing, and the reconciler takes the intent over once the lease has passed."""

    async def renew() -> None:
        period = ctx.settings.intent_lease_seconds / 3
        while True:
            await asyncio.sleep(period)
            async with ctx.sessionmaker() as session:
                await session.execute(
                    update(DealInvoice)
                    .where(DealInvoice.id == claim.row.id, DealInvoice.claim_token == claim.token)
                    .values(lease_until=lease_end(ctx))
                )
                await session.commit()

    task = asyncio.create_task(renew())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


async def send(ctx: InvoiceContext, meta: ProviderMeta, attempt: Attempt) -> Sent:
    """The contact, then the invoice: looked for first when resumed, else created."""
    row, body = attempt.row, attempt.body
    contact = await write_contact(ctx, meta, row, body)
    contact_id = contact.id if contact else body.customer.contact_id
    assert contact_id is not None
    marker = provider_key(ctx.company_id, row.idempotency_key, row.attempt)
    adapter = ctx.adapter(meta.provider)
    if not attempt.clean:
        assert row.issue_date is not None
        found = await ctx.call(
            meta.provider,
            lambda c: adapter.find_marked_invoice(
                c, marker=marker, contact_id=contact_id, issue_date=row.issue_date
            ),
        )
        if found is not None:
            return Sent(found, contact, contact_id)
        attempt.clean = True
    draft = invoice_draft(meta, row, body, contact_id, marker)
    invoice = await ctx.call(
        meta.provider, lambda c: adapter.create_invoice(c, draft, idempotency_key=marker)
    )
    return Sent(invoice, contact, contact_id)


def invoice_draft(
    meta: ProviderMeta, row: DealInvoice, body: InvoiceIn, contact_id: str, marker: str
) -> InvoiceDraft:
    draft = provider_draft(
        meta,
        contact_id=contact_id,
        issue_date=body.issue_date,
        due_date=body.due_date,
        currency=body.currency,
        tax_mode=body.tax_mode,
        tax_code=body.tax_code,
        template_id=body.template_id,
        reference=body.reference,
        url=row.deal_url,
        lines=body.lines,
        discount=body.global_discount,
        bill_email=body.customer.email,
        invoice_number=body.invoice_number,
    )
    return draft.model_copy(update={"marker": marker})


async def write_contact(
    ctx: InvoiceContext, meta: ProviderMeta, row: DealInvoice, body: InvoiceIn
) -> Contact | None:
    """Create the contact, or update the chosen one where the CRM differs, as the user chose.
    Returns the contact when it was read or written (None: the linked contact, untouched)."""
    adapter = ctx.adapter(meta.provider)
    customer = body.customer
    if customer.create:
        if row.orphan_contact_id:
            return await provider_contact(ctx, meta.provider, row.orphan_contact_id)
        data = contact_data(
            customer.name, customer.email, customer.address, customer.tax_id, body.currency
        )
        contact: Contact = await ctx.call(
            meta.provider,
            lambda c: adapter.create_contact(
                c, data, idempotency_key=provider_key(ctx.company_id, row.idempotency_key, 0)
            ),
        )
        # Recorded at once: if the invoice then fails, the contact is still accounted for.
        await save_row(
            ctx,
            row.id,
            orphan_contact_id=contact.id,
            contact_id=contact.id,
            contact_name=contact.name,
        )
        row.orphan_contact_id = contact.id
        return contact
    assert customer.contact_id is not None
    if not customer.update_contact:
        return None
    contact = await provider_contact(
        ctx, meta.provider, customer.contact_id, field="customer.contact_id"
    )
    changes = contact_diff(contact, customer.email, customer.address, customer.tax_id)
    if changes:
        update_ = contact_input(changes)
        contact = await ctx.call(
            meta.provider, lambda c: adapter.update_contact(c, contact.id, update_)
        )
    return contact
