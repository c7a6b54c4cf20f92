"""Exactly-once invoice creation (called through ``app.invoices.flows.create_invoice``).

1. The reviewed invoice is checked locally first (provider metadata from the cache): a blocking
   check is a 422 naming the field, and nothing is recorded.
2. A ``pending`` row keyed by (company, Idempotency-Key) is committed in its own transaction
   before the provider is called. The unique constraint makes concurrent identical requests
   meet: one wins the insert and works; the others wait for its outcome and answer with the same
   invoice (200). A different body under a used key is refused (422).
3. The contact is created or updated as chosen. A contact we created is recorded on the row at
   once (``orphan_contact_id``), so that a later failure leaves it recorded and shown.
4. The invoice is created as DRAFT with the provider's idempotency (Xero Idempotency-Key,
   QuickBooks requestid), derived from our key and the attempt number.
5. Outcomes: confirmed → ids, number, status, totals (minor units), deep link, links
   remembered, audit entry. Validation error → the row is marked ``failed`` with the reason
   (kept as history; never shown as an invoice) and the provider's message is a 422; the same
   key may then try again (a new attempt, a new provider key). Answer lost (outcome unknown) →
   the invoice is looked up at the provider (same contact and issue date, our reference and
   total, not already ours) before anything is sent again; found → recorded; not found → the row
   is ``unknown`` and the caller retries with the same key, which reconciles first and then
   repeats the create with the same provider key.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from babel.numbers import get_currency_name
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.connections.models import ProviderConnection
from app.db import utcnow
from app.errors import AppError, Conflict, ServiceUnavailable, ValidationFailed
from app.invoices import flows
from app.invoices.metadata import InvoiceContext, organisation_of
from app.invoices.models import DealInvoice, InvoiceStatus
from app.invoices.schemas import Check, InvoiceIn, InvoiceOut, PreviewOut, TotalsOut
from app.invoices.service import (
    CheckInput,
    ProviderMeta,
    blocking,
    compute_totals,
    provider_draft,
    run_checks,
)
from app.providers.base import (
    Contact,
    Invoice,
    ProviderError,
    ProviderUnavailable,
    ProviderValidationError,
)
from app.providers.money import to_minor
from app.providers.xero.spec import role_can_approve
from app.tenants.models import AuditEvent

LEASE = timedelta(seconds=90)
WAIT_SECONDS = 60.0
POLL_SECONDS = 0.05
KEY_MAX = 128


class ChecksFailed(ValidationFailed):
    """The reviewed invoice failed checks: ``checks`` lists each, naming its field."""

    code = "checks_failed"

    def __init__(self, checks: list[Check]) -> None:
        first = checks[0]
        super().__init__(
            " ".join(c.message for c in checks),
            field=first.field,
            extra={"checks": [c.model_dump() for c in checks]},
        )


def request_hash(deal_id: int | None, body: InvoiceIn) -> str:
    payload = json.dumps({"deal_id": deal_id, "body": body.model_dump(mode="json")}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def provider_key(company_id: str, key: str, attempt: int) -> str:
    """The provider's idempotency key: 36 characters (fits Xero's 128 and QuickBooks' 50),
    the same for every retry of one attempt, different for a new attempt after a failure."""
    digest = hashlib.sha256(f"{company_id}:{key}:{attempt}".encode()).hexdigest()
    return str(uuid.UUID(hex=digest[:32]))


def validate_key(key: str | None) -> str:
    if not key or not key.strip():
        raise ValidationFailed(
            "Send an Idempotency-Key header (one per opening of the dialog).",
            field="Idempotency-Key",
        )
    if len(key) > KEY_MAX or not key.isprintable():
        raise ValidationFailed(
            f"The Idempotency-Key must be at most {KEY_MAX} printable characters.",
            field="Idempotency-Key",
        )
    return key.strip()


def validate_currency(code: str) -> None:
    if not code.isalpha() or get_currency_name(code, locale="en") == code:
        raise ValidationFailed(f"{code} is not a known currency code.", field="currency")


@dataclass
class Evaluation:
    """The reviewed invoice as the provider would compute it, and every check."""

    meta: ProviderMeta
    connection: ProviderConnection
    linked: bool
    totals: TotalsOut
    amounts: list[Decimal]
    checks: list[Check]


async def evaluate(ctx: InvoiceContext, session: AsyncSession, body: InvoiceIn) -> Evaluation:
    """Totals and checks of a reviewed invoice, with no provider call (metadata is cached)."""
    validate_currency(body.currency)
    meta, connection = await ctx.meta_cache.connected(ctx, body.provider)
    totals, amounts = compute_totals(
        meta, body.lines, body.tax_mode, body.global_discount, body.tax_code
    )
    contact_currency = body.customer.contact_currency
    contact_name = body.customer.name
    linked = False
    if body.customer.contact_id and body.customer.crm_entity and body.customer.crm_id:
        link = await flows.ContactLinkRepository(session, ctx.company_id).one(
            body.provider, body.customer.crm_entity, body.customer.crm_id
        )
        if link is not None and link.contact_id == body.customer.contact_id:
            contact_currency, contact_name = link.contact_currency, link.contact_name
            linked = True
    if body.customer.create:
        contact_currency = body.currency if body.provider == "quickbooks" else None
    checks = run_checks(
        meta,
        CheckInput(
            currency=body.currency,
            tax_mode=body.tax_mode,
            tax_code=body.tax_code,
            lines=body.lines,
            totals=totals,
            contact_id=body.customer.contact_id,
            creating_contact=body.customer.create,
            contact_name=contact_name,
            contact_currency=contact_currency,
            confirm_zero=body.confirm_zero,
        ),
    )
    return Evaluation(meta, connection, linked, totals, amounts, checks)


async def prepare(
    ctx: InvoiceContext, session: AsyncSession, body: InvoiceIn
) -> tuple[ProviderMeta, ProviderConnection, bool]:
    """Local checks of the reviewed invoice; raises 422 naming the field when it cannot go."""
    result = await evaluate(ctx, session, body)
    stop = blocking(result.checks)
    if stop:
        raise ChecksFailed(stop)
    return result.meta, result.connection, result.linked


async def preview(
    ctx: InvoiceContext, session: AsyncSession, deal_id: int, body: InvoiceIn
) -> PreviewOut:
    """Live totals and checks of the dialog's current invoice (nothing is created)."""
    await flows.ensure_deal(ctx, session, deal_id, body.deal_token)
    result = await evaluate(ctx, session, body)
    return PreviewOut(totals=result.totals, line_amounts=result.amounts, checks=result.checks)


