"""Exactly-once invoice creation (``create_invoice``).

1. The reviewed invoice is checked locally first (provider metadata from the cache): a blocking
   check is a 422 naming the field, and nothing is recorded.
2. A ``pending`` row (``claim``) keyed by (company, Idempotency-Key) is committed in its own
   transaction before the provider is called. The unique constraint makes concurrent identical
   requests meet: one wins the insert and works; the others wait for its outcome and answer
   with the same invoice (200). A different body under a used key is refused (422).
3. The contact is created or updated as chosen. A contact we created is recorded on the row at
   once (``orphan_contact_id``), so that a later failure leaves it recorded and shown.
4. The invoice is created as DRAFT with the provider's idempotency (Xero Idempotency-Key,
   QuickBooks requestid), derived from our key and the attempt number.
5. Outcomes: confirmed → the provider's invoice applied to the row (``apply_invoice``: ids,
   number, status, totals in minor units, deep link), links remembered, audit entry.
   Validation error → the row is marked ``failed`` with the reason (kept as history; never
   shown as an invoice) and the provider's message is a 422; the same key may then try again
   (a new attempt, a new provider key). Answer lost (outcome unknown) → the invoice is looked
   up at the provider (same contact and issue date, our reference and total, not already ours)
   before anything is sent again; found → recorded; not found → the row is ``unknown`` and the
   caller retries with the same key, which reconciles first and then repeats the create with
   the same provider key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.connections.models import ProviderConnection
from app.errors import AppError, ServiceUnavailable
from app.invoices.context import InvoiceContext, organisation_of
from app.invoices.flows.apply import apply_invoice
from app.invoices.flows.claim import claim, provider_key, request_hash, save_row, validate_key
from app.invoices.flows.deal import ensure_deal
from app.invoices.flows.linking import provider_contact, remember_contact, remember_item
from app.invoices.flows.listing import invoice_out
from app.invoices.flows.review import prepare
from app.invoices.models import DealInvoice, InvoiceStatus
from app.invoices.repository import ContactLinkRepository, InvoiceRepository, ItemLinkRepository
from app.invoices.rules.contacts import contact_data, contact_diff, contact_input
from app.invoices.rules.dates import company_today
from app.invoices.rules.lines import provider_draft
from app.invoices.rules.meta import ProviderMeta
from app.invoices.rules.totals import compute_totals
from app.invoices.schemas import InvoiceIn, InvoiceOut
from app.providers.base import (
    Contact,
    Invoice,
    ProviderError,
    ProviderUnavailable,
)
from app.tenants.models import AuditEvent


@dataclass
class Sent:
    """What the provider confirmed: the invoice, and the contact read or written (None: the
    linked contact, untouched) with its id."""

    invoice: Invoice
    contact: Contact | None
    contact_id: str


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
    meta, connection, linked = await prepare(ctx, session, body)
    row, work, taken_over = await claim(ctx, deal_id, body, key, request_hash(deal_id, body))
    can_approve = ctx.adapter(meta.provider).can_approve(connection.provider_role)
    if not work:
        return invoice_out(row, company_today(meta), can_approve=can_approve), False
    sent = await marking_failures(ctx, row.id, send(ctx, meta, row, body, url, key, taken_over))
    saved = await record_created(ctx, meta, connection, row, body, sent, linked, deal_id)
    return invoice_out(saved, company_today(meta), can_approve=can_approve), True


async def marking_failures(ctx: InvoiceContext, row_id: str, work: Awaitable[Sent]) -> Sent:
    """Await the sending; a failure marks the row ``failed`` (nothing was created), or
    ``unknown`` (it may have been: lost answer, cancelled, crashed) for the next request."""
    try:
        return await work
    except (ProviderError, AppError) as exc:
        # A lost answer already marked the row unknown; any other refusal created nothing.
        if not (isinstance(exc, ServiceUnavailable) and exc.code == "outcome_unknown"):
            await save_row(
                ctx,
                row_id,
                status=InvoiceStatus.failed,
                lease_until=None,
                failure_reason=exc.message[:2000],
            )
        raise
    except BaseException:
        # Cancelled or crashed mid-way: leave it for the next request to reconcile.
        await asyncio.shield(save_row(ctx, row_id, status=InvoiceStatus.unknown, lease_until=None))
        raise


async def send(
    ctx: InvoiceContext,
    meta: ProviderMeta,
    row: DealInvoice,
    body: InvoiceIn,
    url: str | None,
    key: str,
    taken_over: str | None,
) -> Sent:
    """The contact, then the invoice at the provider (or the one a lost answer created)."""
    totals, _ = compute_totals(meta, body.lines, body.tax_mode, body.global_discount, body.tax_code)
    contact = await write_contact(ctx, meta, row, body)
    contact_id = contact.id if contact else body.customer.contact_id
    assert contact_id is not None
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
        url=url,
        lines=body.lines,
        discount=body.global_discount,
        bill_email=body.customer.email,
    )
    invoice: Invoice | None = None
    if taken_over in (InvoiceStatus.unknown, InvoiceStatus.pending):
        invoice = await reconcile(ctx, meta, row, contact_id, totals.total)
    if invoice is None:
        adapter = ctx.adapter(meta.provider)
        pkey = provider_key(ctx.company_id, key, row.attempt)
        try:
            invoice = await ctx.call(
                meta.provider,
                lambda c: adapter.create_invoice(c, draft, idempotency_key=pkey),
            )
        except ProviderUnavailable as exc:
            invoice = await after_lost_answer(ctx, meta, row, contact_id, totals.total, exc)
    assert invoice is not None
    return Sent(invoice, contact, contact_id)


async def after_lost_answer(
    ctx: InvoiceContext,
    meta: ProviderMeta,
    row: DealInvoice,
    contact_id: str,
    expected: Decimal,
    exc: ProviderUnavailable,
) -> Invoice:
    """Whatever the adapter concluded, a create that got no answer may have been committed:
    look before anyone sends it again; not found → the row is ``unknown`` (503)."""
    try:
        invoice = await reconcile(ctx, meta, row, contact_id, expected)
    except ProviderError:
        invoice = None
    if invoice is not None:
        return invoice
    await save_row(
        ctx, row.id, status=InvoiceStatus.unknown, lease_until=None, failure_reason=exc.message
    )
    raise ServiceUnavailable(
        f"{meta.label} did not confirm the invoice and it was not found there; "
        "try again with the same Idempotency-Key (it will not create a second one).",
        code="outcome_unknown",
    ) from exc


async def reconcile(
    ctx: InvoiceContext, meta: ProviderMeta, row: DealInvoice, contact_id: str, expected: Decimal
) -> Invoice | None:
    """Find an invoice whose create answer was lost: same contact and issue date, our
    reference and total, and not already recorded by us."""
    adapter = ctx.adapter(meta.provider)
    page = await ctx.call(
        meta.provider,
        lambda c: adapter.search_invoices(
            c, contact_id=contact_id, date_from=row.issue_date, date_to=row.issue_date
        ),
    )
    async with ctx.sessionmaker() as session:
        known = await InvoiceRepository(session, ctx.company_id).known_provider_ids(
            meta.provider, [i.id for i in page.items]
        )
    for invoice in page.items:
        if invoice.id in known or invoice.status == "DELETED":
            continue
        same_ref = (invoice.reference or "").startswith(row.reference or "")
        if same_ref and invoice.total == expected and invoice.currency == row.currency:
            return invoice
    return None


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
        return contact
    assert customer.contact_id is not None
    if not customer.update_contact:
        return None
    contact = await provider_contact(
        ctx, meta.provider, customer.contact_id, field="customer.contact_id"
    )
    changes = contact_diff(contact, customer.email, customer.address, customer.tax_id)
    if changes:
        update = contact_input(changes)
        contact = await ctx.call(
            meta.provider, lambda c: adapter.update_contact(c, contact.id, update)
        )
    return contact


async def record_created(
    ctx: InvoiceContext,
    meta: ProviderMeta,
    connection: ProviderConnection,
    row: DealInvoice,
    body: InvoiceIn,
    sent: Sent,
    linked: bool,
    deal_id: int | None,
) -> DealInvoice:
    """One transaction records the invoice, remembers the links and writes the audit entry."""
    invoice, contact = sent.invoice, sent.contact
    url = ctx.adapter(meta.provider).invoice_url(organisation_of(connection), invoice.id)
    async with ctx.sessionmaker() as final:
        saved = await final.get(DealInvoice, row.id)
        assert saved is not None
        saved.status = InvoiceStatus.created
        saved.lease_until = None
        saved.failure_reason = None
        saved.orphan_contact_id = None
        # What the provider's answer leaves empty: the contact as we sent it.
        saved.contact_id = sent.contact_id
        saved.contact_name = (contact.name if contact else None) or body.customer.name
        saved.currency = body.currency
        saved.issue_date, saved.due_date = body.issue_date, body.due_date
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
        final.add(created_event(ctx, meta, body, saved, invoice, deal_id))
        await final.commit()
    return saved


def created_event(
    ctx: InvoiceContext,
    meta: ProviderMeta,
    body: InvoiceIn,
    saved: DealInvoice,
    invoice: Invoice,
    deal_id: int | None,
) -> AuditEvent:
    return AuditEvent(
        company_id=ctx.company_id,
        actor_user_id=ctx.user.id,
        action="invoice.created",
        details={
            "deal_id": deal_id,
            "provider": meta.provider,
            "invoice_row": saved.id,
            "provider_invoice_id": invoice.id,
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
