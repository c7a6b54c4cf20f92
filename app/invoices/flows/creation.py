"""Exactly-once invoice creation (``create_invoice``); docs/invoices.md draws the states.

1. The reviewed invoice is checked locally first (provider metadata from the cache): a blocking
   check is a 422 naming the field, and nothing is recorded.
2. The intent, a ``pending`` row keyed by (company, Idempotency-Key), is committed in its own
   transaction before the provider is called (``claim``). The unique constraint makes
   concurrent identical requests meet: one wins the insert and works; the others wait for its
   outcome and answer with the same invoice (200). A key used for a different invoice is 409.
3. ``delivery`` sends it (contact, then invoice with the intent's marker and provider
   idempotency key), or finds it when an earlier holder may have sent it.
4. Confirmed → ``record_created``: the provider's invoice applied to the row (``apply_invoice``),
   links remembered and the audit entry, in one transaction, by the claim's holder only; a
   provider invoice belongs to one intent at most (unique constraint). Refused → ``failed``
   and a 422 in the provider's words; lost → ``unknown`` and a 503: the reconciler
   (``reconcile``) or the same key resolves it, never twice.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.connections.models import ProviderConnection
from app.errors import Conflict, ValidationFailed
from app.invoices.context import InvoiceContext, organisation_of
from app.invoices.flows.apply import apply_invoice
from app.invoices.flows.changelog import record_event
from app.invoices.flows.claim import Claim, claim, request_hash, validate_key
from app.invoices.flows.deal import ensure_deal
from app.invoices.flows.delivery import Sent, deliver
from app.invoices.flows.linking import remember_contact, remember_item
from app.invoices.flows.listing import invoice_out
from app.invoices.flows.mirror import adopt_mirror
from app.invoices.flows.parts import split_part, whole_columns
from app.invoices.flows.review import prepare, with_due_date
from app.invoices.models import DealInvoice, InvoiceStatus
from app.invoices.repository import ContactLinkRepository, ItemLinkRepository
from app.invoices.rules.dates import company_today
from app.invoices.rules.meta import ProviderMeta
from app.invoices.schemas import InvoiceIn, InvoiceOut
from app.providers.base import Contact, Invoice
from app.tenants.permissions import Permission, permissions_of, require


async def create_invoice(
    ctx: InvoiceContext,
    session: AsyncSession,
    deal_id: int | None,
    body: InvoiceIn,
    idempotency_key: str | None,
) -> tuple[InvoiceOut, bool]:
    """Create the reviewed invoice as a DRAFT at the provider, exactly once per
    Idempotency-Key. Returns the invoice and whether this call created it (False: an earlier
    call with the key did). ``deal_id`` None creates an invoice of no deal (Pipedrive's
    Invoicing extension): no deal is read and the provider invoice carries no deal URL."""
    key = validate_key(idempotency_key)
    # The deal first: another company's deal is a 404 whatever else is wrong with the body.
    url = await ensure_deal(ctx, session, deal_id, body.deal_token) if deal_id is not None else None
    await require(session, ctx.user, Permission.create)
    allowed = await permissions_of(session, ctx.user)
    meta, connection, linked = await prepare(ctx, session, body)
    digest = request_hash(deal_id, body)
    body, key, columns = await part_of_deal(ctx, session, meta, deal_id, body, key)
    # After the hash, so a retry of the same request matches whatever the terms say by then.
    body = await with_due_date(ctx, session, body)
    await release_reads(session)
    row, held = await claim(
        ctx, deal_id, body, key, digest, url or ctx.settings.public_url, columns
    )
    can_approve = ctx.adapter(meta.provider).can_approve(connection.provider_role)
    if held is None:
        out = invoice_out(row, company_today(meta), can_approve=can_approve, permissions=allowed)
        return out, False
    sent = await deliver(ctx, meta, held, body)
    saved = await record_created(ctx, meta, connection, held, body, sent, linked)
    return invoice_out(
        saved, company_today(meta), can_approve=can_approve, permissions=allowed
    ), True


async def part_of_deal(
    ctx: InvoiceContext,
    session: AsyncSession,
    meta: ProviderMeta,
    deal_id: int | None,
    body: InvoiceIn,
    key: str,
) -> tuple[InvoiceIn, str, dict[str, object] | None]:
    """The body, intent key and part columns: a part of the deal is scaled to the part and
    keyed by it (``flows.parts``); an invoice of the whole deal records the deal's value."""
    if body.part is not None:
        if deal_id is None:
            raise ValidationFailed(
                "Only an invoice of a deal can invoice a part of it.", field="part"
            )
        return await split_part(ctx, session, meta, deal_id, body, key)
    return body, key, whole_columns(meta, body) if deal_id is not None else None


async def release_reads(session: AsyncSession) -> None:
    """Give the request session's connection back before the provider is called: its work
    here was reads, and holding a pooled connection through the provider round trip (and any
    wait for the provider's rate limit) ran a PostgreSQL pool dry at 50 concurrent creates
    per process (pool timeouts, 500s; issue 17). The objects read stay usable (expunged,
    never expired); nothing is rolled back when the session holds changes."""
    if session.new or session.dirty or session.deleted:
        return
    session.expunge_all()
    await session.rollback()


