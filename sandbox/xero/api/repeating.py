"""Repeating invoices (lifecycle-and-billing.md §1.3; spec /RepeatingInvoices*): created
(PUT, or POST without an id) and deleted (POST with Status DELETED), never edited (a POST
for an existing one with any other status: "Repeating invoice status must be set to
DELETED"); Schedule units WEEKLY or MONTHLY only. When the sandbox clock reaches a
template's NextScheduledDate, its invoice is generated (in the template's status, DRAFT or
AUTHORISED, carrying RepeatingInvoiceID) and the date moves on, up to EndDate; generation
happens when invoices or templates are read, which is when a caller could notice it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sandbox.xero.api import batch
from sandbox.xero.api.common import ctx, not_found, respond, state_of
from sandbox.xero.api.invoice_write import (
    Checked,
    check_contact,
    check_header,
    check_lines,
    parse_date,
    save_invoice,
    today,
)
from sandbox.xero.state import XeroState, new_id

router = APIRouter()
UNITS = ("WEEKLY", "MONTHLY")
NOT_EDITABLE = "Repeating invoice status must be set to DELETED"


def add_period(day: date, unit: str, period: int, anchor: int) -> date:
    if unit == "WEEKLY":
        return day + timedelta(weeks=period)
    index = day.month - 1 + period
    year, month = day.year + index // 12, index % 12 + 1
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(anchor, last))


def check_schedule(raw: Any, errors: list[str]) -> dict[str, Any]:
    """The Schedule as stored; problems go to ``errors`` (wording UNCONFIRMED)."""
    if not isinstance(raw, dict):
        errors.append("A repeating invoice needs a Schedule")
        return {}
    unit = str(raw.get("Unit") or "")
    if unit not in UNITS:
        errors.append("Schedule Unit must be WEEKLY or MONTHLY")
    period = raw.get("Period")
    if not isinstance(period, int) or isinstance(period, bool) or period < 1:
        errors.append("Schedule Period must be a whole number of at least 1")
    try:
        start = parse_date(raw.get("StartDate"))
        end = parse_date(raw.get("EndDate"))
    except ValueError:
        start = end = None
        errors.append("Schedule dates must be valid dates")
    if start is None:
        errors.append("Schedule StartDate is required")
    if start and end and end < start:
        errors.append("Schedule EndDate must not be before its StartDate")
    return {
        "Period": period,
        "Unit": unit,
        "DueDate": raw.get("DueDate", 0),
        "DueDateType": raw.get("DueDateType", "DAYSAFTERBILLDATE"),
        "StartDate": start,
        "NextScheduledDate": start,
        "EndDate": end,
    }


def save_template(
    state: XeroState, tenant: str, entity: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """Create one repeating invoice: (document, []) or (entity, errors), nothing written."""
    kind = str(entity.get("Type") or "")
    status = str(entity.get("Status") or "DRAFT").upper()
    if kind not in ("ACCREC", "ACCPAY"):
        return entity, ["Type must be ACCREC or ACCPAY"]
    if status not in ("DRAFT", "AUTHORISED"):
        return entity, ["A repeating invoice is created as DRAFT or AUTHORISED"]
    checked = Checked(kind, "DRAFT")
    schedule = check_schedule(entity.get("Schedule"), checked.errors)
    check_contact(state, tenant, entity, {}, checked)
    header = {k: v for k, v in entity.items() if k != "InvoiceNumber"}
    check_header(state, tenant, header, {}, checked)
    check_lines(state, tenant, entity, {}, checked, 4)
    if checked.new_contact_name is not None:
        checked.errors.append("The contact of a repeating invoice must exist")
    if checked.errors:
        return entity, checked.errors
    assert checked.contact is not None and checked.sums is not None
    ident = new_id()
    doc = {
        "Type": kind,
        "RepeatingInvoiceID": ident,
        "ID": ident,
        "Contact": {"ContactID": checked.contact["ContactID"], "Name": checked.contact["Name"]},
        "Schedule": schedule,
        "LineItems": checked.lines,
        "LineAmountTypes": checked.amount_types,
        "Reference": str(entity.get("Reference") or ""),
        "CurrencyCode": checked.currency,
        "Status": status,
        "SubTotal": str(checked.sums.sub_total),
        "TotalTax": str(checked.sums.total_tax),
        "Total": str(checked.sums.total),
        "HasAttachments": False,
        "_raw_lines": entity.get("LineItems") or [],
        "_tenant": tenant,
    }
    state.store.put("xero:repeating", ident, doc, scope=tenant)
    return doc, []


def delete_or_refuse(
    state: XeroState, found: dict[str, Any], entity: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    if str(entity.get("Status") or "").upper() != "DELETED" or found["Status"] == "DELETED":
        return entity, [NOT_EDITABLE]
    found["Status"] = "DELETED"
    state.store.put("xero:repeating", found["RepeatingInvoiceID"], found, scope=found["_tenant"])
    return found, []


def generate_due(state: XeroState, tenant: str) -> None:
    """Make the invoices whose date the sandbox clock has reached, each once."""
    now = date.fromisoformat(today(state, tenant))
    for doc in state.store.all("xero:repeating", scope=tenant):
        sched = doc["Schedule"]
        while doc["Status"] != "DELETED" and sched.get("NextScheduledDate"):
            day = date.fromisoformat(sched["NextScheduledDate"])
            end = sched.get("EndDate")
            if day > now or (end and day > date.fromisoformat(end)):
                break
            invoice = {
                "Type": doc["Type"],
                "Contact": {"ContactID": doc["Contact"]["ContactID"]},
                "Date": day.isoformat(),
                "DueDate": (day + timedelta(days=int(sched.get("DueDate") or 0))).isoformat(),
                "LineAmountTypes": doc["LineAmountTypes"],
                "LineItems": doc["_raw_lines"],
                "Reference": doc["Reference"],
                "CurrencyCode": doc["CurrencyCode"],
                "Status": doc["Status"],
            }
            made, errors = save_invoice(state, tenant, invoice, None, 4)
            if not errors:
                made["RepeatingInvoiceID"] = doc["RepeatingInvoiceID"]
                state.store.put("xero:invoice", made["InvoiceID"], made, scope=tenant)
            start = date.fromisoformat(sched["StartDate"])
            nxt = add_period(day, sched["Unit"], int(sched["Period"]), start.day)
            sched["NextScheduledDate"] = nxt.isoformat()
            state.store.put("xero:repeating", doc["RepeatingInvoiceID"], doc, scope=tenant)


def view(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "_raw_lines"}


@router.put("/RepeatingInvoices", response_model=None)
async def create_templates(request: Request) -> Response:
    state, tenant = state_of(request), ctx(request)["tenant_id"]

    def handle(entity: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        doc, errors = save_template(state, tenant, entity)
        return (doc if errors else view(doc)), errors

    return await batch.run(request, "RepeatingInvoices", handle)


def find(state: XeroState, tenant: str, ref: str) -> dict[str, Any] | None:
    found = state.store.get("xero:repeating", ref.lower())
    return found if found is not None and found["_tenant"] == tenant else None


@router.post("/RepeatingInvoices", response_model=None)
async def create_or_delete(request: Request) -> Response:
    state, tenant = state_of(request), ctx(request)["tenant_id"]

    def handle(entity: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        ref = entity.get("RepeatingInvoiceID") or entity.get("ID")
        if ref:
            found = find(state, tenant, str(ref))
            if found is None:
                return entity, [f"Repeating invoice {ref} could not be found"]
            doc, errors = delete_or_refuse(state, found, entity)
        else:
            doc, errors = save_template(state, tenant, entity)
        return (doc if errors else view(doc)), errors

    return await batch.run(request, "RepeatingInvoices", handle)


@router.post("/RepeatingInvoices/{ref}", response_model=None)
async def delete_one(request: Request, ref: str) -> Response:
    state, tenant = state_of(request), ctx(request)["tenant_id"]
    found = find(state, tenant, ref)
    if found is None:
        return not_found(request)

    def handle(entity: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        doc, errors = delete_or_refuse(state, found, entity)
        return (doc if errors else view(doc)), errors

    return await batch.run(request, "RepeatingInvoices", handle)


@router.get("/RepeatingInvoices", response_model=None)
async def list_templates(request: Request) -> Response:
    state, tenant = state_of(request), ctx(request)["tenant_id"]
    generate_due(state, tenant)
    docs = state.store.all("xero:repeating", scope=tenant)
    return respond(request, "RepeatingInvoices", [view(d) for d in docs])


@router.get("/RepeatingInvoices/{ref}", response_model=None)
async def get_template(request: Request, ref: str) -> Response:
    state, tenant = state_of(request), ctx(request)["tenant_id"]
    generate_due(state, tenant)
    found = find(state, tenant, ref)
    return respond(request, "RepeatingInvoices", [view(found)]) if found else not_found(request)
