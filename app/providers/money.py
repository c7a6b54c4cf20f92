"""Money the way each provider computes it, so a preview equals what the provider stores.

Decimal throughout. Xero: each line's amount and tax are rounded to 2 dp and then summed
(xero.md §13), unit prices may carry 4 dp with ``unitdp=4``. QuickBooks: a line's Amount must
equal Qty x UnitPrice (error 6070), an invoice discount is a discount line on the subtotal, and
tax is worked out per tax code on the (discounted) taxable amount.

Rounding is half away from zero (``ROUND_HALF_UP`` on Decimal), what both providers show in
their own UIs. Storage helpers turn amounts into integer minor units and back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from app.providers.base import TaxMode

CENT = Decimal("0.01")
UNIT_DP4 = Decimal("0.0001")
HUNDRED = Decimal("100")
ZERO = Decimal("0")

# ISO 4217 minor-unit exponents that differ from 2; every other code has 2.
_EXPONENTS: dict[str, int] = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0,
    "XPF": 0, "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "CLF": 4, "UYW": 4,
}  # fmt: skip


def round2(value: Decimal) -> Decimal:
    """Round to cents, half away from zero."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def currency_exponent(currency: str) -> int:
    """Digits after the decimal point for ``currency`` (2 unless ISO 4217 says otherwise)."""
    return _EXPONENTS.get(currency.upper(), 2)


def to_minor(amount: Decimal, currency: str) -> int:
    """Decimal amount → integer minor units (cents); refuses amounts finer than the currency."""
    exponent = currency_exponent(currency)
    scaled = amount.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more than {exponent} decimal places for {currency}")
    return int(scaled)


def from_minor(units: int, currency: str) -> Decimal:
    """Integer minor units → Decimal amount with the currency's exponent."""
    exponent = currency_exponent(currency)
    return (Decimal(units).scaleb(-exponent)).quantize(Decimal(1).scaleb(-exponent))


def tax_from_exclusive(amount: Decimal, rate: Decimal) -> Decimal:
    """Tax on top of a tax-exclusive amount, rounded to cents."""
    return round2(amount * rate / HUNDRED)


def tax_from_inclusive(amount: Decimal, rate: Decimal) -> Decimal:
    """Tax contained in a tax-inclusive amount, rounded to cents."""
    if rate == ZERO:
        return ZERO
    return round2(amount * rate / (HUNDRED + rate))


@dataclass(frozen=True)
class LineInput:
    """A line for a preview: quantity, unit price, optional discount, tax rate in percent."""

    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal = ZERO
    discount_rate: Decimal | None = None
    discount_amount: Decimal | None = None
    tax_code: str | None = None


@dataclass(frozen=True)
class LineTotals:
    amount: Decimal
    tax: Decimal


@dataclass(frozen=True)
class Totals:
    """An invoice preview: per-line amounts and tax, subtotal (excl. tax), tax, total."""

    lines: tuple[LineTotals, ...]
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    discount: Decimal = ZERO


# --- Xero -----------------------------------------------------------------------------------


def xero_unit_amount(unit_price: Decimal) -> Decimal:
    """A unit price as Xero keeps it with ``unitdp=4``."""
    return unit_price.quantize(UNIT_DP4, rounding=ROUND_HALF_UP)


def xero_line_amount(
    quantity: Decimal,
    unit_price: Decimal,
    discount_rate: Decimal | None = None,
    discount_amount: Decimal | None = None,
) -> Decimal:
    """Xero LineAmount: Qty x UnitAmount x (100 - DiscountRate)/100, or minus DiscountAmount,
    rounded to 2 dp (xero.md §10.4)."""
    if discount_rate is not None and discount_amount is not None:
        raise ValueError("give a discount rate or a discount amount, not both")
    gross = quantity * xero_unit_amount(unit_price)
    if discount_rate is not None:
        gross = gross * (HUNDRED - discount_rate) / HUNDRED
    elif discount_amount is not None:
        gross = gross - discount_amount
    return round2(gross)


def xero_line_tax(line_amount: Decimal, rate: Decimal, mode: TaxMode) -> Decimal:
    """Tax of one Xero line, rounded to 2 dp on its own."""
    if mode is TaxMode.no_tax:
        return ZERO
    if mode is TaxMode.inclusive:
        return tax_from_inclusive(line_amount, rate)
    return tax_from_exclusive(line_amount, rate)


