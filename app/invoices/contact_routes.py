"""The JSON API of the deal's linked contact: all of its invoices, their totals, linking one
to the deal and unlinking it, and unlinking the contact itself (docs/invoices.md
"Invoices and deals"). Thin: each route calls one flow of ``flows.contact_invoices``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel

from app.crm.pipedrive.schemas import PipedriveId
from app.invoices.context import context
from app.invoices.flows import contact_invoices as flow
from app.invoices.flows.listing import invoice_out, todays
from app.invoices.rules.summary import CurrencyTotals
from app.invoices.schemas import InvoiceOut, Provider
from app.tenants.dependencies import CurrentUser
from app.web import DbSession

# Included by ``app.invoices.routes`` under its /api/v1 prefix.
router = APIRouter(tags=["invoices"])

DealId = Annotated[PipedriveId, Path(description="The Pipedrive deal's id")]
InvoiceId = Annotated[str, Path(max_length=36, description="Our invoice's id")]
RangeName = Literal["this_month", "this_quarter", "this_year", "last_12_months", "all", "custom"]
StatusName = Literal["all", "draft", "unpaid", "overdue", "paid", "voided"]


class TotalsOut(BaseModel):
    currency: str
    invoiced: Decimal
    paid: Decimal
    outstanding: Decimal
    overdue: Decimal

    @classmethod
    def of(cls, t: CurrencyTotals) -> TotalsOut:
        return cls(
            currency=t.currency,
            invoiced=t.invoiced,
            paid=t.paid,
            outstanding=t.outstanding,
            overdue=t.overdue,
        )


class ContactInvoiceOut(InvoiceOut):
    linked: bool = False


class ContactInvoicesOut(BaseModel):
    provider: str
    contact_id: str
    contact_name: str
    date_from: date | None
    date_to: date | None
    page: int
    pages: int
    total: int
    invoices: list[ContactInvoiceOut]
    totals: list[TotalsOut]


@router.get("/deals/{deal_id}/contact-invoices", response_model=ContactInvoicesOut)
async def get_contact_invoices(
    deal_id: DealId,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    range: RangeName = "last_12_months",
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
    status: StatusName = "all",
    page: Annotated[int, Query(ge=1, le=10000)] = 1,
    provider: Provider | None = None,
    refresh: bool = False,
) -> ContactInvoicesOut:
    """Every invoice of the deal's linked contact at the provider (made here, in the provider
    directly, or from other deals), issued in the range (dates in the company's timezone),
    one page of 25, with whether each is linked to this deal, and the range's totals."""
    query = flow.Query(range, from_, to, status, page, provider, refresh)
    found = await flow.contact_page(context(request, user), session, deal_id, query)
    return ContactInvoicesOut(
        provider=found.contact.provider,
        contact_id=found.contact.link.contact_id,
        contact_name=found.contact.link.contact_name,
        date_from=found.date_from,
        date_to=found.date_to,
        page=found.page,
        pages=found.pages,
        total=found.total,
        invoices=[
            ContactInvoiceOut(**i.model_dump(), linked=i.id in found.linked) for i in found.invoices
        ],
        totals=[TotalsOut.of(t) for t in found.totals],
    )


@router.put("/deals/{deal_id}/invoice-links/{invoice_id}", response_model=InvoiceOut)
async def put_invoice_link(
    deal_id: DealId,
    invoice_id: InvoiceId,
    request: Request,
    response: Response,
    session: DbSession,
    user: CurrentUser,
) -> InvoiceOut:
    """List one of the contact's invoices in the deal: 201 when linked now, 200 when it
    already was (unchanged). 404 for another company's invoice or another contact's."""
    ctx = context(request, user)
    row, created = await flow.link_invoice(ctx, session, deal_id, invoice_id)
    response.status_code = 201 if created else 200
    today = (await todays(ctx, session)).get(row.provider, date.today())
    return invoice_out(row, today, can_approve=False)


@router.delete("/deals/{deal_id}/invoice-links/{invoice_id}", status_code=204)
async def delete_invoice_link(
    deal_id: DealId, invoice_id: InvoiceId, request: Request, session: DbSession, user: CurrentUser
) -> Response:
    """Take the invoice out of the deal's list; the invoice and its history stay."""
    await flow.unlink_invoice(context(request, user), session, deal_id, invoice_id)
    return Response(status_code=204)


@router.delete("/deals/{deal_id}/contact-link", status_code=204)
async def delete_deal_contact_link(
    deal_id: DealId,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    provider: Provider | None = None,
) -> Response:
    """Unlink the deal's organization (or person) from its provider contact: the next draft
    suggests contacts again."""
    await flow.unlink_deal_contact(context(request, user), session, deal_id, provider)
    return Response(status_code=204)
