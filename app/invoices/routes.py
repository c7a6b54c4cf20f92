"""The invoices JSON API (thin: each route builds the context and calls one flow)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query, Request, Response

from app.crm.pipedrive.schemas import PipedriveId
from app.invoices import contact_routes, flows
from app.invoices.billing_schemas import (
    BillingOut,
    CreditIn,
    CreditOptions,
    CreditOut,
    CreditResult,
    ScheduleAction,
    ScheduleOut,
)
from app.invoices.context import context
from app.invoices.flows.linking import one_click_key
from app.invoices.flows.parts import deal_billing
from app.invoices.flows.recurring import change_schedule, list_schedules, start_schedules
from app.invoices.flows.sync import refresh_deal
from app.invoices.schemas import (
    ContactOut,
    ContactUpdateIn,
    CreateContactIn,
    CreateItemIn,
    DraftOut,
    FieldChange,
    InvoiceIn,
    InvoiceOut,
    ItemOut,
    LinkContactIn,
    LinkItemIn,
    PreviewOut,
    Provider,
)
from app.providers.base import ProviderId
from app.tenants.dependencies import CurrentUser
from app.tenants.permissions import permissions_of
from app.web import DbSession

router = APIRouter(prefix="/api/v1", tags=["invoices"])

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
# Ids and names are checked here, before any flow runs: a bad one is a 422 naming the
# parameter and never reaches Pipedrive or the provider.
DealId = Annotated[PipedriveId, Path(description="The Pipedrive deal's id")]
ContactEntity = Literal["organization", "person"]
InvoiceAction = Literal["SUBMITTED", "AUTHORISED", "VOIDED", "DELETED", "EMAIL"]
InvoiceRowId = Annotated[str, Path(max_length=36, description="Our invoice's id")]


@router.get("/deals/{deal_id}/invoice-draft", response_model=DraftOut)
async def get_draft(
    deal_id: DealId, provider: Provider, request: Request, session: DbSession, user: CurrentUser
) -> DraftOut:
    """The proposed invoice for the deal in the chosen provider, with its checks."""
    return await flows.build_draft(context(request, user), session, deal_id, provider)


@router.post("/deals/{deal_id}/invoices", response_model=InvoiceOut)
async def post_invoice(
    deal_id: DealId,
    body: InvoiceIn,
    request: Request,
    response: Response,
    session: DbSession,
    user: CurrentUser,
    idempotency_key: IdempotencyKey = None,
) -> InvoiceOut:
    """Create the reviewed invoice as a DRAFT, exactly once per Idempotency-Key: 201 when
    this call created it, 200 with the same invoice when the key was already used."""
    out, created = await flows.create_invoice(
        context(request, user), session, deal_id, body, idempotency_key
    )
    response.status_code = 201 if created else 200
    return out


@router.get("/deals/{deal_id}/billing", response_model=BillingOut)
async def get_billing(
    deal_id: DealId, request: Request, session: DbSession, user: CurrentUser
) -> BillingOut:
    """How much of the deal is invoiced: its value, invoiced so far, remaining, each part with
    its status, and the deal's Pipedrive installments (offered as the parts)."""
    return await deal_billing(context(request, user), session, deal_id)


@router.post("/deals/{deal_id}/invoice-preview", response_model=PreviewOut)
async def post_preview(
    deal_id: DealId, body: InvoiceIn, request: Request, session: DbSession, user: CurrentUser
) -> PreviewOut:
    """Live totals and checks while the user edits the dialog (nothing is created)."""
    return await flows.preview_invoice(context(request, user), session, deal_id, body)


@router.get("/deals/{deal_id}/invoices", response_model=list[InvoiceOut])
async def get_invoices(
    deal_id: DealId,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    provider: Provider | None = None,
) -> list[InvoiceOut]:
    return await flows.list_invoices(context(request, user), session, deal_id, provider)


@router.post("/deals/{deal_id}/invoices/refresh", response_model=list[InvoiceOut])
async def refresh_invoices(
    deal_id: DealId, request: Request, session: DbSession, user: CurrentUser
) -> list[InvoiceOut]:
    """Re-read the deal's invoices at their providers now, then list them."""
    ctx = context(request, user)
    await refresh_deal(ctx, session, deal_id)
    return await flows.list_invoices(ctx, session, deal_id)


