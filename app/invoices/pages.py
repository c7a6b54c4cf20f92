"""The deal panel (Jinja2 + htmx): the deal's invoices and the Create invoice dialog.

Pipedrive loads ``/pipedrive/panel?resource=deal&selectedIds={deal}&token=...`` in the deal's
custom UI panel (pipedrive.md §3.1); the sandbox's deal page embeds it the same way, and it
opens standalone with our session. Every fragment below answers htmx with HTML, and every
failure with a message saying what happened and what to do (status 4xx, which the panel's
htmx configuration swaps in like a success).
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.connections.models import ConnectionStatus, ProviderConnection
from app.crm.pipedrive.iframe import PageUser
from app.errors import AppError, NotFound, ValidationFailed
from app.invoices import flows
from app.invoices.creation import ChecksFailed, validate_currency
from app.invoices.metadata import InvoiceContext
from app.invoices.page_forms import (
    PROVIDER_LABELS,
    TAX_MODE_LABELS,
    LineView,
    Parsed,
    day,
    draft_lines,
    group_checks,
    invoice_from_form,
    lines_from_form,
    money,
    slot_of_field,
    slots,
)
from app.invoices.schemas import Check, CustomerOut, InvoiceIn, TotalsOut
from app.invoices.service import CheckInput, ProviderMeta, compute_totals, run_checks
from app.tenants.models import CrmUser
from app.web import DbSession, render

router = APIRouter(include_in_schema=False)

PANEL = "/pipedrive/panel"
# Outcomes that must be retried with the same key (the invoice may exist); any other failure
# left nothing at the provider, so the dialog gets a fresh key and the user can edit and retry.
KEEP_KEY = {"outcome_unknown", "in_progress"}


def _theme(request: Request) -> str:
    theme = request.query_params.get("theme")
    return theme if theme in ("light", "dark") else "auto"


def _deal_id(request: Request) -> int:
    raw = request.query_params.get("selectedIds") or request.query_params.get("deal_id") or ""
    first = raw.split(",")[0].strip()
    if not first.isdigit():
        raise ValidationFailed(
            "Open this panel from a deal in Pipedrive (no deal id was given).",
            field="selectedIds",
        )
    return int(first)


async def connected_providers(session: AsyncSession, company_id: str) -> dict[str, str]:
    """The company's providers that are connected or need reconnecting (provider → status)."""
    rows = (
        await session.execute(
            select(ProviderConnection.provider, ProviderConnection.status).where(
                ProviderConnection.company_id == company_id,
                ProviderConnection.status != ConnectionStatus.disconnected.value,
            )
        )
    ).all()
    return {p: s for p, s in sorted(rows, key=lambda r: list(PROVIDER_LABELS).index(r[0]))}


def _common(request: Request, user: CrmUser, deal_id: int, **extra: Any) -> dict[str, Any]:
    return {
        "user": user,
        "deal_id": deal_id,
        "panel": PANEL,
        "labels": PROVIDER_LABELS,
        "money": money,
        "day": day,
        "session_token": getattr(request.state, "session_token", None),
        **extra,
    }


def _problem(request: Request, exc: AppError, **extra: Any) -> Response:
    """A failure as a message in place: what happened, and what to do about it."""
    reconnect = exc.extra.get("reconnect_url") or exc.extra.get("connect_url")
    return render(
        request,
        "invoices/_problem.html",
        status_code=exc.status_code if exc.status_code < 500 else 503,
        message=exc.message,
        reconnect_url=reconnect,
        **extra,
    )


# --- the panel ----------------------------------------------------------------------------------


async def _invoices_context(
    request: Request, session: AsyncSession, user: CrmUser, deal_id: int
) -> dict[str, Any]:
    ctx = flows.context(request, user)
    invoices = await flows.list_invoices(ctx, session, deal_id)
    return {"invoices": invoices}


@router.get(PANEL)
async def panel_page(request: Request, session: DbSession, user: PageUser) -> Response:
    """The deal's invoices and the Create invoice button (Pipedrive's custom UI panel)."""
    deal_id = _deal_id(request)
    providers = await connected_providers(session, user.company_id)
    context = _common(request, user, deal_id, theme=_theme(request), providers=providers)
    try:
        context.update(await _invoices_context(request, session, user, deal_id))
    except NotFound:
        raise
    except AppError as exc:
        context.update(invoices=[], list_error=exc.message)
    return render(request, "invoices/panel.html", **context)


