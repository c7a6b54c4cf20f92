"""Credit notes and their allocations (lifecycle-and-billing.md §1.1; spec /CreditNotes*).

A sales credit note (ACCRECCREDIT) is validated like an invoice (contact, date, currency,
lines and tax) and numbered CN-0001, ...; an allocation applies part of it to an outstanding
invoice of the same type, contact and currency: the invoice's AmountCredited rises, its
AmountDue falls (PAID at 0) and it lists the note under CreditNotes; the note's
RemainingCredit falls (PAID at 0). An allocated invoice can no longer be edited or voided.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sandbox.xero import rules
from sandbox.xero.api import batch
from sandbox.xero.api.common import ctx, not_found, respond, state_of
from sandbox.xero.api.invoice_write import (
    Checked,
    check_contact,
    check_dates,
    check_header,
    check_lines,
    parse_date,
)
from sandbox.xero.state import XeroState, new_id

router = APIRouter()
CREDIT_TYPES = {"ACCRECCREDIT": "ACCREC", "ACCPAYCREDIT": "ACCPAY"}
CREATE_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED")


def find_credit_note(state: XeroState, tenant: str, ref: str) -> dict[str, Any] | None:
    found = state.store.get("xero:creditnote", ref.lower())
    return found if found is not None and found["_tenant"] == tenant else None


def save_credit_note(
    state: XeroState, tenant: str, entity: dict[str, Any], unitdp: int
) -> tuple[dict[str, Any], list[str]]:
    """Create one credit note: (document, []) or (entity, errors), nothing written on errors."""
    credit_type = str(entity.get("Type") or "")
    if credit_type not in CREDIT_TYPES:
        return entity, ["CreditNote Type must be specified as ACCRECCREDIT or ACCPAYCREDIT"]
    status = str(entity.get("Status") or "DRAFT").upper()
    if status not in CREATE_STATUSES:
        return entity, ["Credit note not of valid status for creation"]  # wording UNCONFIRMED
    # Invoice checks apply as to a draft: a credit note has no due date to require.
    checked = Checked(CREDIT_TYPES[credit_type], "DRAFT")
    # The invoice-number check must not see a credit note's number as an invoice's.
    header = {k: v for k, v in entity.items() if k != "InvoiceNumber"}
    check_contact(state, tenant, header, {}, checked)
    check_dates(state, tenant, header, {}, checked)
    check_header(state, tenant, header, {}, checked)
    check_lines(state, tenant, header, {}, checked, unitdp)
    if checked.new_contact_name is not None:
        checked.errors.append("The contact of a credit note must exist")  # UNCONFIRMED
    if checked.errors:
        return entity, checked.errors
    assert checked.contact is not None and checked.sums is not None
    sums = checked.sums
    number = entity.get("CreditNoteNumber") or (
        f"CN-{state.store.next_seq(f'xero:cnno:{tenant}'):04d}"
        if credit_type == "ACCRECCREDIT"
        else ""
    )
    doc: dict[str, Any] = {
        "Type": credit_type,
        "CreditNoteID": new_id(),
        "CreditNoteNumber": str(number),
        "Reference": str(entity.get("Reference") or ""),
        "Contact": {"ContactID": checked.contact["ContactID"], "Name": checked.contact["Name"]},
        "Date": checked.inv_date,
        "DateString": f"{checked.inv_date}T00:00:00",
        "Status": status,
        "LineAmountTypes": checked.amount_types,
        "LineItems": checked.lines,
        "SubTotal": str(sums.sub_total),
        "TotalTax": str(sums.total_tax),
        "Total": str(sums.total),
        "RemainingCredit": str(sums.total),
        "CurrencyCode": checked.currency,
        "CurrencyRate": str(Decimal((checked.currency_doc or {}).get("_rate", "1"))),
        "Allocations": [],
        "Payments": [],
        "HasAttachments": False,
        "HasErrors": False,
        "UpdatedDateUTC": state.now_ms(),
        "_tenant": tenant,
    }
    state.store.put("xero:creditnote", doc["CreditNoteID"], doc, scope=tenant)
    if state.batcher is not None:
        state.batcher.add(tenant, "CREDITNOTE", "CREATE", doc["CreditNoteID"])
    return doc, []


def allocation_problem(
    note: dict[str, Any], invoice: dict[str, Any] | None, amount: Decimal | None
) -> str | None:
    """Why Xero refuses the allocation, or None (rules from xeroizer#320; wording UNCONFIRMED
    except where quoted there)."""
    if note["Status"] != "AUTHORISED":
        return "Only an AUTHORISED credit note can be allocated"
    if invoice is None:
        return "Invoice could not be found"
    if invoice["Type"] != CREDIT_TYPES[note["Type"]]:
        return "The document type of the credit note does not match the invoice's"
    if invoice["Status"] != "AUTHORISED":
        return "Invoice must be AUTHORISED to have a credit note allocated to it"
    if invoice["Contact"]["ContactID"] != note["Contact"]["ContactID"]:
        return "The credit note and the invoice must be for the same contact"
    if invoice["CurrencyCode"] != note["CurrencyCode"]:
        return "The credit note and the invoice must be in the same currency"
    if amount is None or amount <= 0:
        return "Amount must be greater than zero"
    if amount > Decimal(invoice["AmountDue"]):
        return "The amount allocated is greater than the amount outstanding on the invoice"
    if amount > Decimal(note["RemainingCredit"]):
        return "The amount allocated is greater than the remaining credit"
    return None


def allocate(
    state: XeroState, note: dict[str, Any], entity: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """Apply one Allocation to the note's invoice; (allocation, []) or (entity, errors)."""
    ref = (entity.get("Invoice") or {}).get("InvoiceID")
    invoice = state.store.get("xero:invoice", str(ref).lower()) if ref else None
    if invoice is not None and invoice["_tenant"] != note["_tenant"]:
        invoice = None
    try:
        amount = rules.to_decimal(entity.get("Amount"))
        day = parse_date(entity.get("Date")) or state.now().date().isoformat()
    except ValueError:
        return entity, ["Amount and Date must be valid"]  # wording UNCONFIRMED
    problem = allocation_problem(note, invoice, amount)
    if problem:
        return entity, [problem]
    assert invoice is not None and amount is not None
    amount = rules.money(amount)
    allocation = {
        "AllocationID": new_id(),
        "Amount": str(amount),
        "Date": day,
        "Invoice": {"InvoiceID": invoice["InvoiceID"], "InvoiceNumber": invoice["InvoiceNumber"]},
        "CreditNote": {"CreditNoteID": note["CreditNoteID"]},
        "IsDeleted": False,
    }
    with state.store.transaction():
        credit_invoice(state, invoice, note, amount, day)
        note["Allocations"] = [*note.get("Allocations", []), allocation]
        remaining = Decimal(note["RemainingCredit"]) - amount
        note["RemainingCredit"] = str(rules.money(remaining))
        if remaining == 0:
            note["Status"] = "PAID"
            note["FullyPaidOnDate"] = day
        note["UpdatedDateUTC"] = state.now_ms()
        state.store.put("xero:creditnote", note["CreditNoteID"], note, scope=note["_tenant"])
    if state.batcher is not None:
        state.batcher.add(note["_tenant"], "CREDITNOTE", "UPDATE", note["CreditNoteID"])
        state.batcher.add(note["_tenant"], "INVOICE", "UPDATE", invoice["InvoiceID"])
    return allocation, []