@router.post("/deals/{deal_id}/invoices/{invoice_id}/actions/{action}", response_model=InvoiceOut)
async def post_invoice_action(
    deal_id: DealId,
    invoice_id: InvoiceRowId,
    action: InvoiceAction,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    idempotency_key: IdempotencyKey = None,
) -> InvoiceOut:
    """Submit, approve, void, delete or email one of the deal's invoices at the provider. A
    status the invoice already has is answered as done; an email repeated with the same
    Idempotency-Key is sent once. 409 when the invoice's state does not allow the action."""
    ctx = context(request, user)
    done = await flows.act_on_deal_invoice(
        ctx, session, deal_id, invoice_id, action, via="api", key=idempotency_key
    )
    assert done.row is not None
    meta = await ctx.meta_cache.get(ctx, done.row.provider)
    return flows.invoice_out(
        done.row,
        flows.company_today(meta),
        can_approve=done.view.allows("AUTHORISED"),
        permissions=await permissions_of(session, user),
    )


@router.post(
    "/deals/{deal_id}/invoices/{invoice_id}/credits", response_model=CreditResult, status_code=201
)
async def post_credit(
    deal_id: DealId,
    invoice_id: InvoiceRowId,
    body: CreditIn,
    request: Request,
    response: Response,
    session: DbSession,
    user: CurrentUser,
    idempotency_key: IdempotencyKey = None,
) -> CreditResult:
    """Credit an approved or paid invoice fully (``full``), by lines (``line_ids``) or by an
    amount, exactly once per Idempotency-Key (required): 201 when this call credited it, 200
    with the same credit for a repeat. 422 for a voided or deleted invoice or more than is
    left to credit, before anything is sent."""
    ctx = context(request, user)
    credit, row, made = await flows.credit_deal_invoice(
        ctx, session, deal_id, invoice_id, body, idempotency_key
    )
    response.status_code = 201 if made else 200
    return CreditResult(credit=credit, invoice=await flows.one_invoice_out(ctx, session, row))


@router.get("/deals/{deal_id}/invoices/{invoice_id}/credits", response_model=list[CreditOut])
async def get_credits(
    deal_id: DealId,
    invoice_id: InvoiceRowId,
    request: Request,
    session: DbSession,
    user: CurrentUser,
) -> list[CreditOut]:
    """The invoice's credit notes, oldest first."""
    return await flows.credits_of(context(request, user), session, deal_id, invoice_id)


@router.get("/deals/{deal_id}/invoices/{invoice_id}/credit-options", response_model=CreditOptions)
async def get_credit_options(
    deal_id: DealId,
    invoice_id: InvoiceRowId,
    request: Request,
    session: DbSession,
    user: CurrentUser,
) -> CreditOptions:
    """The invoice's lines (to credit some) and what is left to credit."""
    return await flows.credit_options(context(request, user), session, deal_id, invoice_id)


@router.get("/providers/{provider}/items", response_model=list[ItemOut])
async def get_items(
    provider: Provider,
    request: Request,
    user: CurrentUser,
    q: Annotated[str | None, Query(max_length=200)] = None,
    code: Annotated[str | None, Query(max_length=100)] = None,
) -> list[ItemOut]:
    return await flows.search_items(context(request, user), provider, q, code)


@router.get("/providers/{provider}/contacts", response_model=list[ContactOut])
async def get_contacts(
    provider: Provider,
    request: Request,
    user: CurrentUser,
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
) -> list[ContactOut]:
    return await flows.search_contacts(context(request, user), provider, q, page)


@router.post("/providers/{provider}/items", response_model=ItemOut, status_code=201)
async def post_item(
    provider: Provider,
    body: CreateItemIn,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    idempotency_key: IdempotencyKey = None,
) -> ItemOut:
    """Create a missing item (and link the product when ``crm_product_id`` is given)."""
    key = one_click_key(idempotency_key)
    return await flows.create_item(context(request, user), session, provider, body, key)


