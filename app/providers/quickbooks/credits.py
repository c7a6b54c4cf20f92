"""Pure mapping of QuickBooks credit memos and of the zero-amount Payment that applies one
to an invoice (lifecycle-and-billing.md §2.1): QuickBooks has no allocation call; a Payment
whose two lines link the invoice and the memo for the same amount (TotalAmt 0) applies it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from app.providers.base import CreditNote, CreditNoteDraft, InvoiceDraft
from app.providers.jsonutil import dec0
from app.providers.quickbooks.mapping import invoice_to_json
from app.providers.quickbooks.records import opt, parse_date, ref

# What an invoice body carries that a credit memo has no use for.
_INVOICE_ONLY = ("DueDate", "DocNumber", "BillEmail")


def credit_memo_to_json(draft: CreditNoteDraft) -> dict[str, Any]:
    """The CreditMemo body for ``POST /creditmemo``: the lines and tax as an invoice's
    (a SalesTransaction like it), the reference in PrivateNote."""
    as_invoice = InvoiceDraft(
        contact_id=draft.contact_id,
        issue_date=draft.issue_date,
        currency=draft.currency,
        tax_mode=draft.tax_mode,
        reference=draft.reference,
        global_discount=draft.global_discount,
        lines=draft.lines,
    )
    body = invoice_to_json(as_invoice)
    for key in _INVOICE_ONLY:
        body.pop(key, None)
    return body


def credit_memo_from_json(data: dict[str, Any]) -> CreditNote:
    total = dec0(data.get("TotalAmt"))
    remaining = data.get("RemainingCredit", data.get("Balance"))
    return CreditNote(
        id=str(data["Id"]),
        number=opt(data.get("DocNumber")),
        status="AUTHORISED",
        currency=ref(data.get("CurrencyRef")) or "",
        total=total,
        remaining=dec0(remaining) if remaining is not None else total,
        issue_date=parse_date(data.get("TxnDate")),
    )


def applying_payment(
    contact_id: str, invoice_id: str, memo_id: str, amount: Decimal
) -> dict[str, Any]:
    """The zero-amount Payment: TotalAmt = Σ invoice lines - Σ memo lines = 0."""
    return {
        "CustomerRef": {"value": contact_id},
        "TotalAmt": 0,
        "Line": [
            {"Amount": amount, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]},
            {"Amount": amount, "LinkedTxn": [{"TxnId": memo_id, "TxnType": "CreditMemo"}]},
        ],
    }
