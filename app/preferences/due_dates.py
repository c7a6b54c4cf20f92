"""Due-date terms as pure functions of the invoice date.

Rules (the same four Xero offers for payment terms):
- ``days_after_invoice``: N days after the invoice date (7: issued 13 March, due 20 March);
- ``days_after_end_of_month``: N days after the last day of the invoice's month;
- ``day_of_current_month``: day N of the invoice's month;
- ``day_of_following_month``: day N of the month after the invoice's.
Day numbers beyond a month's length fall on its last day (31 → 30 April, 28/29 February).
A due date is never before the invoice date: "day 5 of the current month" for an invoice issued
on the 20th is due on the day it is issued rather than in the past.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class DueRule(StrEnum):
    days_after_invoice = "days_after_invoice"
    days_after_end_of_month = "days_after_end_of_month"
    day_of_current_month = "day_of_current_month"
    day_of_following_month = "day_of_following_month"


DAY_OF_MONTH_RULES = frozenset({DueRule.day_of_current_month, DueRule.day_of_following_month})
MAX_DAYS_AFTER = 365


@dataclass(frozen=True)
class Terms:
    rule: DueRule
    days: int


class InvalidTerms(ValueError):
    """The rule and number do not make sense together; the message says why."""


def validate_terms(rule: DueRule, days: int) -> None:
    if rule in DAY_OF_MONTH_RULES:
        if not 1 <= days <= 31:
            raise InvalidTerms(f"the day of the month must be between 1 and 31, not {days}")
    elif not 0 <= days <= MAX_DAYS_AFTER:
        raise InvalidTerms(f"the number of days must be between 0 and {MAX_DAYS_AFTER}, not {days}")


def last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def end_of_month(day: date) -> date:
    return day.replace(day=last_day(day.year, day.month))


def clamped_day(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, last_day(year, month)))


def days_after_invoice(invoice_date: date, days: int) -> date:
    return invoice_date + timedelta(days=days)


def days_after_end_of_month(invoice_date: date, days: int) -> date:
    return end_of_month(invoice_date) + timedelta(days=days)


def day_of_current_month(invoice_date: date, day: int) -> date:
    return max(clamped_day(invoice_date.year, invoice_date.month, day), invoice_date)


def day_of_following_month(invoice_date: date, day: int) -> date:
    year, month = (
        (invoice_date.year + 1, 1)
        if invoice_date.month == 12
        else (
            invoice_date.year,
            invoice_date.month + 1,
        )
    )
    return clamped_day(year, month, day)


_RULES = {
    DueRule.days_after_invoice: days_after_invoice,
    DueRule.days_after_end_of_month: days_after_end_of_month,
    DueRule.day_of_current_month: day_of_current_month,
    DueRule.day_of_following_month: day_of_following_month,
}


def apply_terms(terms: Terms, invoice_date: date) -> date:
    validate_terms(terms.rule, terms.days)
    return _RULES[terms.rule](invoice_date, terms.days)


def due_date(
    invoice_date: date,
    terms: Terms,
    *,
    use_contact_terms: bool = False,
    contact_terms: Terms | None = None,
) -> date:
    """The due date: the contact's own terms in the provider when chosen and known, else the
    company's rule."""
    if use_contact_terms and contact_terms is not None:
        return apply_terms(contact_terms, invoice_date)
    return apply_terms(terms, invoice_date)


def describe(terms: Terms) -> str:
    """Plain words for the rule, as shown on the preferences page."""
    n = terms.days
    if terms.rule == DueRule.days_after_invoice:
        return f"{n} day{'s' if n != 1 else ''} after the invoice date"
    if terms.rule == DueRule.days_after_end_of_month:
        return f"{n} day{'s' if n != 1 else ''} after the end of the invoice month"
    if terms.rule == DueRule.day_of_current_month:
        return f"day {n} of the invoice month"
    return f"day {n} of the month after the invoice"
