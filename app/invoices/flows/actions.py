"""Acting on an invoice at the provider: submit, approve, void, delete, email, PDF, share link.

One service for every surface: the deal panel's buttons and Pipedrive's Invoicing extension
(postInvoiceStatus, postInvoiceEmail, getInvoicePDF, getInvoiceShareUrl). An action is carried
out only when the invoice offers it in its current state, as ``app.providers.view`` decides it
(approval only when the connection's role may approve); otherwise 409. Each action keeps our
row (when the invoice is one we created) in step and writes an audit entry.

Exactly one effect when answers are lost and callers repeat: a status change the invoice has
already reached is answered with the invoice as it is (nothing sent, nothing audited), and an
email carries a provider idempotency key derived from the caller's Idempotency-Key, so a
repeat with the same key sends no second email.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.connections.models import ProviderConnection
from app.errors import Conflict, NotFound
from app.invoices.context import InvoiceContext, live_connection
from app.invoices.flows.apply import apply_invoice
from app.invoices.flows.changelog import ACTION_EVENTS, record_event
from app.invoices.models import DealInvoice
from app.invoices.repository import InvoiceRepository
from app.invoices.rules.dates import company_today
from app.kit.signing import derived_key
from app.providers.base import AccountingProvider, Invoice, ProviderNotFound
from app.providers.view import OPERATIONS, InvoiceView, invoice_view
from app.tenants.permissions import Permission, permissions_of, require

# Actions that change the invoice at the provider (the others read: PDF, share link).
CHANGING = ("SUBMITTED", "AUTHORISED", "VOIDED", "DELETED", "EMAIL")
# The permission each changing action needs (app.tenants.permissions); reading needs none.
ACTION_PERMISSIONS = {
    "SUBMITTED": Permission.submit,
    "AUTHORISED": Permission.approve,
    "VOIDED": Permission.void,
    "DELETED": Permission.delete,
    "EMAIL": Permission.email,
}


def action_permitted(action_id: str, permissions: frozenset[Permission]) -> bool:
    """Whether a user with ``permissions`` is offered ``action_id`` (reads always are)."""
    needed = ACTION_PERMISSIONS.get(action_id)
    return needed is None or needed in permissions


def permitted(view: InvoiceView, permissions: frozenset[Permission]) -> InvoiceView:
    """The view with only the actions the user may take: the provider's state decides what
    the invoice offers, the user's role what of it they are offered."""
    kept = tuple(a for a in view.actions if action_permitted(a.id, permissions))
    return view if kept == view.actions else view.model_copy(update={"actions": kept})


@dataclass
class Acted:
    """The invoice after an action, its view (actions offered now) and our row, if ours."""

    invoice: Invoice
    view: InvoiceView
    row: DealInvoice | None


def view_of(
    adapter: AccountingProvider, connection: ProviderConnection, invoice: Invoice, today: date
) -> InvoiceView:
    """The invoice's view for this connection: approval only when its role may approve."""
    return invoice_view(
        connection.provider,
        invoice,
        today=today,
        can_approve=adapter.can_approve(connection.provider_role),
    )


async def provider_invoice(ctx: InvoiceContext, provider: str, invoice_id: str) -> Invoice:
    """The invoice as the provider has it now (404 naming ``invoiceId`` when it has none)."""
    adapter = ctx.adapter(provider)
    try:
        invoice: Invoice = await ctx.call(provider, lambda c: adapter.get_invoice(c, invoice_id))
    except ProviderNotFound as exc:
        raise NotFound(f"There is no invoice {invoice_id}.", field="invoiceId") from exc
    return invoice


async def act(
    ctx: InvoiceContext,
    session: AsyncSession,
    provider: str,
    invoice_id: str,
    action: str,
    *,
    today: date,
    via: str,
    connection: ProviderConnection | None = None,
    key: str | None = None,
    deal_id: int | None = None,
) -> Acted:
    """Carry out ``action`` (SUBMITTED, AUTHORISED, VOIDED, DELETED or EMAIL) on the provider's
    invoice, if its current state offers it (else 409 ``illegal_action``); a status it has
    already reached is answered as done. ``key`` (the caller's Idempotency-Key) makes a
    repeated email send nothing more. The user's role must allow the action (403 naming the
    permission, before any call). ``deal_id``: the deal it was done from, for the changelog
    (else the deal the invoice was created from). The session is flushed, not committed."""
    if action in ACTION_PERMISSIONS:
        await require(session, ctx.user, ACTION_PERMISSIONS[action])
    allowed = await permissions_of(session, ctx.user)
    connection = connection or await live_connection(ctx, provider, session)
    adapter = ctx.adapter(provider)
    current = await provider_invoice(ctx, provider, invoice_id)
    view = permitted(view_of(adapter, connection, current, today), allowed)
    if action in CHANGING and action != "EMAIL" and current.status == action:
        row = await record(ctx, session, provider, current, action, via, audit=False)
        return Acted(current, view, row)
    if action not in CHANGING or not view.allows(action):
        raise Conflict(
            f"The invoice is {view.status_label}: it cannot be "
            f"{'emailed' if action == 'EMAIL' else action.lower()} now.",
            field="id",
            code="illegal_action",
        )
    method = getattr(adapter, OPERATIONS[action])
    options = {}
    if action == "EMAIL" and key:
        options["idempotency_key"] = action_key(ctx.company_id, provider, invoice_id, action, key)
    changed: Invoice = await ctx.call(provider, lambda c: method(c, invoice_id, **options))
    row = await record(ctx, session, provider, changed, action, via, deal_id=deal_id)
    return Acted(changed, permitted(view_of(adapter, connection, changed, today), allowed), row)


