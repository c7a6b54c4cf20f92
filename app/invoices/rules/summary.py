"""The contact's totals per currency, and the time ranges they are asked for (pure).

One function, ``totals_by_currency``, gives the figures of the deal panel's totals and of the
extension's ``getInvoiceSummary``: receivables only (issued, partially paid, paid; drafts,
invoices awaiting approval, voided and deleted ones are not money owed), ``invoiced`` their
totals, ``paid`` what was paid, ``overdue`` what is due past its due date, ``outstanding``
what is due and not overdue yet.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from app.errors import ValidationFailed
from app.providers.view import InvoiceStage, InvoiceView

ZERO = Decimal("0")
RECEIVABLE = (InvoiceStage.issued, InvoiceStage.partially_paid, InvoiceStage.paid)
# Ranges people pick in the panel; "custom" takes from/to.
RANGES = ("this_month", "this_quarter", "this_year", "last_12_months", "all", "custom")
MAX_RANGE_DAYS = 5 * 366


@dataclass
class CurrencyTotals:
    currency: str
    invoiced: Decimal = ZERO
    paid: Decimal = ZERO
    outstanding: Decimal = ZERO
    overdue: Decimal = ZERO

    def shares(self) -> tuple[float, float, float]:
        """Paid, outstanding and overdue as percentages of their sum (the bar)."""
        whole = self.paid + self.outstanding + self.overdue
        if whole <= ZERO:
            return (0.0, 0.0, 0.0)
        paid, outstanding, overdue = (
            round(float(part * 100 / whole), 1)
            for part in (self.paid, self.outstanding, self.overdue)
        )
        return paid, outstanding, overdue


def totals_by_currency(views: Iterable[InvoiceView]) -> list[CurrencyTotals]:
    """One row per currency, sorted by currency code (see the module doc)."""
    rows: dict[str, CurrencyTotals] = {}
    for v in views:
        if v.stage not in RECEIVABLE:
            continue
        row = rows.setdefault(v.currency, CurrencyTotals(v.currency))
        if v.overdue:
            row.overdue += v.due
        else:
            row.outstanding += v.due
        row.paid += v.paid
        row.invoiced += v.total
    return [rows[code] for code in sorted(rows)]


def date_range(
    name: str, today: date, date_from: date | None = None, date_to: date | None = None
) -> tuple[date | None, date | None]:
    """The issue-date range (inclusive) a range name stands for, ``today`` in the company's
    timezone. ``custom`` takes ``date_from`` and ``date_to`` (both needed); from after to,
    or a range longer than five years, is a 422 naming the field."""
    if name == "this_month":
        return today.replace(day=1), today.replace(
            day=calendar.monthrange(today.year, today.month)[1]
        )
    if name == "this_quarter":
        first = (today.month - 1) // 3 * 3 + 1
        last = first + 2
        return date(today.year, first, 1), date(
            today.year, last, calendar.monthrange(today.year, last)[1]
        )
    if name == "this_year":
        return date(today.year, 1, 1), date(today.year, 12, 31)
    if name == "last_12_months":
        return today - timedelta(days=365), today
    if name == "all":
        return None, None
    if name != "custom":
        raise ValidationFailed(f"Choose a range among {', '.join(RANGES)}.", field="range")
    if date_from is None:
        raise ValidationFailed("A custom range needs its start date.", field="from")
    if date_to is None:
        raise ValidationFailed("A custom range needs its end date.", field="to")
    if date_from > date_to:
        raise ValidationFailed(
            f"The range starts ({date_from}) after it ends ({date_to}).", field="from"
        )
    if (date_to - date_from).days > MAX_RANGE_DAYS:
        raise ValidationFailed("A range may cover five years at most.", field="to")
    return date_from, date_to
