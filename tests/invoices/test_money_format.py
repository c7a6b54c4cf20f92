"""The panel's money text is babel's English currency format, computed faster (pure)."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency
from hypothesis import given
from hypothesis import strategies as st

from app.invoices.pages.forms import money

CURRENCIES = ["", "NZD", "USD", "AUD", "EUR", "GBP", "JPY", "BHD", "CHF", "INR", "ZZZ", "XXX"]


@given(
    st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), allow_nan=False, places=4),
    st.sampled_from(CURRENCIES),
)
def test_money_is_babels_english_format(amount: Decimal, currency: str) -> None:
    assert money(amount, currency) == format_currency(amount, currency, locale="en")


def test_money_of_nothing_and_negative_zero() -> None:
    assert money(None, "NZD") == "NZ$0.00"
    assert money(Decimal("-0.001"), "NZD") == format_currency(Decimal("-0.001"), "NZD", locale="en")
    assert money(Decimal("5"), "") == format_currency(Decimal("5"), "", locale="en") == "5.00"