async def record(
    ctx: InvoiceContext,
    session: AsyncSession,
    provider: str,
    invoice: Invoice,
    action: str,
    via: str,
    *,
    audit: bool = True,
    deal_id: int | None = None,
) -> DealInvoice | None:
    """Keep our row (when the invoice is one we created) in step, and audit the action."""
    row = await InvoiceRepository(session, ctx.company_id).created_with_provider_id(
        provider, invoice.id
    )
    if row is not None:
        apply_invoice(row, invoice)
    if not audit:
        await session.flush()
        return row
    await record_event(
        session,
        ctx.company_id,
        ACTION_EVENTS[action],
        actor=ctx.user,
        deal_id=deal_id if deal_id is not None else (row.deal_id if row is not None else None),
        provider=provider,
        provider_invoice_id=invoice.id,
        details={"via": via, "action": action, "status": invoice.status, "number": invoice.number},
    )
    return row


def action_key(company_id: str, provider: str, invoice_id: str, action: str, key: str) -> str:
    """The provider idempotency key of one caller's action: 36 characters (fits Xero's 128
    and QuickBooks' 50), the same for every repeat of that caller's request."""
    return derived_key(company_id, provider, invoice_id, action, key)


async def share_url(ctx: InvoiceContext, provider: str, invoice_id: str) -> str:
    """The customer's online link to the invoice (409 until the provider has one)."""
    await live_connection(ctx, provider)
    await provider_invoice(ctx, provider, invoice_id)
    adapter = ctx.adapter(provider)
    url: str | None = await ctx.call(provider, lambda c: adapter.share_url(c, invoice_id))
    if not url:
        raise Conflict(
            "This invoice has no customer link yet (it must be approved first).",
            field="invoiceId",
            code="not_shareable",
        )
    return url


async def invoice_pdf(ctx: InvoiceContext, provider: str, invoice_id: str) -> tuple[bytes, str]:
    """The PDF and its file name (the invoice number, else its id), made filename-safe."""
    await live_connection(ctx, provider)
    inv = await provider_invoice(ctx, provider, invoice_id)
    adapter = ctx.adapter(provider)
    content: bytes = await ctx.call(provider, lambda c: adapter.invoice_pdf(c, invoice_id))
    stem = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in (inv.number or inv.id))
    return content, f"{stem or 'invoice'}.pdf"


async def deal_invoice(
    session: AsyncSession, company_id: str, deal_id: int, row_id: str
) -> tuple[DealInvoice, str]:
    """The deal's created invoice ``row_id`` (404 for anything else) and its provider id."""
    repo = InvoiceRepository(session, company_id)
    row = await repo.get(row_id)
    if row is None or row.status != "created" or not await repo.is_linked(row.id, deal_id):
        raise NotFound("This invoice is not one of the deal's invoices.", field="invoice_id")
    assert row.provider_invoice_id is not None
    return row, row.provider_invoice_id


async def act_on_deal_invoice(
    ctx: InvoiceContext,
    session: AsyncSession,
    deal_id: int,
    row_id: str,
    action: str,
    *,
    via: str,
    key: str | None = None,
) -> Acted:
    """``act`` on one of the deal's invoices, by our row's id (the panel and the JSON API)."""
    row, invoice_id = await deal_invoice(session, ctx.company_id, deal_id, row_id)
    meta, connection = await ctx.meta_cache.connected(ctx, row.provider, session)
    return await act(
        ctx,
        session,
        row.provider,
        invoice_id,
        action.upper(),
        today=company_today(meta),
        via=via,
        connection=connection,
        key=key,
        deal_id=deal_id,
    )
