"""What every Accounting API v3 endpoint shares: authentication and the per-realm limits
(handing the route its realm's Books), the response envelope, the read views and
requestid replays (quickbooks.md §2, §7, §12)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, Response

from sandbox.quickbooks import errors
from sandbox.quickbooks.api import names
from sandbox.quickbooks.clocktime import qbo_time
from sandbox.quickbooks.rules import DISCOUNT, SALES, SUBTOTAL, dec
from sandbox.quickbooks.state import ApiState, Books, public
from sandbox.quickbooks.webhooks import emit

if TYPE_CHECKING:
    from sandbox.app import Sandbox

PREFIX = "/quickbooks/api/v3/company/{realm_id}"
MINOR_VERSION_FLOOR = 75


def minor_version(request: Request) -> int:
    """Values below 75 (and absent or unparsable ones) are served as 75 (§2)."""
    try:
        asked = int(request.query_params.get("minorversion", MINOR_VERSION_FLOOR))
    except ValueError:
        asked = MINOR_VERSION_FLOOR
    return max(asked, MINOR_VERSION_FLOOR)


def envelope(books: Books, **payload: Any) -> dict[str, Any]:
    return dict(payload, time=qbo_time(books.clock.now(), millis=True))


def invoice_view(books: Books, doc: dict[str, Any], include: str = "") -> dict[str, Any]:
    """The invoice as read: a computed SubTotalLineDetail line after the item lines."""
    out = public(doc)
    lines = out.get("Line", [])
    items = [ln for ln in lines if ln.get("DetailType") != DISCOUNT]
    discounts = [ln for ln in lines if ln.get("DetailType") == DISCOUNT]
    subtotal = sum((dec(ln["Amount"]) for ln in items if ln.get("DetailType") == SALES), dec(0))
    subtotal_line = {"Amount": float(subtotal), "DetailType": SUBTOTAL, SUBTOTAL: {}}
    out["Line"] = [*items, subtotal_line, *discounts]
    wants_link = "invoicelink" in include.lower().split(",")
    if wants_link and out.get("BillEmail") and out.get("AllowOnlineCreditCardPayment"):
        out["InvoiceLink"] = (
            f"{books.public_url}/quickbooks/connect/portal/app/CommerceNetwork/view/"
            f"scs-v1-{books.realm}-{doc['Id']}"
        )
    return out


def view(books: Books, entity: str, doc: dict[str, Any], include: str = "") -> dict[str, Any]:
    if entity == "Invoice":
        return invoice_view(books, doc, include)
    if entity == "Customer":
        return public(names.customer_view(books, doc))
    return public(doc)


async def read_json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise errors.invalid_property("Request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise errors.invalid_property("Request body must be a JSON object")
    return body


async def realm_books(request: Request, realm_id: str) -> AsyncIterator[Books]:
    """Authenticate, apply the per-realm limits, and hand the route its realm's Books."""
    sandbox: Sandbox = request.app.state.sandbox
    state: ApiState = sandbox.extras["quickbooks"]["api"]
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    record = state.oauth.grants.access(token) if token else None
    if record is None:
        raise errors.authentication(
            "Token expired: the access token is missing, expired or revoked"
        )
    if record.get("realm_id") != realm_id or sandbox.store.get("qbo:realm", realm_id) is None:
        raise errors.QboFault(
            403,
            "3100",
            "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
            f"The token is not authorized for company {realm_id}.",
            type_="AuthorizationFault",
        )
    fast, _, wait = state.second.hit(realm_id)
    if not fast:
        raise errors.throttled(retry_after=wait)
    allowed, _, _ = state.minute.hit(realm_id)
    if not allowed:
        raise errors.throttled()
    async with state.gate.enter(realm_id) as entered:
        if not entered:
            raise errors.throttled()
        if state.processing_seconds:
            await asyncio.sleep(state.processing_seconds)
        books = Books(sandbox.store, sandbox.clock, realm_id, sandbox.settings.public_url)
        request.state.minorversion = minor_version(request)
        yield books


BooksDep = Annotated[Books, Depends(realm_books)]


async def idempotent(
    request: Request, books: Books, action: Callable[[], dict[str, Any]]
) -> Response:
    """A repeated requestid replays the original response (§7), faults included."""
    sandbox: Sandbox = request.app.state.sandbox
    request_id = request.query_params.get("requestid")
    key = f"{books.realm}:{request_id}"
    if request_id:
        saved = sandbox.store.get("qbo:requestid", key)
        if saved:
            return JSONResponse(saved["body"], saved["status"])
    try:
        with sandbox.store.transaction():
            status, body = 200, action()
    except errors.QboFault as fault:
        status, body = fault.status, fault.body(qbo_time(sandbox.clock.now(), millis=True))
        books.events.clear()
    if request_id:
        sandbox.store.put("qbo:requestid", key, {"status": status, "body": body}, scope=books.realm)
    if status == 200:
        emit(sandbox, books.realm, books.events)
    return JSONResponse(body, status)
