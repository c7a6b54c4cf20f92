"""The deal panel's linked contact (Jinja2 + htmx): its totals for a chosen period, "View all
invoices" with a time range and status, linking one to the deal and unlinking it, unlinking
the contact (the "…" menu), and the read-only settings summary for non-admins.

Every action goes through ``flows.contact_invoices`` (which asks ``flows.permits``), and a
change to the deal's list triggers ``invoices-changed`` so the list above reloads.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request, Response

from app.crm.pipedrive.schemas import PipedriveId
from app.crm.pipedrive.service import company_fields
from app.errors import AppError, ValidationFailed
from app.invoices import flows
from app.invoices.flows import contact_invoices as flow
from app.invoices.flows.deal import read_deal
from app.invoices.pages.common import PANEL, common, connected_providers, problem
from app.invoices.rules.summary import RANGES
from app.preferences.schemas import Provider
from app.preferences.service import describe_preferences, load_preferences
from app.tenants.dependencies import PageUser
from app.tenants.models import CrmUser
from app.web import DbSession, render

router = APIRouter(include_in_schema=False)

RANGE_LABELS = {
    "this_month": "This month",
    "this_quarter": "This quarter",
    "this_year": "This year",
    "last_12_months": "Last 12 months",
    "all": "All time",
    "custom": "Custom",
}
STATUS_LABELS = {
    "all": "Any status",
    "draft": "Draft",
    "unpaid": "Unpaid",
    "overdue": "Overdue",
    "paid": "Paid",
    "voided": "Voided or deleted",
}


async def query_of(request: Request) -> flow.Query:
    """The filters from the query string, or the form of a POST (422 naming a bad one)."""
    params: dict[str, Any] = dict(request.query_params)
    if request.method == "POST":
        params.update((k, v) for k, v in (await request.form()).items() if isinstance(v, str))
    name = params.get("range") or "last_12_months"
    if name not in RANGES:
        raise ValidationFailed(f"Choose a range among {', '.join(RANGES)}.", field="range")
    page = params.get("page") or "1"
    if not page.isdigit() or not 1 <= int(page) <= 10000:
        raise ValidationFailed("The page must be a number from 1.", field="page")
    return flow.Query(
        range=name,
        # Kept whatever the range, so the fields show them again; only "custom" uses them.
        date_from=day_of(params.get("from"), "from"),
        date_to=day_of(params.get("to"), "to"),
        status=params.get("status") or "all",
        page=int(page),
    )


async def lenient(request: Request) -> flow.Query:
    """The filters as given, for showing them again beside a refusal."""
    params = request.query_params

    def day(raw: str | None) -> date | None:
        try:
            return date.fromisoformat(raw or "")
        except ValueError:
            return None

    name = params.get("range") or "last_12_months"
    return flow.Query(
        range=name if name in RANGES else "last_12_months",
        date_from=day(params.get("from")),
        date_to=day(params.get("to")),
        status=params.get("status") or "all",
    )


def day_of(raw: str | None, name: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ValidationFailed(f"{raw} is not a date (YYYY-MM-DD).", field=name) from exc


def page_context(request: Request, user: CrmUser, deal_id: int, **extra: Any) -> dict[str, Any]:
    return common(
        request,
        user,
        deal_id,
        range_labels=RANGE_LABELS,
        status_labels=STATUS_LABELS,
        **extra,
    )


async def contact_fragment(
    request: Request,
    session: DbSession,
    user: CrmUser,
    deal_id: int,
    template: str,
    parts: tuple[str, ...],
    **extra: Any,
) -> Response:
    """The totals or the view-all fragment for the filters asked; a deal without a linked
    contact says so; bad filters say what is wrong, in place."""
    try:
        query = await query_of(request)
        query.parts = parts
        found = await flow.contact_page(flows.context(request, user), session, deal_id, query)
    except ValidationFailed as exc:
        # The filters stay on screen with what is wrong beside them.
        return render(
            request,
            template,
            status_code=exc.status_code,
            **page_context(
                request, user, deal_id, found=None, query=await lenient(request), error=exc.message
            ),
        )
    except AppError as exc:
        if exc.status_code == 404 and exc.field == "provider":
            return render(
                request, "invoices/_no_contact.html", **page_context(request, user, deal_id)
            )
        return problem(request, exc)
    return render(
        request,
        template,
        **page_context(request, user, deal_id, found=found, query=query, **extra),
    )


@router.get(PANEL + "/{deal_id}/contact/totals")
async def contact_totals(
    deal_id: PipedriveId, request: Request, session: DbSession, user: PageUser
) -> Response:
    """The linked contact's totals per currency for the chosen period, with the bar."""
    return await contact_fragment(
        request, session, user, deal_id, "invoices/_contact_totals.html", parts=("totals",)
    )


