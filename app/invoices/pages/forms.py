"""The deal panel's form plumbing: the Create invoice dialog's fields to and from the API's
shapes, where each check's message is shown, and money and dates as people read them.

No business rule lives here: totals and checks come from app.invoices.rules, the draft and
creation from app.invoices.flows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from babel.dates import format_date
from babel.numbers import get_currency_precision, get_currency_symbol
from pydantic import ValidationError
from starlette.datastructures import FormData

from app.crm.pipedrive.schemas import MAX_PIPEDRIVE_ID
from app.invoices.pages.numbers import DEFAULT_LOCALE, AmbiguousNumber, parse_number, plain_in
from app.invoices.pages.parts import part_from_form
from app.invoices.rules.meta import PROVIDER_LABEL
from app.invoices.schemas import Check, DraftLine, DraftOut, InvoiceIn
from app.providers.base import TaxMode

# The providers in the order the panel shows them, by name.
PROVIDER_LABELS = PROVIDER_LABEL
TAX_MODE_LABELS = {
    TaxMode.exclusive: "Tax exclusive",
    TaxMode.inclusive: "Tax inclusive",
    TaxMode.no_tax: "No tax",
}


def pipedrive_id(raw: object) -> int | None:
    """A Pipedrive id carried in a form or query (ASCII digits, at least 1, within BIGINT);
    None for anything else, which must never be sent on to Pipedrive."""
    text = str(raw or "").strip()
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_PIPEDRIVE_ID else None


LINE_FIELDS = (
    "description",
    "quantity",
    "unit_price",
    "discount_rate",
    "discount_amount",
    "tax_code",
    "account_code",
    "item_id",
    "item_code",
    "item_name",
    "crm_product_id",
    "kind",
    "link_state",
    "note",
    "deal_tax_rate",
)
_LINE_KEY = re.compile(r"^lines-(\d{1,3})-([a-z_]+)$")
_LINE_FIELD = re.compile(r"^lines\[(\d+)\]")


def money(amount: Decimal | None, currency: str) -> str:
    """An amount in its currency, the way an English reader expects it: NZ$1,234.50.

    The same text as babel's ``format_currency(amount, currency, locale="en")`` (a property
    test holds them equal), with the currency's symbol and digits looked up once: a panel of
    200 invoices formats 600 amounts, and babel's pattern work per call was a third of it."""
    try:
        symbol, digits = currency_format(currency)
    except (ValueError, KeyError):
        return f"{amount or 0} {currency}"
    value = amount if amount is not None else Decimal(0)
    sign = "-" if value.is_signed() else ""
    return f"{sign}{symbol}{abs(value):,.{digits}f}"


@lru_cache(maxsize=512)
def currency_format(currency: str) -> tuple[str, int]:
    """The currency's symbol for an English reader and its number of decimals."""
    return get_currency_symbol(currency, locale="en"), get_currency_precision(currency)


def day(value: date | None) -> str:
    """A date as 20 Mar 2026."""
    return format_date(value, "d MMM yyyy", locale="en") if value else "not set"


def plain(value: Decimal | None, locale: str = DEFAULT_LOCALE) -> str:
    """A number for an input field (no exponent, no trailing zeros beyond the cents, no
    grouping), with the user's decimal mark."""
    if value is None:
        return ""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return plain_in(text, locale)


@dataclass
class LineView:
    """One line of the dialog as its inputs show it (strings, as typed)."""

    index: int
    values: dict[str, str]
    suggestions: list[dict[str, Any]] = field(default_factory=list)
    amount: str = ""

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    @property
    def linked(self) -> bool:
        return bool(self.get("item_id"))


def line_from_draft(index: int, line: DraftLine, locale: str = DEFAULT_LOCALE) -> LineView:
    values = {
        "description": line.description,
        "quantity": plain(line.quantity, locale),
        "unit_price": plain(line.unit_price, locale),
        "discount_rate": plain(line.discount_rate, locale),
        "discount_amount": plain(line.discount_amount, locale),
        "tax_code": line.tax_code or "",
        "account_code": line.account_code or "",
        "item_id": line.item_id or "",
        "item_code": line.item_code or "",
        "item_name": line.item_name or "",
        "crm_product_id": str(line.crm_product_id or ""),
        "kind": line.kind,
        "link_state": line.link_state,
        "note": line.note or "",
        # A machine value (never typed), so written plainly, not in the user's locale.
        "deal_tax_rate": plain(line.deal_tax_rate),
    }
    return LineView(
        index=index,
        values=values,
        suggestions=[s.model_dump(mode="json") for s in line.item_suggestions],
    )


