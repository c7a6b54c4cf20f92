"""The dialog's lines: a new manual line, searching and linking a provider item, and creating
the missing item in one click."""

from __future__ import annotations

import contextlib
import uuid
from decimal import InvalidOperation
from typing import Any

from fastapi import APIRouter, Request, Response

from app.crm.pipedrive.schemas import PipedriveId
from app.errors import AppError, NotFound, ValidationFailed
from app.invoices import flows
from app.invoices.context import InvoiceContext
from app.invoices.flows.linking import check_provider, crm_product, one_click_key
from app.invoices.pages.common import PANEL, options, problem
from app.invoices.pages.forms import (
    PROVIDER_LABELS,
    LineView,
    lines_from_form,
    pipedrive_id,
    plain,
)
from app.invoices.pages.numbers import AmbiguousNumber, parse_number, user_locale
from app.invoices.rules.meta import ProviderMeta
from app.invoices.schemas import CreateItemIn
from app.tenants.dependencies import PageUser
from app.web import DbSession, render

router = APIRouter(include_in_schema=False)


def line_context(
    request: Request, meta: ProviderMeta, deal_id: PipedriveId, provider: str, line: LineView
) -> dict[str, Any]:
    return {
        "line": line,
        "deal_id": deal_id,
        "panel": PANEL,
        "provider": provider,
        "label": PROVIDER_LABELS[provider],
        **options(meta),
    }


def line_of(form: Any, index: int) -> LineView:
    for line in lines_from_form(form):
        if line.index == index:
            return line
    raise ValidationFailed(f"Line {index + 1} is no longer in the dialog.", field="lines")


@router.post(PANEL + "/{deal_id}/lines/new")
async def new_line(
    deal_id: PipedriveId, request: Request, user: PageUser, provider: str, index: int
) -> Response:
    """An empty manual line (a deal without products is invoiced with these)."""
    ctx = flows.context(request, user)
    form = await request.form()
    try:
        meta = await ctx.meta_cache.get(ctx, check_provider(provider))
    except AppError as exc:
        return problem(request, exc)
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
        request, "invoices/_line.html", **line_context(request, meta, deal_id, provider, line)
    )
    response.headers["HX-Trigger-After-Settle"] = "recalc"
    return response


@router.get(PANEL + "/items")
async def item_results(
    request: Request, user: PageUser, provider: str, index: int, deal_id: PipedriveId, q: str = ""
) -> Response:
    """The provider's items matching what the user typed, each with a Link button."""
    q = q.strip()[:200]
    items: list[Any] = []
    if q:
        try:
            items = await flows.search_items(flows.context(request, user), provider, q=q)
        except AppError as exc:
            return problem(request, exc)
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


async def line_response(
    request: Request, ctx: InvoiceContext, deal_id: PipedriveId, provider: str, line: LineView
) -> Response:
    meta = await ctx.meta_cache.get(ctx, provider)
    response = render(
        request, "invoices/_line.html", **line_context(request, meta, deal_id, provider, line)
    )
    response.headers["HX-Trigger-After-Settle"] = "recalc"
    return response


@router.post(PANEL + "/{deal_id}/lines/{index}/link")
async def link_line(
    deal_id: PipedriveId,
    index: int,
    request: Request,
    session: DbSession,
    user: PageUser,
    provider: str,
) -> Response:
    """Link the line to a provider item; a product line's link is remembered for next time."""
    form = await request.form()
    ctx = flows.context(request, user)
    try:
        line = line_of(form, index)
        item_id = str(form.get("item_choice") or "")
        if not item_id:
            raise ValidationFailed("Choose an item to link.", field="item_id")
        product = pipedrive_id(line.get("crm_product_id"))
        if product is not None:
            item = await flows.link_item(ctx, session, provider, product, item_id)
            state = "linked"
        else:
            found = await flows.search_items(ctx, provider)
            match = next((i for i in found if i.id == item_id), None)
            if match is None:
                raise ValidationFailed(f"There is no item {item_id} in this organisation.")
            item, state = match, "chosen"
    except AppError as exc:
        return problem(request, exc)
    line.values.update(
        item_id=item.id, item_code=item.code or "", item_name=item.name, link_state=state
    )
    if not line.get("description").strip():
        line.values["description"] = item.description or item.name
    if not line.get("unit_price") and item.unit_price is not None:
        line.values["unit_price"] = plain(item.unit_price, user_locale(user.locale))
    return await line_response(request, ctx, deal_id, provider, line)


@router.post(PANEL + "/{deal_id}/lines/{index}/unlink")
async def unlink_line(
    deal_id: PipedriveId,
    index: int,
    request: Request,
    session: DbSession,
    user: PageUser,
    provider: str,
) -> Response:
    """Forget the line's item (and, for a product, the remembered link) to choose another."""
    form = await request.form()
    ctx = flows.context(request, user)
    try:
        line = line_of(form, index)
        product = pipedrive_id(line.get("crm_product_id"))
        if product is not None and line.get("link_state") == "linked":
            # Already forgotten (another tab): the line is unlinked either way.
            with contextlib.suppress(NotFound):
                await flows.unlink_item(ctx, session, provider, product)
    except AppError as exc:
        return problem(request, exc)
    line.values.update(item_id="", item_code="", item_name="", link_state="none")
    return await line_response(request, ctx, deal_id, provider, line)


@router.post(PANEL + "/{deal_id}/lines/{index}/create-item")
async def create_line_item(
    deal_id: PipedriveId,
    index: int,
    request: Request,
    session: DbSession,
    user: PageUser,
    provider: str,
) -> Response:
    """Create the missing item at the provider from the line (one click) and link it."""
    form = await request.form()
    ctx = flows.context(request, user)
    try:
        line = line_of(form, index)
        product = pipedrive_id(line.get("crm_product_id"))
        name = line.get("description").split("\n")[0].strip()
        if not name:
            raise ValidationFailed("Give the line a description first: it names the item.")
        code = str(form.get(f"new_item_code_{index}") or "").strip() or None
        if code is None and product is not None:
            # The Pipedrive product's own code (SKU) becomes the item's code.
            code = (await crm_product(ctx, session, product)).code
        try:
            body = CreateItemIn(
                name=name,
                code=code,
                description=line.get("description").strip() or None,
                unit_price=price_of(line.get("unit_price"), user_locale(user.locale)),
                tax_code=line.get("tax_code") or None,
                crm_product_id=product,
            )
        except ValueError as exc:
            raise ValidationFailed(f"The item cannot be made from this line: {exc}") from exc
        key = f"item-{form.get('idempotency_key') or uuid.uuid4()}-{index}"
        item = await flows.create_item(ctx, session, provider, body, one_click_key(key))
    except AppError as exc:
        return problem(request, exc)
    line.values.update(
        item_id=item.id,
        item_code=item.code or "",
        item_name=item.name,
        link_state="linked" if product is not None else "chosen",
    )
    return await line_response(request, ctx, deal_id, provider, line)


def price_of(text: str, locale: str) -> Any:
    """The line's price as the user typed it (their locale); None when it is not a number."""
    try:
        return parse_number(text, "unit price", locale) if text.strip() else None
    except (AmbiguousNumber, InvalidOperation):
        return None