@router.get(PANEL + "/{deal_id}/invoices")
async def invoices_fragment(
    deal_id: int, request: Request, session: DbSession, user: PageUser
) -> Response:
    """The list alone (refreshed after an invoice is created)."""
    try:
        context = await _invoices_context(request, session, user, deal_id)
    except AppError as exc:
        return _problem(request, exc)
    return render(request, "invoices/_list.html", **_common(request, user, deal_id, **context))


# --- the dialog ---------------------------------------------------------------------------------


def _options(meta: ProviderMeta) -> dict[str, Any]:
    return {
        "meta": meta,
        "tax_modes": [
            (m.value, text) for m, text in TAX_MODE_LABELS.items() if m in meta.features.tax_modes
        ],
        "mode_labels": TAX_MODE_LABELS,
        "tax_rates": [r for r in meta.tax_rates if r.can_apply_to_revenue],
        "currencies": meta.currencies,
        "per_line_tax": meta.features.tax_option == "multiple",
        "line_discounts": meta.features.line_discount,
    }


async def _templates(ctx: InvoiceContext, meta: ProviderMeta) -> list[Any]:
    if not meta.features.templates:
        return []
    adapter = ctx.adapter(meta.provider)
    try:
        return list(await ctx.call(meta.provider, adapter.list_templates))
    except AppError:
        return []


@router.get(PANEL + "/{deal_id}/dialog")
async def dialog_fragment(
    deal_id: int, request: Request, session: DbSession, user: PageUser, provider: str = "xero"
) -> Response:
    """The Create invoice dialog for one provider, prefilled from the draft. Each opening gets
    its own Idempotency-Key, so a double click (or a retry after a lost answer) creates once."""
    ctx = flows.context(request, user)
    try:
        draft = await flows.build_draft(ctx, session, deal_id, provider)
        meta = await ctx.meta_cache.get(ctx, provider)
        templates = await _templates(ctx, meta)
    except AppError as exc:
        return _problem(request, exc, in_dialog=True)
    views = draft_lines(draft)
    totals, amounts = compute_totals(
        meta, draft.lines, draft.details.tax_mode, draft.global_discount, draft.details.tax_code
    )
    for view, amount in zip(views, amounts, strict=False):
        view.amount = money(amount, draft.details.currency)
    live = [c for c in draft.checks if c.code not in DRAFT_ONLY]
    notes = [c for c in draft.checks if c.code in DRAFT_ONLY]
    return render(
        request,
        "invoices/_dialog.html",
        **_common(request, user, deal_id),
        provider=provider,
        label=PROVIDER_LABELS[provider],
        draft=draft,
        customer=draft.customer,
        details=draft.details,
        lines=views,
        totals=totals,
        currency=draft.details.currency,
        checks=group_checks(live, views),
        notes=group_checks(notes, views),
        slots=slots(views),
        templates=templates,
        idempotency_key=str(uuid.uuid4()),
        **_options(meta),
    )


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


async def review(
    ctx: InvoiceContext, session: AsyncSession, body: InvoiceIn
) -> tuple[TotalsOut, list[Any], list[Check]]:
    """Totals and checks of the dialog as it stands, exactly as creation will compute them
    (app.invoices.service), without sending anything."""
    meta = await ctx.meta_cache.get(ctx, body.provider)
    totals, amounts = compute_totals(
        meta, body.lines, body.tax_mode, body.global_discount, body.tax_code
    )
    extra: list[Check] = []
    try:
        validate_currency(body.currency)
    except ValidationFailed as exc:
        extra.append(
            Check(code="currency", severity="error", field="currency", message=exc.message)
        )
    contact_currency = body.customer.contact_currency
    contact_name = body.customer.name
    if body.customer.contact_id and body.customer.crm_entity and body.customer.crm_id:
        link = await flows.ContactLinkRepository(session, ctx.company_id).one(
            body.provider, body.customer.crm_entity, body.customer.crm_id
        )
        if link is not None and link.contact_id == body.customer.contact_id:
            contact_currency, contact_name = link.contact_currency, link.contact_name
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
            extra=extra,
        ),
    )
    return totals, amounts, checks


