"""Pure invoice rules: line amounts, per-line tax rounding, totals and status transitions.

Sources: xero.md sections 10.4 (line amounts, discounts), 10.5 (transitions) and 13 (rounding).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
STATUSES = ("DRAFT", "SUBMITTED", "DELETED", "AUTHORISED", "PAID", "VOIDED")
CREATE_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED")
LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")

# From -> allowed targets through POST (xero.md 10.5). PAID only comes from payments.
TRANSITIONS: dict[str, frozenset[str]] = {
    "DRAFT": frozenset({"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"}),
    "SUBMITTED": frozenset({"SUBMITTED", "DRAFT", "AUTHORISED", "DELETED"}),
    "AUTHORISED": frozenset({"AUTHORISED", "VOIDED"}),
    "PAID": frozenset(),
    "VOIDED": frozenset(),
    "DELETED": frozenset(),
}
EDITABLE = frozenset({"DRAFT", "SUBMITTED", "AUTHORISED"})
EMAILABLE = frozenset({"SUBMITTED", "AUTHORISED", "PAID"})


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def unit(value: Decimal, unitdp: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-unitdp), rounding=ROUND_HALF_UP)


def to_decimal(value: Any) -> Decimal | None:
    """A request number as Decimal (via str, so 0.1 stays 0.1); None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("not a number")
    try:
        out = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"{value!r} is not a number") from exc
    if not out.is_finite():
        raise ValueError(f"{value!r} is not a number")
    return out


@dataclass(frozen=True)
class LineResult:
    line_amount: Decimal
    tax_amount: Decimal
    discount: Decimal


def line_amount(
    quantity: Decimal,
    unit_amount: Decimal,
    discount_rate: Decimal | None,
    discount_amount: Decimal | None,
) -> tuple[Decimal, Decimal]:
    """(LineAmount, discount) per xero.md 10.4; raises ValueError with Xero's message."""
    gross = quantity * unit_amount
    if discount_rate is not None and discount_rate != 0:
        if discount_rate < 0 or discount_rate > 100:
            raise ValueError("Discount must not be greater than the line total.")
        amount = money(gross * (Decimal(100) - discount_rate) / Decimal(100))
        return amount, money(gross) - amount
    if discount_amount is not None and discount_amount != 0:
        if discount_amount < 0 or discount_amount > money(gross):
            raise ValueError("Discount must not be greater than the line total.")
        return money(gross - discount_amount), money(discount_amount)
    return money(gross), Decimal("0.00")


def line_tax(amount: Decimal, rate: Decimal, line_amount_types: str) -> Decimal:
    """Tax of one line, rounded to 2 dp on its own (Xero sums the rounded line taxes)."""
    if line_amount_types == "NoTax" or rate == 0:
        return Decimal("0.00")
    if line_amount_types == "Inclusive":
        return money(amount * rate / (Decimal(100) + rate))
    return money(amount * rate / Decimal(100))


@dataclass(frozen=True)
class Totals:
    sub_total: Decimal
    total_tax: Decimal
    total: Decimal
    total_discount: Decimal


def totals(lines: list[LineResult], line_amount_types: str) -> Totals:
    tax = sum((ln.tax_amount for ln in lines), Decimal("0.00"))
    amounts = sum((ln.line_amount for ln in lines), Decimal("0.00"))
    discount = sum((ln.discount for ln in lines), Decimal("0.00"))
    # Inclusive lines already contain their tax: the subtotal is what remains.
    sub = amounts - tax if line_amount_types == "Inclusive" else amounts
    return Totals(money(sub), money(tax), money(sub + tax), money(discount))


def transition_error(current: str, target: str, has_payments: bool) -> str | None:
    """Xero's message for a refused status change, or None when it is allowed."""
    if has_payments and target in ("DRAFT", "SUBMITTED", "AUTHORISED") and current == "PAID":
        return (
            f"The status {target} cannot be applied to the invoice because it has payments "
            "or credit notes allocated to it."
        )
    if target not in TRANSITIONS.get(current, frozenset()):
        return "Invoice not of valid status for modification"
    if target == "VOIDED" and has_payments:
        # Xero refuses to void an invoice with allocations; the exact wording for a void is
        # UNCONFIRMED, so the documented allocation message is used.
        return "This document cannot be edited as it has a payment or credit note allocated to it."
    return None
