"""Times as QuickBooks writes them: the company's local time with its UTC offset."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

# The demo company's DefaultTimeZone (CompanyInfo); QBO reports MetaData in company time.
COMPANY_TZ = ZoneInfo("America/Los_Angeles")


def qbo_time(moment: datetime, *, millis: bool = False) -> str:
    local = moment.astimezone(COMPANY_TZ)
    text = local.isoformat(timespec="milliseconds" if millis else "seconds")
    return text


def company_today(moment: datetime) -> date:
    return moment.astimezone(COMPANY_TZ).date()


def parse_time(text: str) -> datetime | None:
    """An ISO date or datetime; a naive value is read in company time (as QBO does)."""
    raw = text.strip()
    if raw.endswith("Z"):
        raw = raw[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=COMPANY_TZ)
    return value