def _review_response(
    request: Request,
    parsed: Parsed,
    currency: str,
    totals: TotalsOut | None,
    amounts: list[Any],
    checks: list[Check],
    **extra: Any,
) -> Response:
    grouped = group_checks(checks, parsed.lines)
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
        needs_confirm=any(c.severity == "confirm" for c in checks),
        confirmed=bool(parsed.body and parsed.body.confirm_zero),
        **extra,
    )


@router.post(PANEL + "/{deal_id}/review")
async def review_fragment(
    deal_id: int, request: Request, session: DbSession, user: PageUser, provider: str
) -> Response:
    """Live totals and checks while the user edits (computed by the server, as the provider
    will compute them)."""
    form = await request.form()
    parsed = invoice_from_form(form, flows.check_provider(provider), review=True)
    currency = str(form.get("currency") or "USD").upper()
    if parsed.body is None:
        return _review_response(request, parsed, currency, None, [], [])
    try:
        totals, amounts, checks = await review(flows.context(request, user), session, parsed.body)
    except AppError as exc:
        return _problem(request, exc)
    return _review_response(request, parsed, currency, totals, amounts, checks)


@router.post(PANEL + "/{deal_id}/invoices")
async def create_fragment(
    deal_id: int, request: Request, session: DbSession, user: PageUser, provider: str
) -> Response:
    """Create the invoice from the dialog (its Idempotency-Key in the form): the success state
    with the link to the invoice, or the messages beside the fields they name."""
    form = await request.form()
    parsed = invoice_from_form(form, flows.check_provider(provider))
    currency = str(form.get("currency") or "USD").upper()
    key = str(form.get("idempotency_key") or "")
    if parsed.body is None:
        response = _review_response(request, parsed, currency, None, [], [], failed=True)
        response.status_code = 422
        return response
    ctx = flows.context(request, user)
    try:
        invoice, created = await flows.create_invoice(ctx, session, deal_id, parsed.body, key)
    except ChecksFailed as exc:
        checks = [Check.model_validate(c) for c in exc.extra.get("checks", [])]
        totals, amounts, _ = await review(ctx, session, parsed.body)
        response = _review_response(request, parsed, currency, totals, amounts, checks, failed=True)
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
            new_key=None if exc.code in KEEP_KEY else str(uuid.uuid4()),
            reconnect_url=exc.extra.get("reconnect_url") or exc.extra.get("connect_url"),
            label=PROVIDER_LABELS[provider],
        )
    response = render(
        request,
        "invoices/_created.html",
        **_common(request, user, deal_id),
        invoice=invoice,
        created=created,
        label=PROVIDER_LABELS[invoice.provider],
    )
    # The success state replaces the whole form (nothing is left to submit twice).
    response.headers["HX-Retarget"] = "#dialog-body"
    response.headers["HX-Reswap"] = "innerHTML"
    response.headers["HX-Trigger"] = "invoices-changed"
    return response


# --- lines: add, link, create the item ----------------------------------------------------------


def _line_context(
    request: Request, meta: ProviderMeta, deal_id: int, provider: str, line: LineView
) -> dict[str, Any]:
    return {
        "line": line,
        "deal_id": deal_id,
        "panel": PANEL,
        "provider": provider,
        "label": PROVIDER_LABELS[provider],
        **_options(meta),
    }


def _line_of(form: Any, index: int) -> LineView:
    for line in lines_from_form(form):
        if line.index == index:
            return line
    raise ValidationFailed(f"Line {index + 1} is no longer in the dialog.", field="lines")


@router.post(PANEL + "/{deal_id}/lines/new")
async def new_line(
    deal_id: int, request: Request, user: PageUser, provider: str, index: int
) -> Response:
    """An empty manual line (a deal without products is invoiced with these)."""
    ctx = flows.context(request, user)
    form = await request.form()
    try:
        meta = await ctx.meta_cache.get(ctx, flows.check_provider(provider))
    except AppError as exc:
        return _problem(request, exc)
    line = LineView(
        index=index,
        values={
            "kind": "manual",
            "quantity": "1",
            "unit_price": "",
            "tax_code": str(form.get("tax_code") or "")
            or next((r.code for r in meta.tax_rates if r.can_apply_to_revenue and r.rate), ""),
        },
    )
    response = render(
        request, "invoices/_line.html", **_line_context(request, meta, deal_id, provider, line)
    )
    response.headers["HX-Trigger-After-Settle"] = "recalc"
    return response


