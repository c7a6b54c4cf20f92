"""The parts rule (app/invoices/rules/parts.py): deposits, milestones and the balance always add
up to the deal to the minor unit, whatever the deal, the currency's digits and the percentages."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.invoices.rules.parts import (
    PartError,
    digits_of,
    from_minor,
    parse_amount,
    plan_part,
    scale,
    to_minor,
)

CURRENCIES = {"JPY": 0, "NZD": 2, "EUR": 2, "BHD": 3, "KWD": 3}


def test_babel_knows_the_digits() -> None:
    assert {c: digits_of(c) for c in CURRENCIES} == CURRENCIES


def amounts(digits: int) -> st.SearchStrategy[Decimal]:
    # Line amounts as the provider gives them: the currency's digits, some negative (discounts).
    return st.integers(min_value=-50_000, max_value=10**9).map(lambda m: from_minor(m, digits))


@st.composite
def deals(draw: st.DrawFn) -> tuple[str, list[Decimal], list[Decimal]]:
    currency = draw(st.sampled_from(sorted(CURRENCIES)))
    lines = draw(st.lists(amounts(CURRENCIES[currency]), min_size=1, max_size=8))
    if sum(lines) <= 0:
        digits = CURRENCIES[currency]
        lines.append(from_minor(abs(to_minor(sum(lines), digits)) + 1, digits))
    percents = draw(
        st.lists(
            st.decimals(min_value=Decimal("0.01"), max_value=Decimal(60), places=2),
            max_size=3,
        )
    )
    return currency, lines, percents


@settings(max_examples=300, deadline=None)
@given(deals())
def test_parts_always_sum_to_the_deal(case: tuple[str, list[Decimal], list[Decimal]]) -> None:
    currency, lines, percents = case
    digits = digits_of(currency)
    deal = sum(to_minor(x, digits) for x in lines)
    invoiced = 0
    per_line = [0] * len(lines)
    for percent in percents:
        if invoiced >= deal:
            break
        if (deal * percent) * 2 < 100:
            # So small a share of so small a deal rounds to nothing: refused, not invoiced.
            with pytest.raises(PartError):
                plan_part(
                    kind="percent",
                    value=percent,
                    label="x",
                    identity="x",
                    currency=currency,
                    line_amounts=lines,
                    invoiced_minor=invoiced,
                )
            continue
        plan = plan_part(
            kind="percent",
            value=percent,
            label="Deposit",
            identity=f"percent-{percent}",
            currency=currency,
            line_amounts=lines,
            invoiced_minor=invoiced,
        )
        # Each part's lines add up to the part exactly, and the part is the percentage.
        assert sum(plan.shares) == plan.part_minor
        assert abs(plan.part_minor * 100 - deal * percent) <= 50
        if plan.over_minor:
            # Past what is left: the flow asks for a confirmation; not invoiced here.
            assert plan.part_minor > deal - invoiced
            continue
        invoiced += plan.part_minor
        per_line = [a + b for a, b in zip(per_line, plan.shares, strict=True)]
    if invoiced < deal:
        final = plan_part(
            kind="balance",
            value=None,
            label="Balance",
            identity="balance",
            currency=currency,
            line_amounts=lines,
            invoiced_minor=invoiced,
        )
        assert final.part_minor == deal - invoiced
        invoiced += sum(final.shares)
    # All of the deal's invoices add up to the deal to the minor unit.
    assert invoiced == deal
    assert from_minor(invoiced, digits) == sum(
        from_minor(to_minor(x, digits), digits) for x in lines
    )


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(min_value=-(10**6), max_value=10**12), min_size=1, max_size=10),
    st.integers(min_value=1, max_value=10**12),
)
def test_scale_puts_the_remainder_on_the_last_line(lines: list[int], target: int) -> None:
    if sum(lines) <= 0:
        with pytest.raises(PartError):
            scale(lines, target)
        return
    shares = scale(lines, target)
    assert sum(shares) == target and len(shares) == len(lines)
    total = sum(lines)
    # Every line but the last is its proportion rounded to the minor unit (off by at most 1/2).
    for line, share in zip(lines[:-1], shares[:-1], strict=True):
        assert abs(share * total - line * target) * 2 <= total


def test_amount_with_too_many_decimals_names_the_field() -> None:
    with pytest.raises(PartError) as exc:
        plan_part(
            kind="amount",
            value=Decimal("10.5"),
            label="x",
            identity="x",
            currency="JPY",
            line_amounts=[Decimal(1000)],
            invoiced_minor=0,
        )
    assert exc.value.field == "part.amount" and "0" in str(exc.value)


def test_balance_of_a_fully_invoiced_deal_is_refused() -> None:
    with pytest.raises(PartError, match="Nothing is left"):
        plan_part(
            kind="balance",
            value=None,
            label="Balance",
            identity="balance",
            currency="NZD",
            line_amounts=[Decimal("100.00")],
            invoiced_minor=10000,
        )


def test_percent_out_of_range() -> None:
    for bad in (Decimal(0), Decimal("100.01"), Decimal(-5)):
        with pytest.raises(PartError) as exc:
            plan_part(
                kind="percent",
                value=bad,
                label="x",
                identity="x",
                currency="NZD",
                line_amounts=[Decimal(100)],
                invoiced_minor=0,
            )
        assert exc.value.field == "part.percent"


def test_thirty_percent_of_a_three_decimal_deal() -> None:
    plan = plan_part(
        kind="percent",
        value=Decimal(30),
        label="Deposit 30 %",
        identity="percent-30",
        currency="BHD",
        line_amounts=[Decimal("10.001"), Decimal("20.002"), Decimal("0.333")],
        invoiced_minor=0,
    )
    assert plan.deal_minor == 30336 and plan.part_minor == 9101
    assert plan.shares == (3000, 6001, 100)


def test_user_amounts_in_their_locale() -> None:
    assert parse_amount("1.500,50", "de_DE", "amount") == Decimal("1500.50")
    assert parse_amount("1,500.50", "en_NZ", "amount") == Decimal("1500.50")
    assert parse_amount(Decimal("3"), "de_DE", "amount") == Decimal(3)
    with pytest.raises(PartError) as exc:
        parse_amount("1,5,0", "en_NZ", "amount")
    assert exc.value.field == "part.amount"
