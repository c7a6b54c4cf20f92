"""Pure rules of recurring billing: which deal products recur, grouped into schedules, and
the date of each period (lifecycle-and-billing.md §3.7: Pipedrive's billing_frequency,
billing_frequency_cycles, billing_start_date).

A schedule is the deal's recurring products of one frequency, cycle count and start date;
its key (deal, product set, frequency) together with a period's number is the key of that
period's invoice, so each period is created exactly once. Cycles end after
``billing_frequency_cycles`` periods (none: until stopped); a product without a start date
starts on the deal's expected close date.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from app.crm.pipedrive.schemas import DealProduct
from app.invoices.schemas import Check

# Pipedrive frequency -> (unit, every N units); quarterly and yearly as months, as Xero
# schedules them (WEEKLY/MONTHLY only).
FREQUENCIES: dict[str, tuple[str, int]] = {
    "weekly": ("week", 1),
    "monthly": ("month", 1),
    "quarterly": ("month", 3),
    "semi-annually": ("month", 6),
    "annually": ("month", 12),
}


@dataclass(frozen=True)
class SchedulePlan:
    """One schedule to create for a deal."""

    frequency: str
    unit: str
    interval: int
    cycles: int | None
    start: date
    # True when no product gave a start date and the deal's expected close date is used.
    start_from_close: bool
    product_ids: tuple[int, ...]
    names: tuple[str, ...]

    def key(self, deal_id: int) -> str:
        products = ",".join(str(p) for p in self.product_ids)
        return f"deal:{deal_id}:products:{products}:{self.frequency}"


def recurring(products: list[DealProduct]) -> list[DealProduct]:
    return [p for p in products if (p.billing_frequency or "one-time") in FREQUENCIES]


def plans(products: list[DealProduct], expected_close: date | None) -> list[SchedulePlan]:
    """The deal's schedules; ValueError naming the product when one has no start date and
    the deal no expected close date."""
    groups: dict[tuple[str, int | None, date, bool], list[DealProduct]] = {}
    for product in recurring(products):
        given = product.billing_start_date
        start = date.fromisoformat(given) if given else None
        if start is None and expected_close is None:
            raise ValueError(
                f"{product.name or 'A recurring product'} has no billing start date and the deal "
                "no expected close date: set one of them in Pipedrive."
            )
        frequency = str(product.billing_frequency)
        key = (frequency, product.billing_frequency_cycles, start or expected_close, start is None)
        groups.setdefault(key, []).append(product)  # type: ignore[arg-type]
    out = []
    for (frequency, cycles, start, from_close), members in groups.items():
        unit, interval = FREQUENCIES[frequency]
        ids = tuple(sorted(p.product_id or p.id for p in members))
        out.append(
            SchedulePlan(
                frequency=frequency,
                unit=unit,
                interval=interval,
                cycles=cycles,
                start=start,
                start_from_close=from_close,
                product_ids=ids,
                names=tuple(p.name for p in members),
            )
        )
    return sorted(out, key=lambda p: (p.start, p.frequency, p.product_ids))


def add_months(day: date, months: int, anchor: int) -> date:
    """``day`` moved by ``months``, on the ``anchor`` day of the month or its last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(anchor, calendar.monthrange(year, month)[1]))


def period_date(start: date, unit: str, interval: int, n: int) -> date:
    """The date of period ``n`` (0 is the start): every ``interval`` weeks or months, months
    keeping the start's day of month (the 31st becomes the month's last day)."""
    if unit == "week":
        return start + timedelta(weeks=interval * n)
    return add_months(start, interval * n, start.day)


def due_periods(
    start: date, unit: str, interval: int, cycles: int | None, done: int, today: date
) -> list[int]:
    """The periods from ``done`` on whose date has come by ``today``, never past ``cycles``."""
    out = []
    n = done
    while (cycles is None or n < cycles) and period_date(start, unit, interval, n) <= today:
        out.append(n)
        n += 1
    return out


def next_date(start: date, unit: str, interval: int, cycles: int | None, done: int) -> date | None:
    """The date of the next period to create, or None when every cycle is done."""
    if cycles is not None and done >= cycles:
        return None
    return period_date(start, unit, interval, done)


def recurring_checks(products: list[DealProduct], expected_close: str | None) -> list[Check]:
    """What the dialog says of the deal's recurring products: each schedule they make and
    when it starts (the deal's expected close date when no start date is set)."""
    close = date.fromisoformat(expected_close) if expected_close else None
    try:
        found = plans(products, close)
    except ValueError as exc:
        return [Check(code="recurring_no_start", severity="warning", message=str(exc))]
    out = []
    for plan in found:
        cycles = f", {plan.cycles} times" if plan.cycles else ", until stopped"
        start = (
            f"the deal's expected close date, {plan.start.isoformat()} (no billing start date "
            "is set)"
            if plan.start_from_close
            else plan.start.isoformat()
        )
        out.append(
            Check(
                code="recurring_products",
                severity="warning",
                message=(
                    f"{', '.join(plan.names)} bill{'s' if len(plan.names) == 1 else ''} "
                    f"{plan.frequency}{cycles}, from {start}: start its schedule to bill each "
                    "period."
                ),
            )
        )
    return out
