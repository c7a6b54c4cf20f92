"""Invoices: create (PUT), create-or-update (POST), update one, get one (JSON, XML or PDF),
list with filters and paging, email, online invoice (xero.md section 10)."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sandbox.xero import pdf, rules
from sandbox.xero.api import batch, query, repeating
from sandbox.xero.api.common import (
    bad_request,
    ctx,
    not_found,
    respond,
    state_of,
    validation_error,
    with_errors,
)
from sandbox.xero.api.invoice_write import invoice_by_number, save_invoice
from sandbox.xero.state import XeroState

router = APIRouter()


def _unitdp(request: Request) -> int:
    return 4 if request.query_params.get("unitdp") == "4" else 2


def find_invoice(state: XeroState, tenant: str, ref: str) -> dict[str, Any] | None:
    """By InvoiceID, else by InvoiceNumber (Xero accepts either in the path)."""
    found = state.store.get("xero:invoice", ref.lower())
    if found is not None and found["_tenant"] == tenant:
        return found
    return invoice_by_number(state, tenant, ref)


def view(state: XeroState, invoice: dict[str, Any], unitdp: int, full: bool) -> dict[str, Any]:
    """An invoice as answered: full (lines, whole contact) or the list summary."""
    out = dict(invoice)
    contact = state.store.get("xero:contact", invoice["Contact"]["ContactID"]) or invoice["Contact"]
    if not full:
        # "Without page, a multi-invoice GET returns no line items and only a contact summary".
        out.pop("LineItems", None)
        out["Contact"] = {
            "ContactID": contact["ContactID"],
            "Name": contact["Name"],
            "HasValidationErrors": False,
        }
        return out
    out["Contact"] = contact
    lines = []
    for line in invoice.get("LineItems", []):
        shown = dict(line)
        shown["UnitAmount"] = str(rules.unit(Decimal(line["UnitAmount"]), unitdp))
        if shown.get("AccountID") is None:
            shown.pop("AccountID", None)
        lines.append(shown)
    out["LineItems"] = lines
    return {k: v for k, v in out.items() if v is not None}


@router.get("/Invoices", response_model=None)
async def list_invoices(request: Request) -> Response:
    state, tenant, params = state_of(request), ctx(request)["tenant_id"], request.query_params
    repeating.generate_due(state, tenant)
    docs = state.store.all("xero:invoice", scope=tenant)
    ids = query.id_list(params.get("IDs"))
    if ids is not None:
        docs = [d for d in docs if d["InvoiceID"] in ids]
    numbers = params.get("InvoiceNumbers")
    if numbers:
        wanted = {n.strip() for n in numbers.split(",")}
        docs = [d for d in docs if d.get("InvoiceNumber") in wanted]
    contact_ids = query.id_list(params.get("ContactIDs"))
    if contact_ids is not None:
        docs = [d for d in docs if d["Contact"]["ContactID"] in contact_ids]
    statuses = params.get("Statuses")
    if statuses:
        wanted = {s.strip().upper() for s in statuses.split(",")}
        docs = [d for d in docs if d["Status"] in wanted]
    term = (params.get("searchTerm") or "").strip().lower()
    if term:
        docs = [
            d
            for d in docs
            if term in (d.get("InvoiceNumber") or "").lower()
            or term in (d.get("Reference") or "").lower()
        ]
    try:
        docs = query.modified_since(docs, request.headers.get("if-modified-since"))
        docs = query.where(docs, params.get("where"))
        docs = query.order(docs, params.get("order"))
        docs, pagination = query.paginate(docs, params.get("page"), params.get("pageSize"))
    except query.QueryError as exc:
        return bad_request(request, str(exc))
    full = pagination is not None and params.get("summaryOnly", "").lower() != "true"
    unitdp = _unitdp(request)
    return respond(
        request, "Invoices", [view(state, d, unitdp, full) for d in docs], pagination=pagination
    )


@router.get("/Invoices/{ref}", response_model=None)
async def get_invoice(request: Request, ref: str) -> Response:
    state = state_of(request)
    found = find_invoice(state, ctx(request)["tenant_id"], ref)
    if found is None:
        return not_found(request)
    if "application/pdf" in request.headers.get("accept", "").lower():
        return _pdf(state, found)
    return respond(request, "Invoices", [view(state, found, _unitdp(request), True)])


def _pdf(state: XeroState, invoice: dict[str, Any]) -> Response:
    org = state.org(invoice["_tenant"]) or {}
    contact = state.store.get("xero:contact", invoice["Contact"]["ContactID"]) or invoice["Contact"]
    body = pdf.render_invoice(org, invoice, contact)
    name = invoice.get("InvoiceNumber") or invoice["InvoiceID"]
    return Response(
        body,
        media_type="application/pdf",
        headers={"content-disposition": f'attachment; filename="{name}.pdf"'},
    )


@router.get("/Invoices/{ref}/pdf", response_model=None)
async def get_invoice_pdf(request: Request, ref: str) -> Response:
    state = state_of(request)
    found = find_invoice(state, ctx(request)["tenant_id"], ref)
    return _pdf(state, found) if found else not_found(request)


@router.put("/Invoices", response_model=None)
async def create_invoices(request: Request) -> Response:
    state, tenant, unitdp = state_of(request), ctx(request)["tenant_id"], _unitdp(request)

    def handle(entity: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        doc, errors = save_invoice(state, tenant, entity, None, unitdp)
        return (doc if errors else view(state, doc, unitdp, True)), errors

    return await batch.run(request, "Invoices", handle)


@router.post("/Invoices", response_model=None)
async def create_or_update_invoices(request: Request) -> Response:
    state, tenant, unitdp = state_of(request), ctx(request)["tenant_id"], _unitdp(request)

    def handle(entity: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        existing = None
        if entity.get("InvoiceID"):
            existing = find_invoice(state, tenant, str(entity["InvoiceID"]))
            if existing is None:
                return entity, [f"Invoice with InvoiceID {entity['InvoiceID']} could not be found"]
        elif entity.get("InvoiceNumber"):
            # POST with a matching number updates (freakboy3742/pyxero#328).
            existing = find_invoice(state, tenant, str(entity["InvoiceNumber"]))
        doc, errors = save_invoice(state, tenant, entity, existing, unitdp)
        return (doc if errors else view(state, doc, unitdp, True)), errors

    return await batch.run(request, "Invoices", handle)


@router.post("/Invoices/{ref}", response_model=None)
async def update_invoice(request: Request, ref: str) -> Response:
    state, tenant, unitdp = state_of(request), ctx(request)["tenant_id"], _unitdp(request)
    existing = find_invoice(state, tenant, ref)
    if existing is None:
        return not_found(request)

    def handle(entity: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        doc, errors = save_invoice(state, tenant, entity, existing, unitdp)
        return (doc if errors else view(state, doc, unitdp, True)), errors

    return await batch.run(request, "Invoices", handle)


@router.post("/Invoices/{ref}/Email", response_model=None)
async def email_invoice(request: Request, ref: str) -> Response:
    """Email to the contact (xero.md 10.7): ACCREC in SUBMITTED/AUTHORISED/PAID only -> 204."""
    state, context = state_of(request), ctx(request)
    invoice = find_invoice(state, context["tenant_id"], ref)
    if invoice is None:
        return not_found(request)
    element = {"InvoiceID": invoice["InvoiceID"]}
    if invoice["Type"] != "ACCREC" or invoice["Status"] not in rules.EMAILABLE:
        # The rule is documented; the wording is UNCONFIRMED.
        return validation_error(
            request,
            [
                with_errors(
                    element,
                    [
                        "Invoice must be of type ACCREC and have a status of "
                        "SUBMITTED, AUTHORISED or PAID to be emailed"
                    ],
                )
            ],
        )
    contact = state.store.get("xero:contact", invoice["Contact"]["ContactID"]) or {}
    recipients = [contact["EmailAddress"]] if contact.get("EmailAddress") else []
    recipients += [
        p["EmailAddress"]
        for p in contact.get("ContactPersons", [])
        if p.get("IncludeInEmails") and p.get("EmailAddress")
    ]
    if not recipients:
        return validation_error(
            request,
            [with_errors(element, ["The contact does not have an email address"])],  # UNCONFIRMED
        )
    sender = state.user(context["user_id"]) or {}
    org_name = (state.org(invoice["_tenant"]) or {}).get("Name")
    number = state.store.next_seq("xero:outbox")
    state.store.put(
        "xero:outbox",
        f"{number:08d}",
        {
            "id": number,
            "tenantId": context["tenant_id"],
            "InvoiceID": invoice["InvoiceID"],
            "InvoiceNumber": invoice.get("InvoiceNumber"),
            "to": recipients,
            "from": sender.get("EmailAddress"),
            "subject": f"Invoice {invoice.get('InvoiceNumber')} from {org_name}",
            "at": state.now().isoformat(),
        },
    )
    invoice["SentToContact"] = True
    invoice["UpdatedDateUTC"] = state.now_ms()
    state.store.put("xero:invoice", invoice["InvoiceID"], invoice, scope=invoice["_tenant"])
    if state.batcher is not None:
        state.batcher.add(invoice["_tenant"], "INVOICE", "UPDATE", invoice["InvoiceID"])
    return Response(status_code=204)


@router.get("/Invoices/{ref}/OnlineInvoice", response_model=None)
async def online_invoice(request: Request, ref: str) -> Response:
    state = state_of(request)
    invoice = find_invoice(state, ctx(request)["tenant_id"], ref)
    if invoice is None:
        return not_found(request)
    if invoice["Status"] in ("DRAFT", "DELETED") or invoice["Type"] != "ACCREC":
        # "not available for DRAFT" is third-party (xero.md 10.1); wording UNCONFIRMED.
        return validation_error(
            request,
            [
                with_errors(
                    {"InvoiceID": invoice["InvoiceID"]},
                    ["An online invoice cannot be generated for this invoice"],
                )
            ],
        )
    token = invoice.get("_online")
    if not token:
        token = secrets.token_urlsafe(18)
        invoice["_online"] = token
        state.store.put("xero:invoice", invoice["InvoiceID"], invoice, scope=invoice["_tenant"])
        state.store.put("xero:online", token, {"invoice_id": invoice["InvoiceID"]})
    return respond(request, "OnlineInvoices", [{"OnlineInvoiceUrl": f"{state.base}/in/{token}"}])
