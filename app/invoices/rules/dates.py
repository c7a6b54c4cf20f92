"""Dates of a company: its today in the organisation's timezone, and a contact's terms."""

from __future__ import annotations

from datetime import date, datetime

from app.invoices.rules.meta import ProviderMeta
from app.preferences.due_dates import DueRule, Terms
from app.providers.base import PaymentTerms
from app.tenants.clock import today_in

__all__ = ["company_today", "contact_terms", "today_in"]


def company_today(
    meta: ProviderMeta, now: datetime | None = None, timezone: str | None = None
) -> date:
    """Today in the company's timezone (``app.tenants.clock``: ``timezone`` when the caller
    read it), else the connected organisation's (UTC when it does not say)."""
    return today_in(timezone or meta.organisation.timezone, now)


def contact_terms(terms: PaymentTerms | None) -> Terms | None:
    """A provider contact's own sales terms as our due-date rule, when they say enough."""
    if terms is None:
        return None
    if terms.day is not None and terms.type:
        rule = {
            "DAYSAFTERBILLDATE": DueRule.days_after_invoice,
            "DAYSAFTERBILLMONTH": DueRule.days_after_end_of_month,
            "OFCURRENTMONTH": DueRule.day_of_current_month,
            "OFFOLLOWINGMONTH": DueRule.day_of_following_month,
        }.get(terms.type.upper())
        return Terms(rule, terms.day) if rule else None
    digits = "".join(ch for ch in (terms.name or "") if ch.isdigit())
    if digits:
        return Terms(DueRule.days_after_invoice, int(digits))
    if terms.name and "receipt" in terms.name.lower():
        return Terms(DueRule.days_after_invoice, 0)
    return None
