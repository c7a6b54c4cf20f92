"""Pure rules of credits and recurring schedules, with property tests: a schedule never has
more periods than its cycles and its dates only move forward; a credit never plans more than
the invoice's total, and crediting all lines plans exactly the total."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.crm.pipedrive.schemas import DealProduct
from app.invoices.rules import credits, schedule
from app.providers.base import Invoice, InvoiceLine
from app.providers.view import InvoiceStage

UNITS = st.sampled_from(sorted(schedule.FREQUENCIES.values()))


@given(
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    frequency=UNITS,
    cycles=st.one_of(st.none(), st.integers(min_value=1, max_value=208)),
    done=st.integers(min_value=0, max_value=250),
    days=st.integers(min_value=0, max_value=3000),
)
def test_due_periods_never_pass_the_cycles(start, frequency, cycles, done, days) -> None:
    unit, interval = frequency
    today = date.fromordinal(start.toordinal() + days)
    due = schedule.due_periods(start, unit, interval, cycles, done, today)
    assert due == list(range(done, done + len(due)))
    if cycles is not None:
        assert all(n < cycles for n in due)
    dates = [schedule.period_date(start, unit, interval, n) for n in due]
    assert dates == sorted(set(dates)) and all(d <= today for d in dates)
    after = done + len(due)
    upcoming = schedule.next_date(start, unit, interval, cycles, after)
    # Whatever is left is still to come (or every cycle is done).
    assert upcoming is None or upcoming > today
    assert (upcoming is None) == (cycles is not None and after >= cycles)


def test_month_ends_and_quarters() -> None:
    start = date(2026, 1, 31)
    months = [schedule.period_date(start, "month", 1, n) for n in range(4)]
    assert months == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]
    assert schedule.period_date(date(2026, 2, 15), "month", 3, 1) == date(2026, 5, 15)
    assert schedule.period_date(date(2026, 2, 15), "week", 1, 2) == date(2026, 3, 1)
    twelve = schedule.due_periods(date(2026, 1, 1), "month", 1, 12, 0, date(2030, 1, 1))
    assert twelve == list(range(12))


def product(pid: int, frequency: str, start: str | None, cycles: int | None = None) -> DealProduct:
    return DealProduct(
        id=100 + pid,
        product_id=pid,
        name=f"P{pid}",
        billing_frequency=frequency,
        billing_frequency_cycles=cycles,
        billing_start_date=start,
    )


def test_plans_group_recurring_products_and_fall_back_to_the_close_date() -> None:
    close = date(2026, 6, 1)
    found = schedule.plans(
        [
            product(1, "one-time", None),
            product(2, "monthly", None, 12),
            product(3, "monthly", None, 12),
            product(4, "annually", "2026-07-01"),
        ],
        close,
    )
    assert [(p.frequency, p.product_ids, p.start, p.start_from_close) for p in found] == [
        ("monthly", (2, 3), close, True),
        ("annually", (4,), date(2026, 7, 1), False),
    ]
    assert found[1].unit == "month" and found[1].interval == 12
    assert found[0].key(31) == "deal:31:products:2,3:monthly"
    with pytest.raises(ValueError, match="P2 has no billing start date"):
        schedule.plans([product(2, "monthly", None, 3)], None)
    assert schedule.plans([product(1, "one-time", None)], close) == []


def invoice(amounts: list[D], total: D) -> Invoice:
    lines = tuple(
        InvoiceLine(id=f"L{i}", description=f"line {i}", quantity=D(1), unit_price=a, amount=a)
        for i, a in enumerate(amounts)
    )
    return Invoice(id="inv", status="AUTHORISED", currency="NZD", total=total, lines=lines)


@given(
    amounts=st.lists(
        st.decimals(min_value=D("0.01"), max_value=D("10000"), places=2), min_size=1, max_size=8
    ),
    picks=st.lists(st.integers(min_value=0, max_value=7), min_size=1, max_size=8),
)
def test_a_line_credit_never_plans_more_than_the_total(amounts, picks) -> None:
    total = sum(amounts, D("0")) * D("1.15")
    total = credits.quantize(total, "NZD")
    inv = invoice(amounts, total)
    chosen = [f"L{i}" for i in picks if i < len(amounts)] or ["L0"]
    plan = credits.lines_plan(inv, chosen)
    assert D("0") <= plan.expected_total <= total
    everything = credits.lines_plan(inv, [f"L{i}" for i in range(len(amounts))])
    assert everything.expected_total == total


def test_refusals_in_plain_words() -> None:
    assert credits.refusal(InvoiceStage.paid) is None
    assert credits.refusal(InvoiceStage.voided) == "it is voided"
    assert "draft" in (credits.refusal(InvoiceStage.draft) or "")
    assert credits.remaining(D("100"), D("120")) == 0
    with pytest.raises(ValueError, match="no line nope"):
        credits.lines_plan(invoice([D("1")], D("1")), ["nope"])
