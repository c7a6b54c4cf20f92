"""The Create invoice dialog's "Part of the deal" fields: the whole deal, a percentage, an
amount, the balance, or one of the deal's Pipedrive installments, read back as the API's
``part`` (its numbers as typed: the flow reads them in the user's locale)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.datastructures import FormData

MODES = ("whole", "percent", "amount", "balance")


def text(form: FormData, name: str) -> str:
    return str(form.get(name) or "").strip()


def installment_part(form: FormData, mode: str) -> dict[str, Any] | None:
    """An installment chosen in the list: its amount and description, written by the dialog."""
    raw_id = mode.removeprefix("installment-")
    if not (raw_id.isascii() and raw_id.isdigit()):
        return None
    try:
        amount = Decimal(text(form, f"{mode}-amount"))
    except InvalidOperation:
        return None
    return {
        "amount": amount,
        "installment_id": int(raw_id),
        "label": text(form, "part_label") or text(form, f"{mode}-label")[:100] or None,
    }


def part_from_form(form: FormData, errors: dict[str, str], review: bool) -> dict[str, Any] | None:
    """The dialog's part as the API's ``part`` (None: the whole deal). A percentage or amount
    left empty is a message beside the part (only once the user creates)."""
    mode = text(form, "part_mode") or "whole"
    confirm = form.get("confirm_over") == "on"
    if mode.startswith("installment-"):
        part = installment_part(form, mode)
        if part is None:
            errors.setdefault("part", "Choose one of the deal's installments again.")
            return None
        return {**part, "confirm_over": confirm}
    if mode not in MODES or mode == "whole":
        return None
    label = text(form, "part_label")[:100] or None
    if mode == "balance":
        return {"balance": True, "label": label, "confirm_over": confirm}
    value = text(form, "part_value")
    if not value:
        if not review:
            what = "percentage" if mode == "percent" else "amount"
            errors.setdefault("part", f"Give the part's {what}.")
        return None
    return {mode: value[:40], "label": label, "confirm_over": confirm}
