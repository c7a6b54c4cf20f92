"""Pure mapping between QuickBooks Online invoices and our DTOs (quickbooks.md, XSD names).

Company, lookups, customers, items and the query language are in ``records``.
"""

from __future__ import annotations

from typing import Any

from app.providers.base import (
    Features,
    Invoice,
    InvoiceDraft,
    InvoiceLine,
)
from app.providers.errors import FieldMessage
from app.providers.jsonutil import dec, dec0
from app.providers.markers import marker_in, note_with_marker, without_marker
from app.providers.money import qbo_discount, qbo_line_amount
from app.providers.quickbooks.records import (
    ZERO,
    opt,
    parse_date,
    parse_datetime,
    ref,
)
from app.providers.quickbooks.spec import TAX_CALCULATION

# PrivateNote holds at most 4,000 characters.
NOTE_LIMIT = 4000


def draft_errors(draft: InvoiceDraft, feats: Features | None = None) -> list[FieldMessage]:
    """What QuickBooks cannot take from this draft, found before calling it."""
    errors = []
    for index, line in enumerate(draft.lines):
        if line.discount_rate is not None or line.discount_amount is not None:
            errors.append(
                FieldMessage(
                    "QuickBooks has no line discounts; use an invoice discount instead.",
                    f"lines[{index}].discount_rate",
                )
            )
    if draft.template_id:
        errors.append(FieldMessage("QuickBooks invoices have no templates.", "template_id"))
    if draft.invoice_number and len(draft.invoice_number) > 21:
        errors.append(
            FieldMessage("A QuickBooks invoice number has at most 21 characters.", "invoice_number")
        )
    discount = draft.global_discount
    if discount and discount.rate is not None and discount.amount is not None:
        errors.append(
            FieldMessage("Give the discount as a rate or an amount, not both.", "global_discount")
        )
    if feats and draft.tax_mode not in feats.tax_modes:
        errors.append(
            FieldMessage(
                f"This QuickBooks company does not support {draft.tax_mode.value} amounts.",
                "tax_mode",
            )
        )
    return errors


def invoice_to_json(draft: InvoiceDraft) -> dict[str, Any]:
    """The Invoice body for ``POST /invoice`` (quickbooks.md §3.2, §3.4).

    Amount = Qty x UnitPrice on every line (error 6070 otherwise); an invoice discount becomes a
    DiscountLineDetail line. QuickBooks has no draft state: every created invoice is open.
    """
    lines: list[dict[str, Any]] = []
    subtotal = ZERO
    for line in draft.lines:
        amount = qbo_line_amount(line.quantity, line.unit_price)
        subtotal += amount
        detail: dict[str, Any] = {"Qty": line.quantity, "UnitPrice": line.unit_price}
        if line.item_id:
            detail["ItemRef"] = {"value": line.item_id}
        tax = line.tax_code or draft.tax_code
        if tax:
            detail["TaxCodeRef"] = {"value": tax}
        if line.account_code:
            detail["ItemAccountRef"] = {"value": line.account_code}
        lines.append(
            {
                "Amount": amount,
                "Description": line.description,
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": detail,
            }
        )
    discount = draft.global_discount
    if discount and (discount.rate is not None or discount.amount is not None):
        discount_detail: dict[str, Any] = {"PercentBased": discount.rate is not None}
        if discount.rate is not None:
            discount_detail["DiscountPercent"] = discount.rate
        if discount.account_code:
            discount_detail["DiscountAccountRef"] = {"value": discount.account_code}
        lines.append(
            {
                "Amount": qbo_discount(subtotal, discount.rate, discount.amount),
                "DetailType": "DiscountLineDetail",
                "DiscountLineDetail": discount_detail,
            }
        )
    out: dict[str, Any] = {
        "CustomerRef": {"value": draft.contact_id},
        "TxnDate": draft.issue_date.isoformat(),
        "GlobalTaxCalculation": TAX_CALCULATION[draft.tax_mode],
        "Line": lines,
    }
    if draft.due_date:
        out["DueDate"] = draft.due_date.isoformat()
    if draft.currency:
        out["CurrencyRef"] = {"value": draft.currency}
    if draft.invoice_number:
        out["DocNumber"] = draft.invoice_number
    note = "\n".join(x for x in (draft.reference, draft.url) if x)
    if draft.marker:
        note = note_with_marker(note, draft.marker, NOTE_LIMIT)
    if note:
        out["PrivateNote"] = note[:NOTE_LIMIT]
    if draft.memo:
        out["CustomerMemo"] = {"value": draft.memo[:1000]}
    if draft.bill_email:
        out["BillEmail"] = {"Address": draft.bill_email}
    return out