def lines_from_form(form: FormData) -> list[LineView]:
    """The dialog's lines in the order shown (removed lines are simply absent)."""
    found: dict[int, dict[str, str]] = {}
    for key, value in form.multi_items():
        match = _LINE_KEY.match(key)
        if match and match.group(2) in LINE_FIELDS:
            found.setdefault(int(match.group(1)), {})[match.group(2)] = str(value)
    return [LineView(index=i, values=found[i]) for i in sorted(found)]


def _decimal(
    text: str | None, name: str, errors: dict[str, str], slot: str, locale: str
) -> Decimal | None:
    """The field read in the user's locale; an ambiguous or malformed one is a message."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = parse_number(text, name, locale)
    except (AmbiguousNumber, InvalidOperation) as exc:
        errors.setdefault(slot, str(exc) or f"The {name} must be a number.")
        return None
    if not value.is_finite():
        errors.setdefault(slot, f"The {name} must be a number.")
        return None
    return value


def _machine(text: str | None) -> Decimal | None:
    """A number the dialog wrote itself (a hidden field): plain digits, or nothing."""
    try:
        value = Decimal((text or "").strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _text(form: FormData, name: str) -> str | None:
    value = str(form.get(name) or "").strip()
    return value or None


@dataclass
class Parsed:
    """The dialog's form read back: the API's input when it is valid, else messages per slot."""

    body: InvoiceIn | None
    lines: list[LineView]
    errors: dict[str, str]


def invoice_from_form(
    form: FormData, provider: str, *, review: bool = False, locale: str = DEFAULT_LOCALE
) -> Parsed:
    """The dialog's fields as the API's ``InvoiceIn`` (same validation, same messages), its
    amounts and quantities read in the user's ``locale``.

    ``review``: a line still being typed (no description yet) is named in the messages but
    does not stop the live totals."""
    errors: dict[str, str] = {}
    soft: dict[str, str] = {}
    views = lines_from_form(form)
    lines = _line_values(views, errors, soft, review, locale)
    mode = str(form.get("customer_mode") or "existing")
    if review and mode == "create" and not _text(form, "to"):
        # Still typing the name: the totals go on; the message says what is missing.
        soft["customer"] = "Give the new contact a name in To, or link an existing contact."
        mode = "none"
    discount = None
    if _text(form, "discount_rate") or _text(form, "discount_amount"):
        discount = {
            "rate": _decimal(_text(form, "discount_rate"), "discount", errors, "form", locale),
            "amount": _decimal(_text(form, "discount_amount"), "discount", errors, "form", locale),
            "description": _text(form, "discount_description"),
        }
    values = {
        "provider": provider,
        "customer": _customer_values(form, mode),
        "issue_date": _text(form, "issue_date"),
        "due_date": _text(form, "due_date"),
        "currency": (_text(form, "currency") or "").upper(),
        "tax_mode": _text(form, "tax_mode") or TaxMode.exclusive.value,
        "tax_code": _text(form, "tax_code"),
        "template_id": _text(form, "template_id"),
        "reference": _text(form, "reference"),
        "invoice_number": _text(form, "invoice_number"),
        "lines": lines,
        "global_discount": discount,
        "confirm_zero": form.get("confirm_zero") == "on",
        "accept_tax_difference": form.get("accept_tax_difference") == "on",
        "deal_token": _text(form, "deal_token"),
        "part": part_from_form(form, errors, review),
    }
    if errors:
        return Parsed(None, views, {**soft, **errors})
    try:
        body = InvoiceIn.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors():
            errors.setdefault(slot_of_loc(error.get("loc", ()), views), _message(error))
        return Parsed(None, views, {**soft, **errors})
    return Parsed(body, views, soft)


def _line_values(
    views: list[LineView], errors: dict[str, str], soft: dict[str, str], review: bool, locale: str
) -> list[dict[str, Any]]:
    """Each line's fields as the API's line input; what cannot be read goes to ``errors``."""
    lines: list[dict[str, Any]] = []
    for position, view in enumerate(views):
        slot = f"line-{view.index}"
        where = f"line {position + 1}"
        quantity = _decimal(view.get("quantity"), f"{where} quantity", errors, slot, locale)
        price = _decimal(view.get("unit_price"), f"{where} unit price", errors, slot, locale)
        rate = _decimal(view.get("discount_rate"), f"{where} discount %", errors, slot, locale)
        amount = _decimal(
            view.get("discount_amount"), f"{where} discount amount", errors, slot, locale
        )
        product = view.get("crm_product_id")
        lines.append(
            {
                "description": view.get("description").strip(),
                "quantity": quantity if quantity is not None else Decimal(1),
                "unit_price": price if price is not None else Decimal(0),
                "discount_rate": rate,
                "discount_amount": amount,
                "tax_code": view.get("tax_code") or None,
                "account_code": view.get("account_code") or None,
                "item_id": view.get("item_id") or None,
                "item_code": view.get("item_code") or None,
                "crm_product_id": pipedrive_id(product),
                "kind": view.get("kind") or "manual",
                "deal_tax_rate": _machine(view.get("deal_tax_rate")),
            }
        )
        if not lines[-1]["description"]:
            (soft if review else errors).setdefault(
                slot, f"Line {position + 1} needs a description."
            )
            if review:
                lines[-1]["description"] = f"Line {position + 1}"
    return lines


def _customer_values(form: FormData, mode: str) -> dict[str, Any]:
    """The customer's fields: an existing contact, a new one (``create``), or none yet."""
    return {
        "contact_id": _text(form, "contact_id") if mode == "existing" else None,
        "create": mode == "create",
        "name": _text(form, "to"),
        "email": _text(form, "email"),
        "address": _text(form, "address"),
        "tax_id": _text(form, "tax_id"),
        "update_contact": mode == "existing" and form.get("update_contact") == "on",
        "crm_entity": _text(form, "crm_entity"),
        "crm_id": pipedrive_id(form.get("crm_id")),
        "contact_currency": _text(form, "contact_currency") if mode == "existing" else None,
    }


