"""The deal panel (Jinja2 + htmx): the deal's invoices, and acting on one of them.

Pipedrive loads ``/pipedrive/panel?resource=deal&selectedIds={deal}&token=...`` in the deal's
custom UI panel (pipedrive.md §3.1); the sandbox's deal page embeds it the same way, and it
opens standalone with our session. Every fragment answers htmx with HTML, and every failure
with a message saying what happened and what to do (status 4xx, which the panel's htmx
configuration swaps in like a success).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.pipedrive.schemas import PipedriveId
from app.errors import AppError, NotFound
from app.invoices import flows
from app.invoices.context import paused_connections
from app.invoices.flows.contact_invoices import refresh_contacts
from app.invoices.flows.parts import billing_of
from app.invoices.flows.recurring import list_schedules
from app.invoices.flows.sync import refresh_deal
from app.invoices.models import DealInvoice
from app.invoices.pages.common import (
    PANEL,
    common,
    connected_providers,
    deal_id_of,
    problem,
    renewals_due,
    theme,
)
from app.invoices.repository import InvoiceRepository
from app.tenants.dependencies import PageUser
from app.tenants.models import CrmUser
from app.tenants.permissions import Permission, may
from app.web import DbSession, SettingsDep, render, unmetered

router = APIRouter(include_in_schema=False)


def list_version(rows: Sequence[DealInvoice]) -> str:
    """A fingerprint of what the deal's list shows: it changes when any invoice's status,
    amounts or number changes (a webhook applied by the worker, an action, a new invoice)."""
    digest = hashlib.sha256()
    for row in sorted(rows, key=lambda r: r.id):
        digest.update(
            f"{row.id}|{row.status}|{row.provider_status}|{row.number}|{row.total_minor}|"
            f"{row.amount_due_minor}|{row.amount_paid_minor}|{row.due_date}\n".encode()
        )
    return digest.hexdigest()[:16]


async def invoices_context(
    request: Request, session: AsyncSession, user: CrmUser, deal_id: int
) -> dict[str, Any]:
    ctx = flows.context(request, user)
    invoices = await flows.list_invoices(ctx, session, deal_id)
    rows = await InvoiceRepository(session, user.company_id).of_deal(deal_id)
    # Invoiced in parts: what is invoiced so far and what is left (our rows only, no call).
    billing = None
    if any(r.part_kind for r in rows):
        billing = await billing_of(ctx, session, deal_id, list(rows), [])
    schedules = await list_schedules(ctx, session, deal_id, read=False)
    return {
        "invoices": invoices,
        "list_version": list_version(rows),
        "billing": billing,
        "schedules": schedules,
    }


@router.get(PANEL)
async def panel_page(
    request: Request, session: DbSession, settings: SettingsDep, user: PageUser
) -> Response:
    """The deal's invoices and the Create invoice button (Pipedrive's custom UI panel)."""
    deal_id = deal_id_of(request)
    providers = await connected_providers(session, user.company_id)
    # A provider that keeps failing is paused: say so up front, with when it is tried again.
    paused = await paused_connections(flows.context(request, user), session)
    context = common(
        request,
        user,
        deal_id,
        theme=theme(request),
        providers=providers,
        paused=paused,
        # Inside Pipedrive the Create invoice button opens this custom modal (pipedrive.js).
        modal_id=settings.pipedrive.modal_id,
        renewals=await renewals_due(session, user.company_id),
        # The Create invoice button only for roles that may create (app.tenants.permissions).
        can_create=await may(session, user, Permission.create),
    )
    try:
        context.update(await invoices_context(request, session, user, deal_id))
    except NotFound:
        raise
    except AppError as exc:
        context.update(invoices=[], list_error=exc.message)
    return render(request, "invoices/panel.html", **context)


async def list_with_message(
    request: Request,
    session: AsyncSession,
    user: CrmUser,
    deal_id: int,
    notice: str | None,
    error: str | None,
) -> Response:
    """The deal's list after an action, with what the action said (or the page's problem when
    the list itself cannot be read)."""
    try:
        context = await invoices_context(request, session, user, deal_id)
    except AppError as exc:
        return problem(request, exc)
    return render(
        request,
        "invoices/_list.html",
        **common(request, user, deal_id, action_notice=notice, action_error=error, **context),
    )


@router.get(PANEL + "/{deal_id}/invoices")
async def invoices_fragment(
    deal_id: PipedriveId, request: Request, session: DbSession, user: PageUser
) -> Response:
    """The list alone (refreshed after an invoice is created)."""
    return await list_with_message(request, session, user, deal_id, None, None)


@router.get(PANEL + "/{deal_id}/invoices/version")
@unmetered
async def invoices_version(
    deal_id: PipedriveId, session: DbSession, user: PageUser, v: str = ""
) -> Response:
    """Polled by an open panel every few seconds: 204 while the list is as shown (``v``),
    else an ``invoices-changed`` trigger that reloads it. Reads only our rows: no call to
    Pipedrive or the provider until something changed. Not counted in the company's request
    budget: every open panel polls, and that must not crowd out what people do."""
    rows = await InvoiceRepository(session, user.company_id).of_deal(deal_id)
    if list_version(rows) == v:
        return Response(status_code=204)
    return Response(status_code=200, headers={"HX-Trigger": "invoices-changed"})


@router.post(PANEL + "/{deal_id}/invoices/refresh")
async def invoices_refresh(
    deal_id: PipedriveId, request: Request, session: DbSession, user: PageUser
) -> Response:
    """The panel's refresh: re-read the deal's invoices at their providers now (the status
    sync's own flow), and the linked contact's invoices behind the totals and "View all"."""
    notice: str | None = None
    error: str | None = None
    ctx = flows.context(request, user)
    try:
        report = await refresh_deal(ctx, session, deal_id)
        await refresh_contacts(ctx, session, deal_id)
        notice = "Up to date." if not report.updated else f"Updated {report.updated} invoice(s)."
    except AppError as exc:
        error = f"Could not refresh: {exc.message}"
    response = await list_with_message(request, session, user, deal_id, notice, error)
    # The totals (and an open "View all") show the refreshed rows too.
    response.headers["HX-Trigger"] = "contact-changed"
    return response


# What each status action is called in the sentence that confirms it.
DONE = {
    "SUBMITTED": "submitted for approval",
    "AUTHORISED": "approved",
    "VOIDED": "voided",
    "DELETED": "deleted",
    "EMAIL": "sent by email",
}


async def listed(
    session: AsyncSession, user: CrmUser, deal_id: PipedriveId, row_id: str
) -> tuple[Any, str]:
    """The deal's created invoice ``row_id`` (404 for anything else) and its provider id."""
    return await flows.deal_invoice(session, user.company_id, deal_id, row_id)


@router.post(PANEL + "/{deal_id}/invoices/{row_id}/actions/{action}")
async def invoice_action(
    deal_id: PipedriveId,
    row_id: str,
    action: str,
    request: Request,
    session: DbSession,
    user: PageUser,
) -> Response:
    """Submit, approve, void, delete or email one of the deal's invoices (the same service as
    the extension's postInvoiceStatus / postInvoiceEmail), then the refreshed list with a line
    saying what happened, or why not."""
    ctx = flows.context(request, user)
    notice: str | None = None
    error: str | None = None
    try:
        done = await flows.act_on_deal_invoice(
            ctx,
            session,
            deal_id,
            row_id,
            action,
            via="deal_panel",
            key=request.headers.get("Idempotency-Key"),
        )
        notice = f"Invoice {done.invoice.number or ''} {DONE[action.upper()]}.".replace("  ", " ")
    except AppError as exc:
        error = exc.message
    # The list is read in the same session, so it shows the row the action just updated.
    return await list_with_message(request, session, user, deal_id, notice, error)


@router.post(PANEL + "/{deal_id}/invoices/{row_id}/share")
async def invoice_share(
    deal_id: PipedriveId, row_id: str, request: Request, session: DbSession, user: PageUser
) -> Response:
    """The customer's link to the invoice, to copy (the extension's getInvoiceShareUrl)."""
    try:
        row, invoice_id = await listed(session, user, deal_id, row_id)
        url = await flows.invoice_share_url(flows.context(request, user), row.provider, invoice_id)
    except AppError as exc:
        return problem(request, exc)
    return render(request, "invoices/_share.html", url=url, row_id=row_id)


@router.get(PANEL + "/{deal_id}/invoices/{row_id}/pdf")
async def invoice_pdf(
    deal_id: PipedriveId, row_id: str, request: Request, session: DbSession, user: PageUser
) -> Response:
    """The invoice's PDF (the extension's getInvoicePDF), as a download."""
    try:
        row, invoice_id = await listed(session, user, deal_id, row_id)
        content, filename = await flows.invoice_pdf(
            flows.context(request, user), row.provider, invoice_id
        )
    except AppError as exc:
        return problem(request, exc)
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