def _line_from_json(data: dict[str, Any]) -> InvoiceLine | None:
    kind = data.get("DetailType")
    if kind == "SubTotalLineDetail":
        return None
    if kind == "DiscountLineDetail":
        detail = data.get("DiscountLineDetail") or {}
        return InvoiceLine(
            id=opt(data.get("Id")),
            description=opt(data.get("Description")),
            discount_rate=dec(detail.get("DiscountPercent"))
            if detail.get("PercentBased")
            else None,
            discount_amount=dec0(data.get("Amount")),
            account_code=ref(detail.get("DiscountAccountRef")),
            amount=dec0(data.get("Amount")),
            kind="discount",
        )
    if kind == "SalesItemLineDetail":
        detail = data.get("SalesItemLineDetail") or {}
        return InvoiceLine(
            id=opt(data.get("Id")),
            description=opt(data.get("Description")),
            quantity=dec(detail.get("Qty")),
            unit_price=dec(detail.get("UnitPrice")),
            item_id=ref(detail.get("ItemRef")),
            tax_code=ref(detail.get("TaxCodeRef")),
            account_code=ref(detail.get("ItemAccountRef")),
            amount=dec0(data.get("Amount")),
        )
    return InvoiceLine(
        id=opt(data.get("Id")),
        description=opt(data.get("Description")),
        amount=dec0(data.get("Amount")),
        kind="description",
    )


def lifecycle_status(data: dict[str, Any]) -> str:
    """ACTIVE, VOIDED or DELETED (quickbooks.md §8): QuickBooks has no status field.

    A void zeroes the amounts and prepends "Voided" to PrivateNote; a delete leaves only
    ``status: Deleted`` (CDC) or answers 610 (read).
    """
    if str(data.get("status") or "").lower() == "deleted":
        return "DELETED"
    if str(data.get("status") or "").lower() == "voided":
        return "VOIDED"
    if (
        dec0(data.get("TotalAmt")) == ZERO
        and dec0(data.get("Balance")) == ZERO
        and str(data.get("PrivateNote") or "").startswith("Voided")
    ):
        return "VOIDED"
    return "ACTIVE"


def invoice_from_json(data: dict[str, Any]) -> Invoice:
    total = dec0(data.get("TotalAmt"))
    balance = dec0(data.get("Balance"))
    raw_lines = data.get("Line") or []
    lines = tuple(x for x in (_line_from_json(line) for line in raw_lines) if x is not None)
    tax = dec0((data.get("TxnTaxDetail") or {}).get("TotalTax"))
    subtotal_line = next(
        (x for x in raw_lines if x.get("DetailType") == "SubTotalLineDetail"), None
    )
    discount = sum((x.amount for x in lines if x.kind == "discount"), ZERO)
    if subtotal_line is not None:
        subtotal = dec0(subtotal_line.get("Amount")) - discount
    else:
        subtotal = sum((x.amount for x in lines if x.kind == "item"), ZERO) - discount
    mode = {v: k for k, v in TAX_CALCULATION.items()}.get(str(data.get("GlobalTaxCalculation")))
    linked = data.get("LinkedTxn") or []
    paid = total - balance if total > balance else ZERO
    customer = data.get("CustomerRef") or {}
    return Invoice(
        id=str(data["Id"]),
        number=opt(data.get("DocNumber")),
        contact_id=ref(customer),
        contact_name=opt(customer.get("name")) if isinstance(customer, dict) else None,
        status=lifecycle_status(data),
        issue_date=parse_date(data.get("TxnDate")),
        due_date=parse_date(data.get("DueDate")),
        currency=ref(data.get("CurrencyRef")) or "",
        tax_mode=mode,
        subtotal=subtotal,
        total_tax=tax,
        total=total,
        amount_paid=paid,
        amount_due=balance,
        has_payments=paid > ZERO or any(str(t.get("TxnType")) == "Payment" for t in linked),
        lines=lines,
        reference=without_marker(opt(data.get("PrivateNote"))),
        marker=marker_in(opt(data.get("PrivateNote"))),
        updated_at=parse_datetime((data.get("MetaData") or {}).get("LastUpdatedTime")),
        is_sent=str(data.get("EmailStatus") or "") == "EmailSent"
        or str(data.get("EInvoiceStatus") or "") in {"Sent", "Viewed", "Delivered"},
        online_url=opt(data.get("InvoiceLink")),
        bill_email=opt((data.get("BillEmail") or {}).get("Address")),
        sync_token=opt(data.get("SyncToken")),
    )