@router.get(PANEL + "/items")
async def item_results(
    request: Request, user: PageUser, provider: str, index: int, deal_id: int, q: str = ""
) -> Response:
    """The provider's items matching what the user typed, each with a Link button."""
    q = q.strip()[:200]
    items: list[Any] = []
    if q:
        try:
            items = await flows.search_items(flows.context(request, user), provider, q=q)
        except AppError as exc:
            return _problem(request, exc)
    return render(
        request,
        "invoices/_item_results.html",
        items=items[:10],
        q=q,
        index=index,
        deal_id=deal_id,
        panel=PANEL,
        provider=provider,
        label=PROVIDER_LABELS.get(provider, provider),
    )


async def _line_response(
    request: Request, ctx: InvoiceContext, deal_id: int, provider: str, line: LineView
) -> Response:
    meta = await ctx.meta_cache.get(ctx, provider)
    response = render(
        request, "invoices/_line.html", **_line_context(request, meta, deal_id, provider, line)
    )
    response.headers["HX-Trigger-After-Settle"] = "recalc"
    return response


@router.post(PANEL + "/{deal_id}/lines/{index}/link")
async def link_line(
    deal_id: int, index: int, request: Request, session: DbSession, user: PageUser, provider: str
) -> Response:
    """Link the line to a provider item; a product line's link is remembered for next time."""
    form = await request.form()
    ctx = flows.context(request, user)
    try:
        line = _line_of(form, index)
        item_id = str(form.get("item_choice") or "")
        if not item_id:
            raise ValidationFailed("Choose an item to link.", field="item_id")
        product = line.get("crm_product_id")
        if product.isdigit():
            item = await flows.link_item(ctx, session, provider, int(product), item_id)
            state = "linked"
        else:
            found = await flows.search_items(ctx, provider)
            match = next((i for i in found if i.id == item_id), None)
            if match is None:
                raise ValidationFailed(f"There is no item {item_id} in this organisation.")
            item, state = match, "chosen"
    except AppError as exc:
        return _problem(request, exc)
    line.values.update(
        item_id=item.id, item_code=item.code or "", item_name=item.name, link_state=state
    )
    if not line.get("description").strip():
        line.values["description"] = item.description or item.name
    if not line.get("unit_price") and item.unit_price is not None:
        line.values["unit_price"] = str(item.unit_price)
    return await _line_response(request, ctx, deal_id, provider, line)


@router.post(PANEL + "/{deal_id}/lines/{index}/unlink")
async def unlink_line(
    deal_id: int, index: int, request: Request, session: DbSession, user: PageUser, provider: str
) -> Response:
    """Forget the line's item (and, for a product, the remembered link) to choose another."""
    form = await request.form()
    ctx = flows.context(request, user)
    try:
        line = _line_of(form, index)
        product = line.get("crm_product_id")
        if product.isdigit() and line.get("link_state") == "linked":
            # Already forgotten (another tab): the line is unlinked either way.
            with contextlib.suppress(NotFound):
                await flows.unlink_item(ctx, session, provider, int(product))
    except AppError as exc:
        return _problem(request, exc)
    line.values.update(item_id="", item_code="", item_name="", link_state="none")
    return await _line_response(request, ctx, deal_id, provider, line)