def xero_totals(lines: Iterable[LineInput], mode: TaxMode) -> Totals:
    """SubTotal, TotalTax and Total as Xero stores them: per-line rounding, then sums.

    With Inclusive amounts the line amounts contain the tax, so SubTotal is their sum minus tax.
    """
    out: list[LineTotals] = []
    for line in lines:
        amount = xero_line_amount(
            line.quantity, line.unit_price, line.discount_rate, line.discount_amount
        )
        out.append(LineTotals(amount, xero_line_tax(amount, line.tax_rate, mode)))
    amounts = sum((x.amount for x in out), ZERO)
    tax = sum((x.tax for x in out), ZERO)
    if mode is TaxMode.inclusive:
        return Totals(tuple(out), amounts - tax, tax, amounts)
    return Totals(tuple(out), amounts, tax, amounts + tax)


# --- QuickBooks -----------------------------------------------------------------------------


def qbo_line_amount(quantity: Decimal, unit_price: Decimal) -> Decimal:
    """QuickBooks line Amount: must equal Qty x UnitPrice (else error 6070), in cents."""
    return round2(quantity * unit_price)


def qbo_discount(subtotal: Decimal, rate: Decimal | None, amount: Decimal | None) -> Decimal:
    """Amount of a QuickBooks DiscountLineDetail on ``subtotal`` (percent or fixed)."""
    if rate is not None and amount is not None:
        raise ValueError("give a discount rate or a discount amount, not both")
    if rate is not None:
        return round2(subtotal * rate / HUNDRED)
    return round2(amount) if amount is not None else ZERO


def qbo_totals(
    lines: Iterable[LineInput],
    mode: TaxMode,
    *,
    discount_rate: Decimal | None = None,
    discount_amount: Decimal | None = None,
    apply_tax_after_discount: bool = True,
) -> Totals:
    """TotalAmt and TotalTax as QuickBooks computes them for non-US (rate-based) tax codes.

    Lines are grouped by tax rate; with ``apply_tax_after_discount`` the invoice discount is
    spread over the groups in proportion to their amounts before each group's tax is rounded.
    Grouping by rate then rounding once per group follows QuickBooks' TxnTaxDetail, which has
    one TaxLine per rate (exact internal rounding is UNCONFIRMED: read TotalAmt back after
    creating). Line-level discounts do not exist in QuickBooks and are refused here.
    """
    items = list(lines)
    out_lines: list[LineInput] = []
    for line in items:
        if line.discount_rate is not None or line.discount_amount is not None:
            raise ValueError("QuickBooks has no line discounts; use an invoice discount")
        out_lines.append(line)
    amounts = [qbo_line_amount(x.quantity, x.unit_price) for x in out_lines]
    subtotal = sum(amounts, ZERO)
    discount = qbo_discount(subtotal, discount_rate, discount_amount)
    groups: dict[Decimal, Decimal] = {}
    for line, amount in zip(out_lines, amounts, strict=True):
        groups[line.tax_rate] = groups.get(line.tax_rate, ZERO) + amount
    tax = ZERO
    if mode is not TaxMode.no_tax:
        for rate, base in groups.items():
            if apply_tax_after_discount and subtotal and discount:
                base = base - discount * base / subtotal
            tax += (
                tax_from_inclusive(base, rate)
                if mode is TaxMode.inclusive
                else tax_from_exclusive(base, rate)
            )
    line_totals = tuple(
        LineTotals(
            amount,
            ZERO
            if mode is TaxMode.no_tax
            else (
                tax_from_inclusive(amount, line.tax_rate)
                if mode is TaxMode.inclusive
                else tax_from_exclusive(amount, line.tax_rate)
            ),
        )
        for line, amount in zip(out_lines, amounts, strict=True)
    )
    net = subtotal - discount
    if mode is TaxMode.inclusive:
        return Totals(line_totals, net - tax, tax, net, discount)
    return Totals(line_totals, net, tax, net + tax, discount)


def rates_by_code(rates: Mapping[str, Decimal], code: str | None) -> Decimal:
    """The percentage for a tax code, 0 when the code is unknown or absent."""
    return rates.get(code or "", ZERO)
