"""The dialog's customer: searching and linking a provider contact, switching to a new one,
and what "Update customer info" would change."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from app.crm.pipedrive.schemas import PipedriveId
from app.errors import AppError, ValidationFailed
from app.invoices import flows
from app.invoices.flows.linking import check_provider
from app.invoices.pages.common import PANEL, problem
from app.invoices.pages.forms import PROVIDER_LABELS, pipedrive_id
from app.invoices.schemas import CustomerOut
from app.tenants.dependencies import PageUser
from app.web import DbSession, render

router = APIRouter(include_in_schema=False)


@router.get(PANEL + "/contacts")
async def contact_results(
    request: Request, user: PageUser, provider: str, deal_id: PipedriveId, q: str = ""
) -> Response:
    q = q.strip()[:200]
    contacts: list[Any] = []
    if q:
        try:
            contacts = await flows.search_contacts(flows.context(request, user), provider, q)
        except AppError as exc:
            return problem(request, exc)
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


def customer_from_form(form: Any) -> CustomerOut:
    entity = str(form.get("crm_entity") or "")
    return CustomerOut(
        to=str(form.get("to") or "") or None,
        address=str(form.get("address") or "") or None,
        email=str(form.get("email") or "") or None,
        tax_id=str(form.get("tax_id") or "") or None,
        crm_entity=entity if entity in ("organization", "person") else None,
        crm_id=pipedrive_id(form.get("crm_id")),
        update_contact=form.get("update_contact") == "on",
    )


@router.post(PANEL + "/{deal_id}/customer/link")
async def link_customer(
    deal_id: PipedriveId, request: Request, session: DbSession, user: PageUser, provider: str
) -> Response:
    """Invoice this provider contact; remembered for the deal's organization or person, and
    shows what "Update customer info" would change on it."""
    form = await request.form()
    ctx = flows.context(request, user)
    customer = customer_from_form(form)
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
        return problem(request, exc)
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
async def new_customer(
    deal_id: PipedriveId, request: Request, user: PageUser, provider: str
) -> Response:
    """Switch the dialog to creating a new contact from the customer fields."""
    form = await request.form()
    customer = customer_from_form(form)
    customer.link_state = "none"
    response = render(
        request,
        "invoices/_customer.html",
        customer=customer,
        deal_id=deal_id,
        panel=PANEL,
        provider=check_provider(provider),
        label=PROVIDER_LABELS[provider],
        creating=True,
        notes={},
        checks={},
    )
    response.headers["HX-Trigger-After-Settle"] = "recalc"
    return response


@router.post(PANEL + "/{deal_id}/customer/changes")
async def customer_changes(
    deal_id: PipedriveId, request: Request, user: PageUser, provider: str
) -> Response:
    """What "Update customer info" would change, for the fields as the user edited them."""
    form = await request.form()
    customer = customer_from_form(form)
    contact_id = str(form.get("contact_id") or "")
    provider = check_provider(provider)
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
        return problem(request, exc)
    customer.contact, customer.changes = contact, changes
    return render(
        request, "invoices/_changes.html", customer=customer, label=PROVIDER_LABELS[provider]
    )
