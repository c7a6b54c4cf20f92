"""Pure invoice rules: line checks, totals, tax and the derived status (quickbooks.md §3, §8)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.quickbooks import errors

CENT = Decimal("0.01")
SALES = "SalesItemLineDetail"
DISCOUNT = "DiscountLineDetail"
SUBTOTAL = "SubTotalLineDetail"
DESCRIPTION = "DescriptionOnly"


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def dec(value: Any) -> Decimal:
    return Decimal(str(value))


def check_line_amount(line: dict[str, Any], index: int) -> Decimal:
    """A sales line's Amount must equal Qty * UnitPrice (error 6070) when both are given."""
    if "Amount" not in line or line["Amount"] is None:
        raise errors.required("Line.Amount", element=f"Line[{index}].Amount")
    amount = dec(line["Amount"])
    detail = line.get(SALES) or {}
    qty, price = detail.get("Qty"), detail.get("UnitPrice")
    if qty is not None and price is not None and cents(dec(qty) * dec(price)) != cents(amount):
        raise errors.business(
            "6070",
            f"Amount is not equal to UnitPrice * Qty. Supplied value:{amount}",
            element=f"Line[{index}].Amount",
        )
    return amount


def discount_of(line: dict[str, Any], base: Decimal) -> Decimal:
    """Percent-based lines take a share of the base; amount-based lines their Amount (6090)."""
    detail = line.get(DISCOUNT) or {}
    if detail.get("PercentBased") and detail.get("DiscountPercent") is not None:
        return cents(base * dec(detail["DiscountPercent"]) / 100)
    if line.get("Amount") is not None:
        return cents(dec(line["Amount"]))
    raise errors.business("6090", "Discount amount or discount percent is missing.", "Line")


@dataclass
class Totals:
    subtotal: Decimal
    discount: Decimal
    taxable: Decimal
    tax: Decimal
    total: Decimal


def totals(
    lines: list[dict[str, Any]],
    rates: dict[str, Decimal],
    *,
    apply_tax_after_discount: bool,
    explicit_tax: Decimal | None,
) -> Totals:
    """Subtotal of sales lines, discount, tax per tax code (US: TAX uses the sales tax rate).

    Tax is computed on the taxable amount as a whole and rounded once, as US sales tax is; an
    explicit TxnTaxDetail.TotalTax is honoured (quickbooks.md §3.4, Tax).
    """
    subtotal = Decimal("0")
    taxable = Decimal("0")
    tax_by_code: dict[str, Decimal] = {}
    for line in lines:
        if line.get("DetailType") != SALES:
            continue
        amount = dec(line["Amount"])
        subtotal += amount
        code = ((line.get(SALES) or {}).get("TaxCodeRef") or {}).get("value", "NON")
        rate = rates.get(code, Decimal("0"))
        if rate:
            taxable += amount
            tax_by_code[code] = tax_by_code.get(code, Decimal("0")) + amount
    discount = Decimal("0")
    for line in lines:
        if line.get("DetailType") == DISCOUNT:
            amount = discount_of(line, subtotal)
            line["Amount"] = float(amount)
            discount += amount
    if apply_tax_after_discount and subtotal and discount:
        share = (subtotal - discount) / subtotal
        tax_by_code = {code: base * share for code, base in tax_by_code.items()}
        taxable = taxable * share
    if explicit_tax is not None:
        tax = cents(explicit_tax)
    else:
        tax = cents(sum((base * rates[c] / 100 for c, base in tax_by_code.items()), Decimal("0")))
    total = cents(subtotal - discount + tax)
    return Totals(cents(subtotal), cents(discount), cents(taxable), tax, total)


def derive_status(invoice: dict[str, Any], today: date) -> str:
    """Voided / Paid / Partially paid / Overdue / Open, per the §8 table (top-down)."""
    total = dec(invoice.get("TotalAmt", 0))
    balance = dec(invoice.get("Balance", 0))
    if invoice.get("_voided"):
        return "Voided"
    if balance == 0 and total > 0:
        return "Paid"
    if 0 < balance < total:
        return "Partially paid"
    due = invoice.get("DueDate")
    if balance > 0 and due and date.fromisoformat(due) < today:
        return "Overdue"
    if balance == 0:
        return "Paid"
    return "Open"