def credit_invoice(
    state: XeroState, invoice: dict[str, Any], note: dict[str, Any], amount: Decimal, day: str
) -> None:
    """The invoice's side of an allocation (written by the caller's transaction)."""
    credited = Decimal(invoice.get("AmountCredited") or "0") + amount
    due = Decimal(invoice["AmountDue"]) - amount
    invoice["AmountCredited"] = str(rules.money(credited))
    invoice["AmountDue"] = str(rules.money(due))
    listed = invoice.get("CreditNotes", [])
    mine = next((c for c in listed if c["CreditNoteID"] == note["CreditNoteID"]), None)
    others = [c for c in listed if c is not mine]
    before = Decimal(mine["AppliedAmount"]) if mine else Decimal("0")
    invoice["CreditNotes"] = [
        *others,
        {
            "CreditNoteID": note["CreditNoteID"],
            "CreditNoteNumber": note["CreditNoteNumber"],
            "Total": note["Total"],
            "AppliedAmount": str(rules.money(before + amount)),
            "Date": day,
            "HasErrors": False,
        },
    ]
    if due == 0:
        invoice["Status"] = "PAID"
        invoice["FullyPaidOnDate"] = day
    invoice["UpdatedDateUTC"] = state.now_ms()
    state.store.put("xero:invoice", invoice["InvoiceID"], invoice, scope=invoice["_tenant"])


def _unitdp(request: Request) -> int:
    return 4 if request.query_params.get("unitdp") == "4" else 2


@router.put("/CreditNotes", response_model=None)
async def create_credit_notes(request: Request) -> Response:
    state, tenant, unitdp = state_of(request), ctx(request)["tenant_id"], _unitdp(request)
    return await batch.run(
        request, "CreditNotes", lambda entity: save_credit_note(state, tenant, entity, unitdp)
    )


@router.get("/CreditNotes/{ref}", response_model=None)
async def get_credit_note(request: Request, ref: str) -> Response:
    state = state_of(request)
    found = find_credit_note(state, ctx(request)["tenant_id"], ref)
    if found is None:
        return not_found(request)
    return respond(request, "CreditNotes", [found])


@router.put("/CreditNotes/{ref}/Allocations", response_model=None)
async def create_allocation(request: Request, ref: str) -> Response:
    state = state_of(request)
    note = find_credit_note(state, ctx(request)["tenant_id"], ref)
    if note is None:
        return not_found(request)
    return await batch.run(request, "Allocations", lambda entity: allocate(state, note, entity))
