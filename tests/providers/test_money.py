"""Rounding the way each provider does it, and minor-unit storage."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from app.providers.base import TaxMode
from app.providers.money import (
    LineInput,
    from_minor,
    qbo_discount,
    qbo_line_amount,
    qbo_totals,
    round2,
    tax_from_inclusive,
    to_minor,
    xero_line_amount,
    xero_totals,
    xero_unit_amount,
)


def test_xero_rounds_tax_per_line_reference_example() -> None:
    # xero.md §13: 25.06 + 25.61 + 25.63 at 15 % is 11.44 in Xero, 11.45 at document level.
    lines = [LineInput(D(1), D(p), D(15)) for p in ("25.06", "25.61", "25.63")]
    totals = xero_totals(lines, TaxMode.exclusive)
    assert [x.tax for x in totals.lines] == [D("3.76"), D("3.84"), D("3.84")]
    assert totals.tax == D("11.44")
    assert round2(sum(D(p) for p in ("25.06", "25.61", "25.63")) * D("0.15")) == D("11.45")
    assert totals.subtotal == D("76.30")
    assert totals.total == D("87.74")


def test_xero_inclusive_amounts_contain_the_tax() -> None:
    totals = xero_totals([LineInput(D(2), D("57.50"), D(15))], TaxMode.inclusive)
    assert totals.total == D("115.00")
    assert totals.tax == D("15.00")
    assert totals.subtotal == D("100.00")


def test_xero_no_tax_ignores_rates() -> None:
    totals = xero_totals([LineInput(D(3), D("10.005"), D(15))], TaxMode.no_tax)
    assert totals.tax == D(0)
    # 10.005 kept to 4 dp, x3 = 30.015 -> 30.02 (half away from zero)
    assert totals.total == D("30.02")


@pytest.mark.parametrize(
    ("qty", "price", "rate", "amount", "expected"),
    [
        (D(10), D(150), D(10), None, D("1350.00")),  # demo deal 31: 10 x 150 less 10 %
        (D(1), D(2500), None, D(200), D("2300.00")),  # amount discount
        (D(3), D("33.3333"), None, None, D("100.00")),  # 4-dp unit price
        (D("1.5"), D("19.99"), D("12.5"), None, D("26.24")),  # 29.985 x 0.875 = 26.236875
        (D(1), D("0.005"), None, None, D("0.01")),  # half up
    ],
)
def test_xero_line_amount(qty: D, price: D, rate: D | None, amount: D | None, expected: D) -> None:
    assert xero_line_amount(qty, price, rate, amount) == expected


def test_xero_unit_amount_keeps_four_places() -> None:
    assert xero_unit_amount(D("1.23456")) == D("1.2346")


def test_xero_refuses_two_discounts() -> None:
    with pytest.raises(ValueError, match="not both"):
        xero_line_amount(D(1), D(10), D(5), D(1))


def test_demo_deal_31_totals_in_xero() -> None:
    lines = [
        LineInput(D(10), D(150), D(15), discount_rate=D(10)),
        LineInput(D(1), D(2500), D(15), discount_amount=D(200)),
        LineInput(D(2), D(1200), D(15)),
    ]
    totals = xero_totals(lines, TaxMode.exclusive)
    assert totals.subtotal == D("6050.00")
    assert totals.tax == D("907.50")
    assert totals.total == D("6957.50")


def test_quickbooks_amount_is_qty_times_price() -> None:
    assert qbo_line_amount(D(3), D("19.999")) == D("60.00")
    assert qbo_line_amount(D(12), D(99)) == D("1188.00")


def test_quickbooks_discount_line_and_tax_after_discount() -> None:
    # Demo deal 32: 5 x 1200 + 12 x 99, 5 % invoice discount, 15 % exclusive.
    lines = [LineInput(D(5), D(1200), D(15)), LineInput(D(12), D(99), D(15))]
    totals = qbo_totals(lines, TaxMode.exclusive, discount_rate=D(5))
    assert totals.discount == D("359.40")
    assert totals.subtotal == D("6828.60")
    assert totals.tax == D("1024.29")
    assert totals.total == D("7852.89")


def test_quickbooks_groups_tax_by_rate() -> None:
    # Demo deal 33: 3 x 900 at 19 %, 2 x 349.95 at 0 %, 100 off.
    lines = [LineInput(D(3), D(900), D(19)), LineInput(D(2), D("349.95"), D(0))]
    totals = qbo_totals(lines, TaxMode.exclusive, discount_amount=D(100))
    assert totals.discount == D("100.00")
    # 2700 - 100 x 2700/3399.90 = 2620.58...; x 19 % = 497.91
    assert totals.tax == D("497.91")
    assert totals.total == D("3299.90") + D("497.91")


def test_quickbooks_inclusive_and_no_line_discounts() -> None:
    totals = qbo_totals([LineInput(D(1), D("115.00"), D(15))], TaxMode.inclusive)
    assert (totals.subtotal, totals.tax, totals.total) == (D("100.00"), D("15.00"), D("115.00"))
    with pytest.raises(ValueError, match="no line discounts"):
        qbo_totals([LineInput(D(1), D(1), discount_rate=D(5))], TaxMode.exclusive)
    assert qbo_discount(D(100), None, None) == D(0)


def test_tax_from_inclusive_zero_rate() -> None:
    assert tax_from_inclusive(D(100), D(0)) == D(0)


@pytest.mark.parametrize(
    ("amount", "currency", "units"),
    [(D("12.34"), "NZD", 1234), (D("1234"), "JPY", 1234), (D("1.234"), "KWD", 1234),
     (D("-5.10"), "usd", -510), (D("0"), "EUR", 0)],
)  # fmt: skip
def test_minor_units_round_trip(amount: D, currency: str, units: int) -> None:
    assert to_minor(amount, currency) == units
    assert from_minor(units, currency) == amount


def test_minor_units_refuse_fractions_of_a_cent() -> None:
    with pytest.raises(ValueError, match="decimal places"):
        to_minor(D("1.005"), "USD")
