"""The Create invoice dialog: opened prefilled from the draft, reviewed live while the user
edits, and submitted to create the invoice exactly once."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.crm.pipedrive.schemas import PipedriveId
from app.errors import AppError
from app.invoices import flows
from app.invoices.context import InvoiceContext
from app.invoices.flows.linking import check_provider
from app.invoices.flows.parts import deal_billing
from app.invoices.flows.review import ChecksFailed, review_invoice
from app.invoices.pages.common import PANEL, common, keeps_key, options, problem
from app.invoices.pages.forms import (
    PROVIDER_LABELS,
    Parsed,
    draft_lines,
    group_checks,
    invoice_from_form,
    money,
    plain,
    slot_of_field,
    slots,
)
from app.invoices.pages.numbers import user_locale
from app.invoices.rules.meta import ProviderMeta
from app.invoices.rules.totals import compute_totals
from app.invoices.schemas import Check, TotalsOut
from app.tenants.dependencies import PageUser
from app.tenants.models import CrmUser
from app.web import DbSession, render

router = APIRouter(include_in_schema=False)


async def templates_of(ctx: InvoiceContext, meta: ProviderMeta) -> list[Any]:
    if not meta.features.templates:
        return []
    adapter = ctx.adapter(meta.provider)
    try:
        return list(await ctx.call(meta.provider, adapter.list_templates))
    except AppError:
        return []


async def dialog_context(
    request: Request, session: AsyncSession, user: CrmUser, deal_id: int, provider: str
) -> dict[str, Any]:
    """Everything the Create invoice dialog shows, prefilled from the draft (raises AppError:
    the panel's fragment shows it in place, the custom modal's page as its status)."""
    ctx = flows.context(request, user)
    draft = await flows.build_draft(ctx, session, deal_id, provider)
    billing = await deal_billing(ctx, session, deal_id, read=False)
    meta = await ctx.meta_cache.get(ctx, provider)
    templates = await templates_of(ctx, meta)
    paused = await ctx.paused(provider, meta.organisation.id)
    locale = user_locale(user.locale)
    views = draft_lines(draft, locale)
    totals, amounts = compute_totals(
        meta, draft.lines, draft.details.tax_mode, draft.global_discount, draft.details.tax_code
    )
    for view, amount in zip(views, amounts, strict=False):
        view.amount = money(amount, draft.details.currency)
    live = [c for c in draft.checks if c.code not in DRAFT_ONLY]
    notes = [c for c in draft.checks if c.code in DRAFT_ONLY]
    return {
        **common(request, user, deal_id),
        "provider": provider,
        "label": PROVIDER_LABELS[provider],
        "draft": draft,
        "customer": draft.customer,
        "details": draft.details,
        "lines": views,
        "totals": totals,
        "currency": draft.details.currency,
        "checks": group_checks(live, views),
        "notes": group_checks(notes, views),
        "slots": slots(views),
        "templates": templates,
        "paused": paused,
        "billing": billing,
        # Each opening gets its own Idempotency-Key, so a double click (or a retry after a
        # lost answer) creates once.
        "idempotency_key": str(uuid.uuid4()),
        "num": lambda value: plain(value, locale),
        "needs_confirm": any(c.code == "zero_total" for c in draft.checks),
        "tax_confirm": any(c.code == "tax_differs" for c in draft.checks),
        **options(meta),
    }


@router.get(PANEL + "/{deal_id}/dialog")
async def dialog_fragment(
    deal_id: PipedriveId,
    request: Request,
    session: DbSession,
    user: PageUser,
    provider: str = "xero",
) -> Response:
    """The Create invoice dialog for one provider, prefilled from the draft (the panel's own
    dialog outside Pipedrive)."""
    try:
        context = await dialog_context(request, session, user, deal_id, provider)
    except AppError as exc:
        return problem(request, exc, in_dialog=True)
    return render(request, "invoices/_dialog.html", **context)


# Findings of the draft builder that the live review cannot see again (they come from the
# CRM): shown as notes beside their field, not replaced while the user edits.
DRAFT_ONLY = {
    "mapping_to",
    "mapping_address",
    "mapping_email",
    "mapping_tax_id",
    "tax_methods_mixed",
    "product_deleted",
    "contact_gone",
    "no_products",
}


def review_response(
    request: Request,
    parsed: Parsed,
    currency: str,
    totals: TotalsOut | None,
    amounts: list[Any],
    checks: list[Check],
    **extra: Any,
) -> Response:
    grouped = group_checks(checks, parsed.lines)
    confirmed_zero = bool(parsed.body and parsed.body.confirm_zero)
    for slot, message in parsed.errors.items():
        grouped.setdefault(slot, []).insert(
            0, Check(code="input", severity="error", field=None, message=message)
        )
    return render(
        request,
        "invoices/_review.html",
        totals=totals,
        currency=currency,
        money=money,
        lines=parsed.lines,
        amounts=[money(a, currency) for a in amounts],
        checks=grouped,
        slots=slots(parsed.lines),
        needs_confirm=any(c.code == "zero_total" for c in checks) or confirmed_zero,
        confirmed=confirmed_zero,
        # Stays on screen once ticked: the warning it turns the check into says what was seen.
        tax_confirm=any(c.code == "tax_differs" for c in checks),
        tax_confirmed=bool(parsed.body and parsed.body.accept_tax_difference),
        **extra,
    )


@router.post(PANEL + "/{deal_id}/review")
async def review_fragment(
    deal_id: PipedriveId, request: Request, session: DbSession, user: PageUser, provider: str
) -> Response:
    """Live totals and checks while the user edits (computed by the server, as the provider
    will compute them)."""
    form = await request.form()
    parsed = invoice_from_form(
        form, check_provider(provider), review=True, locale=user_locale(user.locale)
    )
    currency = str(form.get("currency") or "USD").upper()
    if parsed.body is None:
        return review_response(request, parsed, currency, None, [], [])
    try:
        totals, amounts, checks = await review_invoice(
            flows.context(request, user), session, parsed.body
        )
    except AppError as exc:
        return problem(request, exc)
    return review_response(request, parsed, currency, totals, amounts, checks)


@router.post(PANEL + "/{deal_id}/invoices")
async def create_fragment(
    deal_id: PipedriveId, request: Request, session: DbSession, user: PageUser, provider: str
) -> Response:
    """Create the invoice from the dialog (its Idempotency-Key in the form): the success state
    with the link to the invoice, or the messages beside the fields they name."""
    form = await request.form()
    parsed = invoice_from_form(form, check_provider(provider), locale=user_locale(user.locale))
    currency = str(form.get("currency") or "USD").upper()
    key = str(form.get("idempotency_key") or "")
    if parsed.body is None:
        response = review_response(request, parsed, currency, None, [], [], failed=True)
        response.status_code = 422
        return response
    ctx = flows.context(request, user)
    try:
        invoice, created = await flows.create_invoice(ctx, session, deal_id, parsed.body, key)
    except ChecksFailed as exc:
        checks = [Check.model_validate(c) for c in exc.extra.get("checks", [])]
        totals, amounts, _ = await review_invoice(ctx, session, parsed.body)
        response = review_response(request, parsed, currency, totals, amounts, checks, failed=True)
        response.status_code = 422
        return response
    except AppError as exc:
        await session.rollback()
        field_slot = slot_of_field(exc.field, parsed.lines) if exc.field else "form"
        if field_slot == "form" or exc.field == "Idempotency-Key":
            field_slot = "form"
        return render(
            request,
            "invoices/_create_failed.html",
            status_code=exc.status_code if exc.status_code < 500 else 503,
            message=exc.message,
            slot=field_slot,
            new_key=None if keeps_key(exc) else str(uuid.uuid4()),
            reconnect_url=exc.extra.get("reconnect_url") or exc.extra.get("connect_url"),
            label=PROVIDER_LABELS[provider],
        )
    billing = None
    if parsed.body.part is not None:
        billing = await deal_billing(ctx, session, deal_id, read=False, installments=False)
    response = render(
        request,
        "invoices/_created.html",
        **common(request, user, deal_id),
        invoice=invoice,
        created=created,
        billing=billing,
        label=PROVIDER_LABELS[invoice.provider],
    )
    # The success state replaces the whole form (nothing is left to submit twice).
    response.headers["HX-Retarget"] = "#dialog-body"
    response.headers["HX-Reswap"] = "innerHTML"
    response.headers["HX-Trigger"] = "invoices-changed"
    return response
