"""Deal arithmetic: a deal product's ``sum`` and the deal's ``value``.

Reference §4.3's example fixes the rule: item_price 100 x quantity 2, discount 10 %,
tax 20 % exclusive → sum 216.0, i.e. (price x qty - discount) x (1 + tax) for exclusive tax;
inclusive prices already contain the tax and ``none`` adds none. Computed in Decimal, stored
as JSON numbers like the real API returns them.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
TAX_METHODS = ("exclusive", "inclusive", "none")
DISCOUNT_TYPES = ("percentage", "amount")


def dec(value: Any) -> Decimal:
    return Decimal(str(value if value is not None else 0))


def number(value: Decimal) -> float | int:
    """A JSON number as Pipedrive prints it: integers without a fraction."""
    rounded = value.quantize(CENT, ROUND_HALF_UP)
    return int(rounded) if rounded == rounded.to_integral_value() else float(rounded)


def line_sum(line: dict[str, Any]) -> Decimal:
    gross = dec(line["item_price"]) * dec(line["quantity"])
    if line.get("discount_type") == "amount":
        net = gross - dec(line.get("discount"))
    else:
        net = gross * (1 - dec(line.get("discount")) / 100)
    if line.get("tax_method") == "exclusive":
        net = net * (1 + dec(line.get("tax")) / 100)
    return max(net, Decimal(0)).quantize(CENT, ROUND_HALF_UP)


def deal_value(lines: list[dict[str, Any]], discounts: list[dict[str, Any]]) -> Decimal:
    """Products total less deal-level discounts (percentages of the total, then amounts)."""
    total = sum((line_sum(line) for line in lines if line.get("is_enabled", True)), Decimal(0))
    for discount in discounts:
        if discount["type"] == "percentage":
            total -= total * dec(discount["amount"]) / 100
        else:
            total -= dec(discount["amount"])
    return max(total, Decimal(0)).quantize(CENT, ROUND_HALF_UP)


def make_line(
    *,
    line_id: int,
    deal: dict[str, Any],
    product: dict[str, Any],
    order_nr: int,
    quantity: Any,
    item_price: Any = None,
    discount: Any = 0,
    discount_type: str = "percentage",
    tax: Any = None,
    tax_method: str = "exclusive",
    comments: str = "",
    now: str,
) -> dict[str, Any]:
    """A deal product (attachment) in the v2 shape; `id` is the attachment id."""
    if item_price is None:
        prices = {p["currency"]: p["price"] for p in product["prices"]}
        item_price = prices.get(deal["currency"], product["prices"][0]["price"])
    line: dict[str, Any] = {
        "id": line_id,
        "deal_id": deal["id"],
        "product_id": product["id"],
        "product_variation_id": None,
        "name": product["name"],
        "item_price": number(dec(item_price)),
        "quantity": quantity,
        "discount": number(dec(discount)),
        "discount_type": discount_type,
        "tax": number(dec(product["tax"] if tax is None else tax)),
        "tax_method": tax_method,
        "sum": 0,
        "currency": deal["currency"],
        "comments": comments,
        "is_enabled": True,
        "order_nr": order_nr,
        "add_time": now,
        "update_time": now,
        "billing_frequency": "one-time",
        "billing_frequency_cycles": None,
        "billing_start_date": None,
    }
    line["sum"] = number(line_sum(line))
    return line


def make_discount(
    *,
    discount_id: str,
    deal: dict[str, Any],
    kind: str,
    amount: Any,
    description: str,
    user_id: int,
    now: str,
) -> dict[str, Any]:
    """A deal-level discount in the v2 shape (reference §4.3)."""
    return {
        "id": discount_id,
        "type": kind,
        "amount": number(dec(amount)),
        "description": description,
        "deal_id": deal["id"],
        "created_at": now,
        "created_by": user_id,
        "updated_at": now,
        "updated_by": user_id,
    }


def recompute_value(
    deal: dict[str, Any], lines: list[dict[str, Any]], discounts: list[dict[str, Any]]
) -> None:
    """A deal with products is worth their total (less discounts); without, its own value."""
    if lines:
        deal["value"] = number(deal_value(lines, discounts))


BILLING_FREQUENCIES = ("one-time", "annually", "semi-annually", "quarterly", "monthly", "weekly")


def billing_problem(frequency: str, cycles: int | None, start: str | None) -> str | None:
    """Pipedrive's rules for a deal product's billing fields (lifecycle-and-billing.md §3.7),
    or None when they hold."""
    if frequency not in BILLING_FREQUENCIES:
        return f"billing_frequency must be one of {', '.join(BILLING_FREQUENCIES)}"
    if frequency == "one-time" and cycles is not None:
        return "billing_frequency_cycles must be null for a one-time product"
    if frequency == "weekly" and cycles is None:
        return "billing_frequency_cycles is required for a weekly product"
    if cycles is not None and not 1 <= cycles <= 208:
        return "billing_frequency_cycles must be a positive integer of at most 208"
    if start is not None:
        try:
            date.fromisoformat(start)
        except ValueError:
            return "billing_start_date must be a date (YYYY-MM-DD)"
    return None
