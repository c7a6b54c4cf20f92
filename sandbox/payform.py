"""The "pay this invoice" form on the Xero and QuickBooks stand-ins' invoice pages.

A person stands in for the customer: "Pay in full" pays the whole amount due, "Record part
payment" pays the amount typed. This module only reads the form; each stand-in applies the
payment with the same code as its JSON control call (so its own rules and webhooks apply).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

FULL = "full"
PART = "part"
CENT = Decimal("0.01")


class FormError(ValueError):
    """Bad input, with a message that names the field for the person at the form."""


def amount_to_pay(choice: str, raw: str, due: Decimal) -> Decimal:
    """The amount the submitted form asks to pay; FormError when it cannot be paid."""
    if choice == FULL:
        if due <= 0:
            raise FormError("Amount: nothing is due on this invoice.")
        return due
    if choice != PART:
        raise FormError("Choose Pay in full or Record part payment.")
    text = raw.strip().replace(",", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise FormError(f"Amount: {raw.strip() or 'an empty value'!r} is not a number.") from None
    if not amount.is_finite():
        raise FormError(f"Amount: {raw.strip()!r} is not a number.")
    if amount <= 0:
        raise FormError("Amount: enter more than zero.")
    if amount > due:
        raise FormError(f"Amount: {amount} is more than the amount due, {due}.")
    if amount != amount.quantize(CENT):
        raise FormError("Amount: use at most two decimal places.")
    return amount