async def record_created(
    ctx: InvoiceContext,
    meta: ProviderMeta,
    connection: ProviderConnection,
    held: Claim,
    body: InvoiceIn,
    sent: Sent,
    linked: bool,
) -> DealInvoice:
    """One transaction records the invoice, remembers the links and writes the audit entry,
    if ``held`` still holds the intent (else what its new holder recorded)."""
    invoice = sent.invoice
    url = ctx.adapter(meta.provider).invoice_url(organisation_of(connection), invoice.id)
    async with ctx.sessionmaker() as final:
        # The compare-and-swap returns the row it won, so winning costs one statement.
        saved = await final.scalar(
            update(DealInvoice)
            .where(DealInvoice.id == held.row.id, DealInvoice.claim_token == held.token)
            .values(status=InvoiceStatus.created, claim_token=None, lease_until=None)
            .returning(DealInvoice),
            execution_options={"populate_existing": True, "synchronize_session": False},
        )
        if saved is None:
            lost = await final.get(DealInvoice, held.row.id, populate_existing=True)
            assert lost is not None
            return await lost_claim(lost)
        try:
            await apply_created(final, ctx, meta, saved, body, sent, url, linked)
            await final.commit()
        except IntegrityError as exc:
            await final.rollback()
            await refuse_taken(ctx, held, invoice)
            raise Conflict(
                f"{meta.label} invoice {invoice.number or invoice.id} is already recorded "
                "for another invoice request.",
                code="invoice_already_recorded",
            ) from exc
    return saved


async def lost_claim(saved: DealInvoice) -> DealInvoice:
    """Another holder took the intent over while this one worked (its lease ran out)."""
    if saved.status == InvoiceStatus.created:
        return saved
    raise Conflict(
        "This invoice is still being created; try again in a moment.", code="in_progress"
    )


async def refuse_taken(ctx: InvoiceContext, held: Claim, invoice: Invoice) -> None:
    """The provider invoice found or made is another intent's: definitive, so ``failed``."""
    async with ctx.sessionmaker() as session:
        await session.execute(
            update(DealInvoice)
            .where(DealInvoice.id == held.row.id)
            .values(
                status=InvoiceStatus.failed,
                lease_until=None,
                claim_token=None,
                failure_reason=f"provider invoice {invoice.id} belongs to another intent",
            )
        )
        await session.commit()


async def apply_created(
    final: AsyncSession,
    ctx: InvoiceContext,
    meta: ProviderMeta,
    saved: DealInvoice,
    body: InvoiceIn,
    sent: Sent,
    url: str,
    linked: bool,
) -> None:
    invoice, contact = sent.invoice, sent.contact
    saved.failure_reason = None
    saved.orphan_contact_id = None
    # What the provider's answer leaves empty: the contact as we sent it.
    saved.contact_id = sent.contact_id
    saved.contact_name = (contact.name if contact else None) or body.customer.name
    saved.currency = body.currency
    saved.issue_date, saved.due_date = body.issue_date, body.due_date
    await adopt_mirror(final, saved, invoice.id)
    apply_invoice(saved, invoice, url=url)
    await remember(
        final,
        ctx,
        body,
        saved.contact_id or sent.contact_id,
        saved.contact_name or "",
        contact.currency if contact else None,
        contact_known=linked and contact is None,
    )
    await created_event(final, ctx, meta, body, saved, invoice, saved.deal_id)
    await final.flush()


async def created_event(
    session: AsyncSession,
    ctx: InvoiceContext,
    meta: ProviderMeta,
    body: InvoiceIn,
    saved: DealInvoice,
    invoice: Invoice,
    deal_id: int | None,
) -> None:
    """The changelog's ``invoice.created`` (and its deal note, when the company keeps them)."""
    await record_event(
        session,
        ctx.company_id,
        "invoice.created",
        actor=ctx.user,
        deal_id=deal_id,
        provider=meta.provider,
        provider_invoice_id=invoice.id,
        details={
            "invoice_row": saved.id,
            "number": invoice.number,
            "total_minor": saved.total_minor,
            "currency": saved.currency,
            "contact_created": body.customer.create,
            "contact_updated": bool(body.customer.update_contact),
        },
    )


async def remember(
    session: AsyncSession,
    ctx: InvoiceContext,
    body: InvoiceIn,
    contact_id: str,
    contact_name: str,
    currency: str | None,
    contact_known: bool = False,
) -> None:
    """Remember the contact and the lines' items as links, where not remembered yet."""
    customer = body.customer
    if customer.crm_entity and customer.crm_id and not contact_known:
        known = await ContactLinkRepository(session, ctx.company_id).one(
            body.provider, customer.crm_entity, customer.crm_id
        )
        if known is None or known.contact_id != contact_id:
            await remember_contact(
                session,
                ctx.company_id,
                body.provider,
                customer.crm_entity,
                customer.crm_id,
                Contact(id=contact_id, name=contact_name, currency=currency),
            )
    chosen = [
        line for line in body.lines if line.crm_product_id and (line.item_id or line.item_code)
    ]
    links = await ItemLinkRepository(session, ctx.company_id).for_products(
        body.provider, [line.crm_product_id for line in chosen if line.crm_product_id]
    )
    for line in chosen:
        assert line.crm_product_id is not None
        if line.crm_product_id not in links:
            await remember_item(
                session,
                ctx.company_id,
                body.provider,
                line.crm_product_id,
                line.item_id or line.item_code or "",
                line.item_code,
                line.description.splitlines()[0][:255],
            )