@router.post("/providers/{provider}/contacts", response_model=ContactOut, status_code=201)
async def post_contact(
    provider: Provider,
    body: CreateContactIn,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    idempotency_key: IdempotencyKey = None,
) -> ContactOut:
    """Create a missing contact (and link the organization or person when given)."""
    key = one_click_key(idempotency_key)
    return await flows.create_contact(context(request, user), session, provider, body, key)


@router.post("/providers/{provider}/contacts/{contact_id}/crm-update")
async def post_contact_update(
    provider: Provider,
    contact_id: ProviderId,
    body: ContactUpdateIn,
    request: Request,
    user: CurrentUser,
) -> dict[str, object]:
    """What pushing the CRM's email, address and tax id would change (``apply`` does it)."""
    contact, changes = await flows.contact_changes(
        context(request, user),
        provider,
        contact_id,
        body.email,
        body.address,
        body.tax_id,
        body.apply,
    )
    return {"contact": contact, "changes": changes, "applied": body.apply and bool(changes)}


@router.put("/providers/{provider}/links/products/{product_id}", response_model=ItemOut)
async def put_item_link(
    provider: Provider,
    product_id: PipedriveId,
    body: LinkItemIn,
    request: Request,
    session: DbSession,
    user: CurrentUser,
) -> ItemOut:
    return await flows.link_item(
        context(request, user), session, provider, product_id, body.item_id
    )


@router.delete("/providers/{provider}/links/products/{product_id}", status_code=204)
async def delete_item_link(
    provider: Provider,
    product_id: PipedriveId,
    request: Request,
    session: DbSession,
    user: CurrentUser,
) -> Response:
    await flows.unlink_item(context(request, user), session, provider, product_id)
    return Response(status_code=204)


@router.put("/providers/{provider}/links/{entity}/{crm_id}", response_model=ContactOut)
async def put_contact_link(
    provider: Provider,
    entity: ContactEntity,
    crm_id: PipedriveId,
    body: LinkContactIn,
    request: Request,
    session: DbSession,
    user: CurrentUser,
) -> ContactOut:
    return await flows.link_contact(
        context(request, user), session, provider, entity, crm_id, body.contact_id
    )


@router.delete("/providers/{provider}/links/{entity}/{crm_id}", status_code=204)
async def delete_contact_link(
    provider: Provider,
    entity: ContactEntity,
    crm_id: PipedriveId,
    request: Request,
    session: DbSession,
    user: CurrentUser,
) -> Response:
    await flows.unlink_contact(context(request, user), session, provider, entity, crm_id)
    return Response(status_code=204)


# The deal's linked contact: all its invoices, totals, links (a module of its own).
router.include_router(contact_routes.router)


__all__ = ["FieldChange", "router"]


@router.get("/deals/{deal_id}/schedules", response_model=list[ScheduleOut])
async def get_schedules(
    deal_id: DealId, request: Request, session: DbSession, user: CurrentUser
) -> list[ScheduleOut]:
    """The deal's recurring billing schedules, with each one's next date."""
    return await list_schedules(context(request, user), session, deal_id)


@router.post("/deals/{deal_id}/schedules", response_model=list[ScheduleOut], status_code=201)
async def post_schedules(
    deal_id: DealId, provider: Provider, request: Request, session: DbSession, user: CurrentUser
) -> list[ScheduleOut]:
    """Bill the deal's recurring products in ``provider``: one schedule per frequency, cycle
    count and start date (a repeat finds the same schedules). A product without a start date
    starts on the deal's expected close date, and the schedule's ``note`` says so."""
    return await start_schedules(context(request, user), session, deal_id, provider)


@router.post("/deals/{deal_id}/schedules/{schedule_id}/{action}", response_model=ScheduleOut)
async def post_schedule_action(
    deal_id: DealId,
    schedule_id: Annotated[str, Path(max_length=36)],
    action: ScheduleAction,
    request: Request,
    session: DbSession,
    user: CurrentUser,
) -> ScheduleOut:
    """Pause, resume or stop a schedule (admins only)."""
    return await change_schedule(context(request, user), session, deal_id, schedule_id, action)
