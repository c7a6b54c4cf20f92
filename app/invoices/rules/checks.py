"""The checks before sending: every finding a plain sentence naming the line or field.

``run_checks`` runs the steps in order: the customer, the lines being there, the tax mode, the
currency, each line (its shape, its item, its tax rate), then the total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from babel.numbers import format_currency

from app.invoices.rules.meta import ProviderMeta, fmt, line_name
from app.invoices.rules.totals import compute_totals
from app.invoices.schemas import Check, DiscountIn, LineBase, TotalsOut
from app.providers.base import TaxMode
from app.providers.money import ZERO


@dataclass
class CheckInput:
    """What the checks look at: the invoice as it would be sent."""

    currency: str
    tax_mode: TaxMode
    tax_code: str | None
    lines: Sequence[LineBase]
    totals: TotalsOut
    contact_id: str | None
    creating_contact: bool
    contact_name: str | None
    contact_currency: str | None
    confirm_zero: bool = False
    invoice_number: str | None = None
    discount: DiscountIn | None = None
    accept_tax_difference: bool = False
    extra: list[Check] = field(default_factory=list)


def run_checks(meta: ProviderMeta, data: CheckInput) -> list[Check]:
    """Every finding before sending, each a plain sentence naming the line or field."""
    out: list[Check] = list(data.extra)
    out += customer_checks(meta, data)
    out += invoice_checks(meta, data)
    out += number_checks(meta, data)
    out += currency_checks(meta, data)
    for index, line in enumerate(data.lines):
        out += line_checks(meta, index, line)
        out += item_checks(meta, index, line)
        out += tax_checks(meta, data, index, line)
    out += tax_difference_checks(meta, data)
    out += total_checks(data)
    return out


def blocking(checks: Sequence[Check]) -> list[Check]:
    """The checks that stop sending (errors, and confirmations not given)."""
    return [c for c in checks if c.severity in ("error", "confirm")]


def error(code: str, field: str, message: str) -> Check:
    return Check(code=code, severity="error", field=field, message=message)


def customer_checks(meta: ProviderMeta, data: CheckInput) -> list[Check]:
    out: list[Check] = []
    if not data.contact_id and not data.creating_contact:
        out.append(
            error(
                "contact_missing",
                "customer",
                f"Choose the {meta.label} contact to invoice, or create one.",
            )
        )
    if data.creating_contact and not (data.contact_name or "").strip():
        out.append(error("contact_name_missing", "customer.name", "The new contact needs a name."))
    return out


def invoice_checks(meta: ProviderMeta, data: CheckInput) -> list[Check]:
    out: list[Check] = []
    if not data.lines:
        out.append(
            error(
                "no_lines",
                "lines",
                "Add at least one line: this deal has no products to invoice.",
            )
        )
    if data.tax_mode not in meta.features.tax_modes:
        out.append(
            error(
                "tax_mode",
                "tax_mode",
                f"{meta.label} does not accept {data.tax_mode.value.lower()} amounts "
                "here; choose another tax mode.",
            )
        )
    return out


def number_checks(meta: ProviderMeta, data: CheckInput) -> list[Check]:
    """A number where the company numbers invoices by hand, within the provider's length."""
    number = (data.invoice_number or "").strip()
    limit = meta.features.limits.invoice_number
    if meta.features.invoice_number == "mandatory" and not number:
        return [
            error(
                "invoice_number_missing",
                "invoice_number",
                f"{meta.organisation.name or meta.label} numbers its invoices by hand in "
                f"{meta.label}: give this invoice a number.",
            )
        ]
    if len(number) > limit:
        return [
            error(
                "invoice_number_too_long",
                "invoice_number",
                f"The invoice number is {len(number)} characters; {meta.label} allows {limit}.",
            )
        ]
    return []


def currency_checks(meta: ProviderMeta, data: CheckInput) -> list[Check]:
    """The currency is enabled, and (where contacts bill in one currency) the contact's."""
    label, feats = meta.label, meta.features
    out: list[Check] = []
    if data.currency not in {c.code for c in meta.currencies}:
        if feats.currencies_added_by_user:
            message = (
                f"The currency {data.currency} is not enabled in the {label} organisation "
                f"{meta.organisation.name}; add it in {label} or choose another currency."
            )
        elif not feats.multi_currency:
            message = (
                f"Multi-currency is off in {label}, so invoices must be in "
                f"{meta.organisation.base_currency}, not {data.currency}."
            )
        else:
            message = f"The currency {data.currency} is not enabled in {label}."
        out.append(error("currency_not_enabled", "currency", message))
    if feats.contact_currency and data.contact_currency and data.currency != data.contact_currency:
        out.append(
            error(
                "currency_mismatch",
                "currency",
                f"The currency: the {label} customer {data.contact_name or ''} bills in "
                f"{data.contact_currency} and the invoice is in {data.currency}; {label} "
                f"needs them to be the same. Invoice in {data.contact_currency}, or choose "
                "another contact.".replace("  ", " "),
            )
        )
    return out