def _message(error: Any) -> str:
    loc = [str(p) for p in error.get("loc", ())]
    text = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    names = {
        "issue_date": "issue date",
        "due_date": "due date",
        "currency": "currency",
        "reference": "reference",
        "invoice_number": "invoice number",
    }
    if loc and loc[0] in names:
        if error.get("type", "").startswith("date") or "date" in loc[0]:
            return f"Enter the {names[loc[0]]} as a date."
        if loc[0] == "currency":
            return "Choose the invoice's currency (a three-letter code)."
        return f"The {names[loc[0]]}: {text}."
    if loc[:1] == ["lines"] and len(loc) > 2:
        return f"Line {int(loc[1]) + 1}, {loc[2].replace('_', ' ')}: {text}."
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def slot_of_loc(loc: Any, views: list[LineView]) -> str:
    parts = [str(p) for p in loc]
    if parts[:1] == ["lines"] and len(parts) > 1 and parts[1].isdigit():
        position = int(parts[1])
        return f"line-{views[position].index}" if position < len(views) else "lines"
    return slot_of_field(".".join(parts))


DETAIL_SLOTS = (
    "issue_date",
    "due_date",
    "currency",
    "tax_mode",
    "tax_code",
    "template_id",
    "invoice_number",
)


def slot_of_field(name: str | None, views: list[LineView] | None = None) -> str:
    """Where a check or error naming ``name`` is shown: next to that field or line."""
    if not name:
        return "form"
    match = _LINE_FIELD.match(name)
    if match:
        position = int(match.group(1))
        if views is not None:
            return f"line-{views[position].index}" if position < len(views) else "lines"
        return f"line-{position}"
    head = name.split(".")[0]
    if head in ("customer", "contact_id", "name"):
        return "customer"
    if head in DETAIL_SLOTS or head == "reference":
        return head
    if head in ("lines", "global_discount"):
        return "lines"
    if head == "part":
        return "part"
    return "form"


def slots(views: list[LineView]) -> list[str]:
    """Every place a message can appear in the dialog."""
    return [
        "form",
        "customer",
        *DETAIL_SLOTS,
        "reference",
        "part",
        "lines",
        *(f"line-{v.index}" for v in views),
    ]


def group_checks(checks: list[Check], views: list[LineView] | None) -> dict[str, list[Check]]:
    out: dict[str, list[Check]] = {}
    for check in checks:
        out.setdefault(slot_of_field(check.field, views), []).append(check)
    return out


def draft_lines(draft: DraftOut, locale: str = DEFAULT_LOCALE) -> list[LineView]:
    return [line_from_draft(i, line, locale) for i, line in enumerate(draft.lines)]