@router.post(PANEL + "/{deal_id}/lines/{index}/create-item")
async def create_line_item(
    deal_id: int, index: int, request: Request, session: DbSession, user: PageUser, provider: str
) -> Response:
    """Create the missing item at the provider from the line (one click) and link it."""
    from app.invoices.schemas import CreateItemIn

    form = await request.form()
    ctx = flows.context(request, user)
    try:
        line = _line_of(form, index)
        product = line.get("crm_product_id")
        name = line.get("description").split("\n")[0].strip()
        if not name:
            raise ValidationFailed("Give the line a description first: it names the item.")
        code = str(form.get(f"new_item_code_{index}") or "").strip() or None
        if code is None and product.isdigit():
            # The Pipedrive product's own code (SKU) becomes the item's code.
            code = (await flows._crm_product(ctx, session, int(product))).code
        try:
            body = CreateItemIn(
                name=name,
                code=code,
                description=line.get("description").strip() or None,
                unit_price=_price(line.get("unit_price")),
                tax_code=line.get("tax_code") or None,
                crm_product_id=int(product) if product.isdigit() else None,
            )
        except ValueError as exc:
            raise ValidationFailed(f"The item cannot be made from this line: {exc}") from exc
        key = f"item-{form.get('idempotency_key') or uuid.uuid4()}-{index}"
        item = await flows.create_item(ctx, session, provider, body, flows.one_click_key(key))
    except AppError as exc:
        return _problem(request, exc)
    line.values.update(
        item_id=item.id,
        item_code=item.code or "",
        item_name=item.name,
        link_state="linked" if product.isdigit() else "chosen",
    )
    return await _line_response(request, ctx, deal_id, provider, line)


def _price(text: str) -> Any:
    from decimal import Decimal, InvalidOperation

    try:
        return Decimal(text) if text.strip() else None
    except InvalidOperation:
        return None


# --- the customer: search, link, what an update would change -------------------------------------


@router.get(PANEL + "/contacts")
async def contact_results(
    request: Request, user: PageUser, provider: str, deal_id: int, q: str = ""
) -> Response:
    q = q.strip()[:200]
    contacts: list[Any] = []
    if q:
        try:
            contacts = await flows.search_contacts(flows.context(request, user), provider, q)
        except AppError as exc:
            return _problem(request, exc)
    return render(
        request,
        "invoices/_contact_results.html",
        contacts=contacts[:10],
        q=q,
        deal_id=deal_id,
        panel=PANEL,
        provider=provider,
        label=PROVIDER_LABELS.get(provider, provider),
    )


def _customer_from_form(form: Any) -> CustomerOut:
    crm_id = str(form.get("crm_id") or "")
    entity = str(form.get("crm_entity") or "")
    return CustomerOut(
        to=str(form.get("to") or "") or None,
        address=str(form.get("address") or "") or None,
        email=str(form.get("email") or "") or None,
        tax_id=str(form.get("tax_id") or "") or None,
        crm_entity=entity if entity in ("organization", "person") else None,
        crm_id=int(crm_id) if crm_id.isdigit() else None,
        update_contact=form.get("update_contact") == "on",
    )


@router.post(PANEL + "/{deal_id}/customer/link")
async def link_customer(
    deal_id: int, request: Request, session: DbSession, user: PageUser, provider: str
) -> Response:
    """Invoice this provider contact; remembered for the deal's organization or person, and
    shows what "Update customer info" would change on it."""
    form = await request.form()
    ctx = flows.context(request, user)
    customer = _customer_from_form(form)
    contact_id = str(form.get("contact_choice") or "")
    try:
        if not contact_id:
            raise ValidationFailed("Choose a contact to link.", field="contact_id")
        if customer.crm_entity and customer.crm_id:
            await flows.link_contact(
                ctx, session, provider, customer.crm_entity, customer.crm_id, contact_id
            )
        contact, changes = await flows.contact_changes(
            ctx, provider, contact_id, customer.email, customer.address, customer.tax_id, False
        )
    except AppError as exc:
        return _problem(request, exc)
    customer.contact, customer.changes, customer.link_state = contact, changes, "linked"
    response = render(
        request,
        "invoices/_customer.html",
        customer=customer,
        deal_id=deal_id,
        panel=PANEL,
        provider=provider,
        label=PROVIDER_LABELS[provider],
        notes={},
        checks={},
    )
    response.headers["HX-Trigger-After-Settle"] = "recalc"
    return response


@router.post(PANEL + "/{deal_id}/customer/new")
async def new_customer(deal_id: int, request: Request, user: PageUser, provider: str) -> Response:
    """Switch the dialog to creating a new contact from the customer fields."""
    form = await request.form()
    customer = _customer_from_form(form)
    customer.link_state = "none"
    response = render(
        request,
        "invoices/_customer.html",
        customer=customer,
        deal_id=deal_id,
        panel=PANEL,
        provider=flows.check_provider(provider),
        label=PROVIDER_LABELS[provider],
        creating=True,
        notes={},
        checks={},
    )
    response.headers["HX-Trigger-After-Settle"] = "recalc"
    return response


