"""Recurring transactions (lifecycle-and-billing.md §2.3; QXSD RecurringTransaction, QPHP
samples): an Invoice template under its own key with RecurringInfo {Name, RecurType, Active,
ScheduleInfo}; created, read and deleted (update is UNCONFIRMED, so refused here). Only
QuickBooks Online Essentials, Plus and Advanced companies have recurring transactions; others
are refused (wording UNCONFIRMED). Only Invoice templates are modelled."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sandbox.quickbooks import errors
from sandbox.quickbooks.api.common import PREFIX, BooksDep, envelope, idempotent, read_json
from sandbox.quickbooks.api.invoices import amounts, check_date, customer_and_currency, sales_lines
from sandbox.quickbooks.clocktime import company_today
from sandbox.quickbooks.state import Books, check_sync_token, public

RECUR_TYPES = ("Automated", "Reminded", "UnScheduled")
INTERVALS = ("Daily", "Weekly", "Monthly", "Yearly")
SKUS = ("Essentials", "Plus", "Advanced")


def offering(books: Books) -> str:
    info = (books.realm_doc() or {}).get("CompanyInfo", {})
    values = {n.get("Name"): n.get("Value") for n in info.get("NameValue", [])}
    return str(values.get("OfferingSku") or "")


def check_schedule(info: Any) -> dict[str, Any]:
    if not isinstance(info, dict):
        raise errors.required("RecurringInfo", element="Invoice.RecurringInfo")
    if not str(info.get("Name") or "").strip():
        raise errors.required("Name", element="RecurringInfo.Name")
    if info.get("RecurType") not in RECUR_TYPES:
        raise errors.invalid_property("RecurType must be Automated, Reminded or UnScheduled")
    schedule = info.get("ScheduleInfo")
    if info["RecurType"] == "UnScheduled":
        return dict(info, ScheduleInfo=schedule or {})
    if not isinstance(schedule, dict) or schedule.get("IntervalType") not in INTERVALS:
        raise errors.invalid_property(
            "ScheduleInfo.IntervalType must be Daily, Weekly, Monthly or Yearly",
            "RecurringInfo.ScheduleInfo",
        )
    count = schedule.get("NumInterval", 1)
    if not isinstance(count, int) or count < 1:
        raise errors.invalid_property("ScheduleInfo.NumInterval must be at least 1")
    cap = schedule.get("MaxOccurrences")
    if cap is not None and (not isinstance(cap, int) or cap < 1):
        raise errors.invalid_property("ScheduleInfo.MaxOccurrences must be at least 1")
    start = check_date(schedule.get("StartDate") or "", "ScheduleInfo.StartDate")
    return dict(info, ScheduleInfo=dict(schedule, StartDate=start, NextDate=start))


def create(books: Books, body: dict[str, Any]) -> dict[str, Any]:
    sku = offering(books)
    if not any(name in sku for name in SKUS):
        raise errors.business(
            "6000",
            f"Recurring transactions are not available in {sku or 'this company'}: they need "
            "QuickBooks Online Essentials, Plus or Advanced.",
        )
    kinds = [k for k in body if k not in ("sparse",)]
    if kinds != ["Invoice"] or not isinstance(body["Invoice"], dict):
        raise errors.invalid_property("Only an Invoice template is supported here")
    template = {k: v for k, v in body["Invoice"].items() if k not in ("Id", "SyncToken")}
    _, currency = customer_and_currency(books, template)
    template["Line"] = sales_lines(books, template.get("Line"))
    template["TxnDate"] = company_today(books.clock.now()).isoformat()
    amounts(books, template, body["Invoice"], None, currency)
    template["RecurringInfo"] = check_schedule(template.get("RecurringInfo"))
    return books.insert("RecurringTransaction", template)


def router() -> APIRouter:
    r = APIRouter()

    @r.post(PREFIX + "/recurringtransaction")
    async def write(books: BooksDep, request: Request) -> Response:
        body = await read_json(request)
        operation = request.query_params.get("operation", "").lower()

        def action() -> dict[str, Any]:
            if operation == "delete":
                given = body.get("Invoice") or {}
                doc = books.require("RecurringTransaction", str(given.get("Id") or ""))
                check_sync_token(doc, given)
                books.delete("RecurringTransaction", doc)
                return envelope(books, Invoice={"Id": doc["Id"]})
            if operation or (body.get("Invoice") or {}).get("Id"):
                raise errors.invalid_property("Recurring transactions are not updated here")
            return envelope(books, Invoice=public(create(books, body)))

        return await idempotent(request, books, action)

    @r.get(PREFIX + "/recurringtransaction/{template_id}")
    async def read(books: BooksDep, template_id: str) -> dict[str, Any]:
        doc = books.require("RecurringTransaction", template_id)
        return envelope(books, RecurringTransaction={"Invoice": public(doc)})

    return r