# --- the row ------------------------------------------------------------------------------------


async def claim(
    ctx: InvoiceContext, deal_id: int | None, body: InvoiceIn, key: str, digest: str
) -> tuple[DealInvoice, bool, str | None]:
    """The row for this key, whether this request must work on it (False: it is done), and
    the state it took over (None for a fresh row)."""
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while True:
        async with ctx.sessionmaker() as session:
            row = DealInvoice(
                company_id=ctx.company_id,
                provider=body.provider,
                deal_id=deal_id,
                idempotency_key=key,
                request_hash=digest,
                status=InvoiceStatus.pending,
                lease_until=utcnow() + LEASE,
                currency=body.currency,
                reference=body.reference,
                issue_date=body.issue_date,
                due_date=body.due_date,
                created_by_user_id=ctx.user.id,
                request_body=body.model_dump(mode="json"),
            )
            session.add(row)
            try:
                await session.commit()
                return row, True, None
            except IntegrityError:
                await session.rollback()
        async with ctx.sessionmaker() as session:
            existing = await flows.InvoiceRepository(session, ctx.company_id).by_key(key)
            if existing is None:
                continue
            retry_with_changes = existing.status == InvoiceStatus.failed
            if (existing.request_hash != digest or existing.deal_id != deal_id) and not (
                retry_with_changes and existing.deal_id == deal_id
            ):
                raise ValidationFailed(
                    "This Idempotency-Key was already used for a different invoice; "
                    "open the dialog again to get a new one.",
                    field="Idempotency-Key",
                )
            if existing.status == InvoiceStatus.created:
                return existing, False, None
            lease = existing.lease_until
            if existing.status == InvoiceStatus.pending and lease and lease > utcnow():
                if asyncio.get_running_loop().time() > deadline:
                    raise Conflict(
                        "This invoice is still being created; try again in a moment.",
                        code="in_progress",
                    )
                await asyncio.sleep(POLL_SECONDS)
                continue
            # failed, unknown, or a pending row whose worker died: take it over (compare and
            # swap on status and lease, so exactly one request wins).
            attempt = existing.attempt + (1 if existing.status == InvoiceStatus.failed else 0)
            result = await session.execute(
                update(DealInvoice)
                .where(
                    DealInvoice.id == existing.id,
                    DealInvoice.status == existing.status,
                    DealInvoice.attempt == existing.attempt,
                    DealInvoice.lease_until == existing.lease_until
                    if existing.lease_until is not None
                    else DealInvoice.lease_until.is_(None),
                )
                .values(
                    status=InvoiceStatus.pending,
                    attempt=attempt,
                    lease_until=utcnow() + LEASE,
                    failure_reason=None,
                    # A failed attempt created nothing: the corrected invoice replaces it.
                    request_hash=digest,
                    request_body=body.model_dump(mode="json"),
                    reference=body.reference,
                    currency=body.currency,
                    issue_date=body.issue_date,
                    due_date=body.due_date,
                    updated_at=utcnow(),
                )
            )
            await session.commit()
            if result.rowcount == 1:  # type: ignore[attr-defined]
                refreshed = await session.get(DealInvoice, existing.id, populate_existing=True)
                assert refreshed is not None
                return refreshed, True, existing.status


