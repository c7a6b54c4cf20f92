"""Pure mapping of Xero sales credit notes (ACCRECCREDIT) and their allocations
(lifecycle-and-billing.md §1.1): created AUTHORISED, then allocated to the invoice by a
separate call, since Xero does not allocate inline at creation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from app.providers.base import CreditNote, CreditNoteDraft
from app.providers.jsonutil import dec0
from app.providers.xero.mapping import line_to_json, parse_date


def credit_note_to_json(draft: CreditNoteDraft) -> dict[str, Any]:
    """The CreditNote body for ``PUT /CreditNotes``: an approved sales credit note."""
    out: dict[str, Any] = {
        "Type": "ACCRECCREDIT",
        "Contact": {"ContactID": draft.contact_id},
        "Date": draft.issue_date.isoformat(),
        "Status": "AUTHORISED",
        "LineAmountTypes": draft.tax_mode.value,
        "LineItems": [line_to_json(line, None) for line in draft.lines],
    }
    if draft.currency:
        out["CurrencyCode"] = draft.currency
    if draft.reference:
        out["Reference"] = draft.reference[:255]
    return out


def credit_note_from_json(data: dict[str, Any]) -> CreditNote:
    return CreditNote(
        id=str(data["CreditNoteID"]),
        number=str(data["CreditNoteNumber"]) if data.get("CreditNoteNumber") else None,
        status=str(data.get("Status") or "AUTHORISED").upper(),
        currency=str(data.get("CurrencyCode") or ""),
        total=dec0(data.get("Total")),
        remaining=dec0(data.get("RemainingCredit")),
        issue_date=parse_date(data.get("DateString") or data.get("Date")),
    )


def allocation_to_json(invoice_id: str, amount: Decimal, on: date) -> dict[str, Any]:
    """One Allocation (all three fields required by the spec); only the new one is sent,
    since resending existing allocations applies them twice."""
    return {"Invoice": {"InvoiceID": invoice_id}, "Amount": amount, "Date": on.isoformat()}