@router.get(PANEL + "/{deal_id}/contact/invoices")
async def contact_invoices(
    deal_id: PipedriveId, request: Request, session: DbSession, user: PageUser
) -> Response:
    """View all invoices: one page of the contact's invoices in the range and status."""
    return await contact_fragment(
        request, session, user, deal_id, "invoices/_view_all.html", parts=("page",)
    )


@router.post(PANEL + "/{deal_id}/contact/invoices/{row_id}/{verb}")
async def link_or_unlink(
    deal_id: PipedriveId,
    row_id: str,
    verb: str,
    request: Request,
    session: DbSession,
    user: PageUser,
) -> Response:
    """Link the invoice to the deal, or unlink it; then the view again, and the deal's list
    reloads (``invoices-changed``). A refusal is said in place with its status."""
    ctx = flows.context(request, user)
    notice = None
    try:
        if verb == "link":
            row, made = await flow.link_invoice(ctx, session, deal_id, row_id)
            notice = f"Invoice {row.number or ''} linked to this deal." if made else None
        elif verb == "unlink":
            row = await flow.unlink_invoice(ctx, session, deal_id, row_id)
            notice = f"Invoice {row.number or ''} unlinked from this deal."
        else:
            return problem(request, ValidationFailed("Link or unlink.", field="verb"))
    except AppError as exc:
        # Another company's or another contact's invoice: 404, said in place.
        return problem(request, exc)
    response = await contact_fragment(
        request, session, user, deal_id, "invoices/_view_all.html", ("page",), notice=notice
    )
    response.headers["HX-Trigger"] = "invoices-changed, contact-changed"
    return response


@router.post(PANEL + "/{deal_id}/contact/unlink")
async def unlink_contact(
    deal_id: PipedriveId, request: Request, session: DbSession, user: PageUser
) -> Response:
    """The "…" menu's Unlink contact (after the confirmation): the deal's customer falls back
    to suggestions in the next draft; invoices stay."""
    try:
        found = await flow.unlink_deal_contact(flows.context(request, user), session, deal_id, None)
    except AppError as exc:
        return problem(request, exc)
    # The totals' own place shows it (and "View all" closes): nothing else to reload.
    return render(
        request,
        "invoices/_no_contact.html",
        **page_context(request, user, deal_id, unlinked=found.link.contact_name),
    )


@router.get(PANEL + "/{deal_id}/settings")
async def settings_summary(
    deal_id: PipedriveId, request: Request, session: DbSession, user: PageUser
) -> Response:
    """What the company's admins chose (field mappings, due-date rule), read-only: the "…"
    menu's Settings for users who may not change them. The deal must be the company's
    (404 otherwise), as on every route of the panel."""
    try:
        client, _ = await flows.context(request, user).pipedrive(session)
        await read_deal(client, deal_id)
    except AppError as exc:
        return problem(request, exc)
    try:
        definitions = await company_fields(request, session, user.company_id, user.id)
    except AppError:
        definitions = None
    described = []
    for provider in await connected_providers(session, user.company_id):
        name: Provider = provider  # type: ignore[assignment]
        prefs, row = await load_preferences(session, user.company_id, name, definitions)
        described.append(describe_preferences(name, prefs, definitions, row))
    return render(
        request,
        "invoices/settings_summary.html",
        **page_context(request, user, deal_id, described=described),
    )
