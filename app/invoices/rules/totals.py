"""Totals exactly as the provider computes them (``app.providers.money``), and line amounts."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from app.invoices.rules.meta import ProviderMeta
from app.invoices.schemas import DiscountIn, LineBase, TotalsOut
from app.providers.base import TaxMode
from app.providers.money import ZERO, LineInput, qbo_totals, xero_totals


def rate_value(meta: ProviderMeta, code: str | None) -> Decimal:
    """The percentage of a tax code (0 when unknown or absent)."""
    rate = meta.rate_of(code)
    return rate.rate if rate else ZERO


def line_inputs(
    meta: ProviderMeta, lines: Sequence[LineBase], default_code: str | None, deal: bool = False
) -> list[LineInput]:
    """The lines as the money rules take them; ``deal``: at the deal's own tax rates (where a
    line has one) instead of the provider's."""
    return [
        LineInput(
            quantity=line.quantity,
            unit_price=line.unit_price,
            tax_rate=line.deal_tax_rate
            if deal and line.deal_tax_rate is not None
            else rate_value(meta, line.tax_code or default_code),
            discount_rate=line.discount_rate,
            discount_amount=line.discount_amount,
            tax_code=line.tax_code or default_code,
        )
        for line in lines
    ]


def compute_totals(
    meta: ProviderMeta,
    lines: Sequence[LineBase],
    mode: TaxMode,
    discount: DiscountIn | None,
    default_code: str | None = None,
    *,
    deal_rates: bool = False,
) -> tuple[TotalsOut, list[Decimal]]:
    """Totals exactly as the provider computes them (app.providers.money), and line amounts:
    tax rounded per line (``features.tax_rounding`` "line"), or once per tax rate after an
    invoice discount line ("rate_group"). ``deal_rates``: what they would be at the deal's own
    tax rates (what the deal promised)."""
    inputs = line_inputs(meta, lines, default_code, deal_rates)
    if meta.features.tax_rounding == "line":
        totals = xero_totals(inputs, mode)
        return (
            TotalsOut(subtotal=totals.subtotal, tax=totals.tax, total=totals.total),
            [x.amount for x in totals.lines],
        )
    plain = [
        LineInput(x.quantity, x.unit_price, x.tax_rate, None, None, x.tax_code) for x in inputs
    ]
    totals = qbo_totals(
        plain,
        mode,
        discount_rate=discount.rate if discount else None,
        discount_amount=discount.amount if discount else None,
        # The adapter sends no ApplyTaxAfterDiscount, and QuickBooks then taxes the lines
        # before the invoice discount (quickbooks.md: false or null → tax first).
        apply_tax_after_discount=False,
    )
    estimated = meta.automated_tax and any(
        (r := meta.rate_of(x.tax_code)) is not None and r.rate_decided_by_provider for x in inputs
    )
    return (
        TotalsOut(
            subtotal=totals.subtotal + totals.discount,
            discount=totals.discount,
            tax=totals.tax,
            total=totals.total,
            tax_estimated=estimated,
        ),
        [x.amount for x in totals.lines],
    )
