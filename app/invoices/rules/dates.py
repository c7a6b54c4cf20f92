"""Dates of a company: its today in the organisation's timezone, and a contact's terms."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.invoices.rules.meta import ProviderMeta
from app.preferences.due_dates import DueRule, Terms
from app.providers.base import PaymentTerms

# Xero sends Windows-style zone names (NEWZEALANDSTANDARDTIME); the ones our customers use.
WINDOWS_ZONES = {
    "NEWZEALANDSTANDARDTIME": "Pacific/Auckland",
    "AUSEASTERNSTANDARDTIME": "Australia/Sydney",
    "EAUSTRALIASTANDARDTIME": "Australia/Brisbane",
    "WAUSTRALIASTANDARDTIME": "Australia/Perth",
    "GMTSTANDARDTIME": "Europe/London",
    "WEUROPESTANDARDTIME": "Europe/Berlin",
    "PACIFICSTANDARDTIME": "America/Los_Angeles",
    "EASTERNSTANDARDTIME": "America/New_York",
    "CENTRALSTANDARDTIME": "America/Chicago",
    "UTC": "UTC",
}


def company_today(meta: ProviderMeta, now: datetime | None = None) -> date:
    """Today in the connected organisation's timezone (UTC when it does not say)."""
    return today_in(meta.organisation.timezone, now)


def today_in(timezone: str | None, now: datetime | None = None) -> date:
    """Today in ``timezone`` (an IANA name, or Xero's Windows-style one; UTC when unknown):
    an invoice turns overdue at the organisation's midnight, not at ours."""
    name = timezone or "UTC"
    try:
        zone = ZoneInfo(WINDOWS_ZONES.get(name.upper(), name))
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return (now or datetime.now(UTC)).astimezone(zone).date()


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
