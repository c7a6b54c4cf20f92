"""Pure mapping of Xero repeating invoices (lifecycle-and-billing.md §1.3; spec
``RepeatingInvoice`` and ``Schedule``): saved as a DRAFT template so that each invoice it
generates is a draft; ``Schedule`` every Period WEEKLY or MONTHLY units from StartDate, the
last on or before EndDate; never edited, only deleted (``Status: DELETED``)."""

from __future__ import annotations

from typing import Any, Literal

from app.providers.base import RepeatingInvoice, RepeatingInvoiceDraft
from app.providers.xero.mapping import line_to_json, parse_date

UNITS: dict[str, Literal["week", "month"]] = {"WEEKLY": "week", "MONTHLY": "month"}
#: Pipedrive billing frequencies a Xero repeating invoice holds as they are (every 1 unit).
FREQUENCIES = frozenset({"weekly", "monthly"})


def repeating_to_json(draft: RepeatingInvoiceDraft) -> dict[str, Any]:
    """The RepeatingInvoice element for ``PUT /RepeatingInvoices``: a DRAFT template."""
    invoice = draft.invoice
    schedule: dict[str, Any] = {
        "Period": draft.every,
        "Unit": "WEEKLY" if draft.unit == "week" else "MONTHLY",
        "DueDate": draft.due_days,
        "DueDateType": "DAYSAFTERBILLDATE",
        "StartDate": draft.start.isoformat(),
    }
    if draft.end is not None:
        schedule["EndDate"] = draft.end.isoformat()
    out: dict[str, Any] = {
        "Type": "ACCREC",
        "Contact": {"ContactID": invoice.contact_id},
        "Schedule": schedule,
        "LineAmountTypes": invoice.tax_mode.value,
        "LineItems": [line_to_json(line, invoice.tax_code) for line in invoice.lines],
        # DRAFT: every generated invoice is a draft (AUTHORISED would approve them).
        "Status": "DRAFT",
    }
    if invoice.currency:
        out["CurrencyCode"] = invoice.currency
    if invoice.reference:
        out["Reference"] = invoice.reference[:255]
    if invoice.template_id:
        out["BrandingThemeID"] = invoice.template_id
    return out


def repeating_from_json(data: dict[str, Any]) -> RepeatingInvoice:
    schedule = data.get("Schedule") or {}
    return RepeatingInvoice(
        id=str(data.get("RepeatingInvoiceID") or data["ID"]),
        status=str(data.get("Status") or "DRAFT").upper(),
        contact_id=(data.get("Contact") or {}).get("ContactID"),
        unit=UNITS.get(str(schedule.get("Unit") or "MONTHLY"), "month"),
        every=int(schedule.get("Period") or 1),
        start=parse_date(schedule.get("StartDate")),
        next_date=parse_date(schedule.get("NextScheduledDate")),
        end=parse_date(schedule.get("EndDate")),
    )