async def _save(ctx: InvoiceContext, row_id: str, **values: object) -> DealInvoice:
    async with ctx.sessionmaker() as session:
        row = await session.get(DealInvoice, row_id)
        assert row is not None
        for name, value in values.items():
            setattr(row, name, value)
        await session.commit()
        return row


# --- the work -----------------------------------------------------------------------------------


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
        known = await flows.InvoiceRepository(session, ctx.company_id).known_provider_ids(
            meta.provider, [i.id for i in page.items]
        )
    for invoice in page.items:
        if invoice.id in known or invoice.status == "DELETED":
            continue
        same_ref = (invoice.reference or "").startswith(row.reference or "")
        if same_ref and invoice.total == expected and invoice.currency == row.currency:
            return invoice
    return None


async def _contact(
    ctx: InvoiceContext, meta: ProviderMeta, row: DealInvoice, body: InvoiceIn
) -> Contact | None:
    """Create the contact, or update the chosen one where the CRM differs, as the user chose.
    Returns the contact when it was read or written (None: the linked contact, untouched)."""
    adapter = ctx.adapter(meta.provider)
    customer = body.customer
    if customer.create:
        if row.orphan_contact_id:
            return await flows._provider_contact(ctx, meta.provider, row.orphan_contact_id)
        data = flows.contact_data(
            customer.name, customer.email, customer.address, customer.tax_id, body.currency
        )
        contact: Contact = await ctx.call(
            meta.provider,
            lambda c: adapter.create_contact(
                c, data, idempotency_key=provider_key(ctx.company_id, row.idempotency_key, 0)
            ),
        )
        # Recorded at once: if the invoice then fails, the contact is still accounted for.
        await _save(
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
    contact = await flows._provider_contact(
        ctx, meta.provider, customer.contact_id, field="customer.contact_id"
    )
    changes = flows.contact_diff(contact, customer.email, customer.address, customer.tax_id)
    if changes:
        data = flows.contact_input(changes)
        contact = await ctx.call(
            meta.provider, lambda c: adapter.update_contact(c, contact.id, data)
        )
    return contact


async def _remember(
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
        known = await flows.ContactLinkRepository(session, ctx.company_id).one(
            body.provider, customer.crm_entity, customer.crm_id
        )
        if known is None or known.contact_id != contact_id:
            await flows.remember_contact(
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
    links = await flows.ItemLinkRepository(session, ctx.company_id).for_products(
        body.provider, [line.crm_product_id for line in chosen if line.crm_product_id]
    )
    for line in chosen:
        assert line.crm_product_id is not None
        if line.crm_product_id not in links:
            await flows.remember_item(
                session,
                ctx.company_id,
                body.provider,
                line.crm_product_id,
                line.item_id or line.item_code or "",
                line.item_code,
                line.description.splitlines()[0][:255],
            )


async def create_invoice(
    ctx: InvoiceContext,
    session: AsyncSession,
    deal_id: int | None,
    body: InvoiceIn,
    key: str | None,
) -> tuple[InvoiceOut, bool]:
    """Create the reviewed invoice exactly once per Idempotency-Key. Returns the invoice and
    whether this call created it (False: an earlier call with the key did). ``deal_id`` None
    creates an invoice of no deal (Pipedrive's Invoicing extension): no deal is read and the
    provider invoice carries no deal URL."""
    key = validate_key(key)
    # The deal first: another company's deal is a 404 whatever else is wrong with the body.
    url = (
        await flows.ensure_deal(ctx, session, deal_id, body.deal_token)
        if deal_id is not None
        else None
    )
    meta, connection, linked = await prepare(ctx, session, body)
    digest = request_hash(deal_id, body)
    row, work, taken_over = await claim(ctx, deal_id, body, key, digest)
    if not work:
        return flows.invoice_out(
            row,
            flows.company_today(meta),
            can_approve=role_can_approve(connection.provider_role),
        ), False
    totals, _ = compute_totals(meta, body.lines, body.tax_mode, body.global_discount, body.tax_code)
    try:
        contact = await _contact(ctx, meta, row, body)
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
                # Whatever the adapter concluded, a create that got no answer may have been
                # committed: look before anyone sends it again.
                try:
                    invoice = await reconcile(ctx, meta, row, contact_id, totals.total)
                except ProviderError:
                    invoice = None
                if invoice is None:
                    await _save(
                        ctx,
                        row.id,
                        status=InvoiceStatus.unknown,
                        lease_until=None,
                        failure_reason=exc.message,
                    )
                    raise ServiceUnavailable(
                        f"{meta.label} did not confirm the invoice and it was not found there; "
                        "try again with the same Idempotency-Key (it will not create a second "
                        "one).",
                        code="outcome_unknown",
                    ) from exc
    except ProviderValidationError as exc:
        await _save(
            ctx,
            row.id,
            status=InvoiceStatus.failed,
            lease_until=None,
            failure_reason=exc.message[:2000],
        )
        raise
    except (ProviderError, AppError) as exc:
        if not isinstance(exc, ServiceUnavailable) or getattr(exc, "code", "") != "outcome_unknown":
            await _save(
                ctx,
                row.id,
                status=InvoiceStatus.failed,
                lease_until=None,
                failure_reason=exc.message[:2000],
            )
        raise
    except BaseException:
        # Cancelled or crashed mid-way: leave it for the next request to reconcile.
        await asyncio.shield(_save(ctx, row.id, status=InvoiceStatus.unknown, lease_until=None))
        raise
    assert invoice is not None
    organisation = organisation_of(connection)
    adapter = ctx.adapter(meta.provider)
    currency = invoice.currency or body.currency
    # One transaction records the invoice, remembers the links and writes the audit entry.
    async with ctx.sessionmaker() as final:
        saved = await final.get(DealInvoice, row.id)
        assert saved is not None
        saved.status = InvoiceStatus.created
        saved.lease_until = None
        saved.failure_reason = None
        saved.orphan_contact_id = None
        saved.provider_invoice_id = invoice.id
        saved.number = invoice.number
        saved.provider_status = invoice.status
        saved.contact_id = invoice.contact_id or contact_id
        saved.contact_name = (
            invoice.contact_name or (contact.name if contact else None) or body.customer.name
        )
        saved.currency = currency
        saved.issue_date = invoice.issue_date or body.issue_date
        saved.due_date = invoice.due_date or body.due_date
        saved.subtotal_minor = to_minor(invoice.subtotal, currency)
        saved.tax_minor = to_minor(invoice.total_tax, currency)
        saved.total_minor = to_minor(invoice.total, currency)
        saved.amount_due_minor = to_minor(invoice.amount_due, currency)
        saved.amount_paid_minor = to_minor(invoice.amount_paid, currency)
        saved.url = adapter.invoice_url(organisation, invoice.id)
        await _remember(
            final,
            ctx,
            body,
            saved.contact_id,
            saved.contact_name or "",
            contact.currency if contact else None,
            contact_known=linked and contact is None,
        )
        final.add(
            AuditEvent(
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
                    "currency": currency,
                    "contact_created": body.customer.create,
                    "contact_updated": bool(body.customer.update_contact),
                },
            )
        )
        await final.commit()
    return flows.invoice_out(
        saved, flows.company_today(meta), can_approve=role_can_approve(connection.provider_role)
    ), True
