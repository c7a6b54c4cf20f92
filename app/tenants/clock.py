"""A company's one timezone, as a rule with no I/O: which zone its dates are in, and its today.

The rule (the same for every surface and provider): the Pipedrive company's timezone
(``users/me`` ``timezone_name``, stored on the company); when Pipedrive has not told us, the
connected organisation's (Xero first, then QuickBooks, so one company never has two); UTC when
nobody says. The issue date the dialog proposes, the due dates worked out from it, and the
preferences preview all use it, so Xero and QuickBooks invoices of one company get the same
dates. Statuses a provider decides (overdue) stay in the provider's own zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
# Whose organisation decides when Pipedrive gave no timezone: a fixed order, one answer.
PROVIDER_ORDER = ("xero", "quickbooks")


def known_zone(timezone: str | None) -> str | None:
    """The IANA zone name for ``timezone`` (IANA already, or Xero's Windows-style one), or
    None when it names no zone we know."""
    if not timezone:
        return None
    name = WINDOWS_ZONES.get(timezone.upper(), timezone)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def zone_name(timezone: str | None) -> str:
    """``known_zone``, UTC when unknown."""
    return known_zone(timezone) or "UTC"


def company_zone(
    company_timezone: str | None, organisations: Iterable[tuple[str, str | None]]
) -> str:
    """The company's zone: Pipedrive's, else the first organisation's (by ``PROVIDER_ORDER``)
    that names one, else UTC. ``organisations``: (provider, timezone) of its connections."""
    found = known_zone(company_timezone)
    if found:
        return found
    known = {provider: known_zone(tz) for provider, tz in organisations}
    return next((z for p in PROVIDER_ORDER if (z := known.get(p))), "UTC")


def today_in(timezone: str | None, now: datetime | None = None) -> date:
    """Today in ``timezone`` (an IANA name, or Xero's Windows-style one; UTC when unknown):
    an invoice turns overdue at the organisation's midnight, not at ours."""
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(zone_name(timezone))).date()