@router.post(PANEL + "/{deal_id}/customer/changes")
async def customer_changes(
    deal_id: int, request: Request, user: PageUser, provider: str
) -> Response:
    """What "Update customer info" would change, for the fields as the user edited them."""
    form = await request.form()
    customer = _customer_from_form(form)
    contact_id = str(form.get("contact_id") or "")
    provider = flows.check_provider(provider)
    if not contact_id:
        return Response(status_code=204)
    try:
        contact, changes = await flows.contact_changes(
            flows.context(request, user),
            provider,
            contact_id,
            customer.email,
            customer.address,
            customer.tax_id,
            False,
        )
    except AppError as exc:
        return _problem(request, exc)
    customer.contact, customer.changes = contact, changes
    return render(
        request, "invoices/_changes.html", customer=customer, label=PROVIDER_LABELS[provider]
    )


# --- acting on a listed invoice -----------------------------------------------------------------

# What each status action is called in the sentence that confirms it.
DONE = {
    "SUBMITTED": "submitted for approval",
    "AUTHORISED": "approved",
    "VOIDED": "voided",
    "DELETED": "deleted",
    "EMAIL": "sent by email",
}


async def _listed(
    session: AsyncSession, user: CrmUser, deal_id: int, row_id: str
) -> tuple[Any, str]:
    """The deal's created invoice ``row_id`` (404 for anything else) and its provider id."""
    rows = await flows.InvoiceRepository(session, user.company_id).of_deal(deal_id)
    row = next((r for r in rows if r.id == row_id), None)
    if row is None or row.status != "created" or not row.provider_invoice_id:
        raise NotFound("This invoice is not one of the deal's invoices.", field="invoice_id")
    return row, row.provider_invoice_id


@router.post(PANEL + "/{deal_id}/invoices/{row_id}/actions/{action}")
async def invoice_action(
    deal_id: int, row_id: str, action: str, request: Request, session: DbSession, user: PageUser
) -> Response:
    """Submit, approve, void, delete or email one of the deal's invoices (the same service as
    the extension's postInvoiceStatus / postInvoiceEmail), then the refreshed list with a line
    saying what happened, or why not."""
    ctx = flows.context(request, user)
    notice: str | None = None
    error: str | None = None
    try:
        row, invoice_id = await _listed(session, user, deal_id, row_id)
        meta = await ctx.meta_cache.get(ctx, row.provider)
        done = await flows.act_on_invoice(
            ctx,
            session,
            row.provider,
            invoice_id,
            action.upper(),
            today=flows.company_today(meta),
            via="deal_panel",
        )
        notice = f"Invoice {done.invoice.number or ''} {DONE[action.upper()]}.".replace("  ", " ")
    except AppError as exc:
        error = exc.message
    # The list is read in the same session, so it shows the row the action just updated.
    try:
        context = await _invoices_context(request, session, user, deal_id)
    except AppError as exc:
        return _problem(request, exc)
    return render(
        request,
        "invoices/_list.html",
        **_common(request, user, deal_id, action_notice=notice, action_error=error, **context),
    )


@router.post(PANEL + "/{deal_id}/invoices/{row_id}/share")
async def invoice_share(
    deal_id: int, row_id: str, request: Request, session: DbSession, user: PageUser
) -> Response:
    """The customer's link to the invoice, to copy (the extension's getInvoiceShareUrl)."""
    try:
        row, invoice_id = await _listed(session, user, deal_id, row_id)
        url = await flows.invoice_share_url(flows.context(request, user), row.provider, invoice_id)
    except AppError as exc:
        return _problem(request, exc)
    return render(request, "invoices/_share.html", url=url, row_id=row_id)


@router.get(PANEL + "/{deal_id}/invoices/{row_id}/pdf")
async def invoice_pdf(
    deal_id: int, row_id: str, request: Request, session: DbSession, user: PageUser
) -> Response:
    """The invoice's PDF (the extension's getInvoicePDF), as a download."""
    try:
        row, invoice_id = await _listed(session, user, deal_id, row_id)
        content, filename = await flows.invoice_pdf(
            flows.context(request, user), row.provider, invoice_id
        )
    except AppError as exc:
        return _problem(request, exc)
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
