"""What every Accounting API answer shares: the envelope, JSON or XML, error shapes, request
context (token, tenant) and reading the request body."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from sandbox.xero.api import xml
from sandbox.xero.errors import problem
from sandbox.xero.state import PROVIDER_NAME, XeroState, envelope_time, msdate, new_id

MONEY_KEYS = frozenset(
    {
        "Quantity",
        "UnitAmount",
        "LineAmount",
        "TaxAmount",
        "DiscountRate",
        "DiscountAmount",
        "SubTotal",
        "TotalTax",
        "Total",
        "TotalDiscount",
        "AmountDue",
        "AmountPaid",
        "AmountCredited",
        "AppliedAmount",
        "RemainingCredit",
        "CurrencyRate",
        "Amount",
        "UnitPrice",
        "DisplayTaxRate",
        "EffectiveRate",
        "Rate",
        "QuantityOnHand",
        "TotalCostPool",
    }
)
# Stored as ISO dates (YYYY-MM-DD) or epoch milliseconds; answered as MS-JSON dates.
DATE_KEYS = frozenset({"Date", "DueDate", "FullyPaidOnDate", "ExpectedPaymentDate"})
TIME_KEYS = frozenset({"UpdatedDateUTC", "CreatedDateUTC"})


def present(value: Any) -> Any:
    """Stored document -> wire form: money as Decimal numbers, dates as MS-JSON."""
    if isinstance(value, list):
        return [present(v) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, inner in value.items():
        if key.startswith("_") or inner is None:
            # Xero leaves out empty fields rather than sending nulls.
            continue
        if key in MONEY_KEYS and isinstance(inner, str):
            out[key] = Decimal(inner)
        elif (key in TIME_KEYS and isinstance(inner, str | int)) or (
            # A repeating invoice's Schedule.DueDate is a number of days, not a date.
            key in DATE_KEYS and isinstance(inner, str)
        ):
            out[key] = msdate(inner)
        else:
            out[key] = present(inner)
    return out


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # Xero answers plain JSON numbers; values here have at most 4 decimals.
        return float(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(data: Any) -> bytes:
    return json.dumps(data, default=_json_default, separators=(",", ":")).encode()


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "").lower()


def ctx(request: Request) -> dict[str, Any]:
    """What the gate established: tenant_id, user_id, grant_id, client_id."""
    found: dict[str, Any] = request.scope.get("state", {}).get("xero", {})
    return found


def state_of(request: Request) -> XeroState:
    found: XeroState = request.app.state.xero
    return found


def respond(
    request: Request,
    plural: str,
    items: list[dict[str, Any]],
    *,
    status: int = 200,
    pagination: dict[str, int] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    """The standard envelope `{Id, Status, ProviderName, DateTimeUTC, <Plural>: [...]}`."""
    state = state_of(request)
    body: dict[str, Any] = {
        "Id": new_id(),
        "Status": "OK",
        "ProviderName": PROVIDER_NAME,
        "DateTimeUTC": envelope_time(state.now()),
    }
    if pagination is not None:
        body["pagination"] = pagination
    if extra:
        body.update(extra)
    body[plural] = [present(i) for i in items]
    if wants_json(request):
        return Response(dumps(body), status, media_type="application/json; charset=utf-8")
    return Response(xml.render("Response", body), status, media_type="text/xml; charset=utf-8")


def validation_error(request: Request, elements: list[dict[str, Any]]) -> Response:
    """400 ValidationException (spec schema `Error`; xero.md section 12)."""
    body = {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": [present(e) for e in elements],
    }
    if wants_json(request):
        return Response(dumps(body), 400, media_type="application/json; charset=utf-8")
    return Response(xml.render("ApiException", body), 400, media_type="text/xml; charset=utf-8")


def with_errors(element: dict[str, Any], messages: list[str]) -> dict[str, Any]:
    return dict(element, ValidationErrors=[{"Message": m} for m in messages])


def bad_request(request: Request, message: str) -> Response:
    """A request-level validation failure (no entity to echo)."""
    return validation_error(request, [{"ValidationErrors": [{"Message": message}]}])


def not_found(request: Request) -> Response:
    # Xero's 404 body for an unknown id is not documented (UNCONFIRMED); the status is what
    # SDKs act on (xero-python raises NotFoundException), so a short problem body is answered.
    body = problem(404, "NotFound", "The resource you're looking for cannot be found")
    return Response(dumps(body), 404, media_type="application/json; charset=utf-8")


async def read_body(request: Request, plural: str) -> tuple[list[dict[str, Any]] | None, str]:
    """The entities of a PUT/POST body: `{"<Plural>": [...]}` or a single bare entity.

    Returns (entities, "") or (None, message) when the body cannot be read.
    """
    raw = await request.body()
    if not raw.strip():
        return None, "The request body is empty"
    is_xml = "xml" in request.headers.get("content-type", "") or raw.lstrip().startswith(b"<")
    try:
        # Xero reads XML bodies as well as JSON (the SDKs send JSON).
        data = xml.parse(raw) if is_xml else json.loads(raw)
    except ValueError:
        return None, "The request body could not be parsed"
    if isinstance(data, dict) and isinstance(data.get(plural), list):
        items = data[plural]
    elif isinstance(data, dict) and list(data) == [xml.singular(plural)]:
        items = [data[xml.singular(plural)]]  # a bare <Invoice> document
    elif isinstance(data, dict):
        items = [data]
    elif isinstance(data, list):
        items = data
    else:
        return None, "The request body could not be parsed"
    if not all(isinstance(i, dict) for i in items):
        return None, "The request body could not be parsed"
    return items, ""


def flag(request: Request, name: str, default: bool) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in ("true", "1", "yes")