def line_checks(meta: ProviderMeta, index: int, line: LineBase) -> list[Check]:
    """The line's own shape: description length, quantity, price, discount."""
    name, where, label = line_name(index, line), f"lines[{index}]", meta.label
    limit = meta.features.limits.line_description
    out: list[Check] = []
    if len(line.description) > limit:
        out.append(
            error(
                "description_too_long",
                f"{where}.description",
                f"{name}: the description is {len(line.description)} "
                f"characters; {label} allows {limit}.",
            )
        )
    if line.kind != "deal_discount" and line.quantity <= ZERO:
        out.append(
            error("quantity", f"{where}.quantity", f"{name}: the quantity must be more than 0.")
        )
    if line.kind != "deal_discount" and line.unit_price < ZERO:
        out.append(
            error(
                "unit_price", f"{where}.unit_price", f"{name}: the unit price must not be negative."
            )
        )
    discounted = line.discount_rate is not None or line.discount_amount is not None
    if discounted and not meta.features.line_discount:
        out.append(
            error(
                "line_discount",
                f"{where}.discount_rate",
                f"{name}: {label} has no line discounts; fold it into the "
                "price or use an invoice discount.",
            )
        )
    if line.discount_amount is not None and line.discount_amount > line.quantity * line.unit_price:
        out.append(
            error(
                "discount_too_large",
                f"{where}.discount_amount",
                f"{name}: the discount is more than the line's amount.",
            )
        )
    return out


def item_checks(meta: ProviderMeta, index: int, line: LineBase) -> list[Check]:
    """A line with no item: refused where the provider requires one, else a warning."""
    if line.kind == "deal_discount" or line.item_id or line.item_code:
        return []
    name, where, label = line_name(index, line), f"lines[{index}]", meta.label
    if meta.features.item_required:
        return [
            error(
                "item_missing",
                f"{where}.item_id",
                f"{name} is not linked to a {label} item; link one or create it.",
            )
        ]
    return [
        Check(
            code="item_missing",
            severity="warning",
            field=f"{where}.item_id",
            message=f"{name} is not linked to a {label} item; it will be sent "
            "as a description-only line.",
        )
    ]


def tax_checks(meta: ProviderMeta, data: CheckInput, index: int, line: LineBase) -> list[Check]:
    """The line's tax rate (or the invoice's) exists and applies to sales."""
    if data.tax_mode is TaxMode.no_tax:
        return []
    name, field_name, label = line_name(index, line), f"lines[{index}].tax_code", meta.label
    code = line.tax_code or data.tax_code
    if not code:
        return [error("tax_missing", field_name, f"{name}: choose a {label} tax rate.")]
    rate = meta.rate_of(code)
    if rate is None:
        return [error("tax_unknown", field_name, f"{name}: {label} has no tax rate {code}.")]
    if not rate.can_apply_to_revenue:
        return [
            error(
                "tax_not_revenue",
                field_name,
                f"{name}: the tax rate {rate.name} cannot be used on "
                "sales; choose a sales tax rate.",
            )
        ]
    return []


def total_checks(data: CheckInput) -> list[Check]:
    """A negative total is refused; a zero total needs confirming."""
    if data.totals.total < ZERO:
        return [
            error(
                "negative_total",
                "lines",
                "The invoice total is negative; a credit note is needed instead.",
            )
        ]
    if data.lines and data.totals.total == ZERO and not data.confirm_zero:
        return [
            Check(
                code="zero_total",
                severity="confirm",
                field="confirm_zero",
                message="The invoice total is 0. Confirm that you want a zero-amount invoice.",
            )
        ]
    return []


def _money(amount: object, currency: str) -> str:
    try:
        return format_currency(amount, currency, locale="en")  # type: ignore[arg-type]
    except (ValueError, KeyError):
        return f"{amount} {currency}"


def tax_difference_checks(meta: ProviderMeta, data: CheckInput) -> list[Check]:
    """The provider would tax a deal line at another rate than the deal does: both totals and
    the lines, before sending. It needs the user's confirmation (``accept_tax_difference``),
    after which it stays as a warning, so the difference is never silent."""
    if data.tax_mode is TaxMode.no_tax:
        return []
    differing: list[str] = []
    first: int | None = None
    for index, line in enumerate(data.lines):
        rate = meta.rate_of(line.tax_code or data.tax_code)
        if line.deal_tax_rate is None or rate is None or rate.rate == line.deal_tax_rate:
            continue
        first = index if first is None else first
        theirs = f"{fmt(rate.rate)} % ({rate.name})"
        if rate.rate_decided_by_provider:
            theirs = f"the rate {meta.label} works out ({fmt(rate.rate)} % here, {rate.name})"
        differing.append(
            f"{line_name(index, line)} at {theirs} instead of the deal's "
            f"{fmt(line.deal_tax_rate)} %"
        )
    if first is None:
        return []
    deal, _ = compute_totals(
        meta, data.lines, data.tax_mode, data.discount, data.tax_code, deal_rates=True
    )
    if deal.total == data.totals.total:
        return []  # nothing to tax (a zero total): the same invoice either way
    ours, theirs_total = _money(deal.total, data.currency), _money(data.totals.total, data.currency)
    message = (
        f"{meta.label} would tax {'; '.join(differing)}: the invoice total would be "
        f"{theirs_total} instead of the deal's {ours}. "
        + (
            "You confirmed this difference."
            if data.accept_tax_difference
            else "Choose another tax rate, or confirm the difference."
        )
    )
    return [
        Check(
            code="tax_differs",
            severity="warning" if data.accept_tax_difference else "confirm",
            field=f"lines[{first}].tax_code",
            message=message,
        )
    ]
