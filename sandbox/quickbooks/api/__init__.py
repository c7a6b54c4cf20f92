"""Accounting API v3 under /quickbooks/api/v3/company/{realmId}/ (quickbooks.md §2 to §7)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from sandbox.limits import ConcurrencyGate, FixedWindow
from sandbox.quickbooks import errors
from sandbox.quickbooks.api import invoices, names, query
from sandbox.quickbooks.clocktime import parse_time, qbo_time
from sandbox.quickbooks.oauth import OAuthState
from sandbox.quickbooks.pdf import invoice_pdf
from sandbox.quickbooks.rules import DISCOUNT, SALES, SUBTOTAL, dec
from sandbox.quickbooks.state import CANONICAL, ENTITIES, Books, public
from sandbox.quickbooks.webhooks import emit

if TYPE_CHECKING:
    from sandbox.app import Sandbox

PREFIX = "/quickbooks/api/v3/company/{realm_id}"
MINOR_VERSION_FLOOR = 75
CDC_LOOKBACK = timedelta(days=30)
QUERYABLE = (*ENTITIES.values(), "CompanyInfo")
NAME_LISTS = ("Customer", "Item", "Account", "Term", "TaxCode", "TaxRate")


class ApiState:
    """The per-realm limits (quickbooks.md §12) and a test knob for server-side latency."""

    def __init__(self, sandbox: Sandbox, oauth: OAuthState) -> None:
        self.sandbox = sandbox
        self.oauth = oauth
        self.minute = FixedWindow(sandbox.clock, 500, 60)
        self.gate = ConcurrencyGate(10)
        # Seconds each API call spends "working" inside the concurrency gate, so that tests
        # and demos can observe the 10-concurrent limit (0 in normal use).
        self.processing_seconds = 0.0

    def reset(self) -> None:
        self.minute.reset()
        self.gate.reset()
        self.processing_seconds = 0.0


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


async def _json(request: Request) -> dict[str, Any]:
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


def install(router: APIRouter, sandbox: Sandbox, state: ApiState) -> None:
    async def idempotent(
        request: Request, books: Books, action: Callable[[], dict[str, Any]]
    ) -> Response:
        """A repeated requestid replays the original response (§7), faults included."""
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
            sandbox.store.put(
                "qbo:requestid", key, {"status": status, "body": body}, scope=books.realm
            )
        if status == 200:
            emit(sandbox, books.realm, books.events)
        return JSONResponse(body, status)

    @router.get(PREFIX + "/companyinfo/{company_id}")
    async def company_info(books: BooksDep, company_id: str) -> dict[str, Any]:
        realm = books.realm_doc() or {}
        if company_id != books.realm:
            raise errors.not_found("CompanyInfo", company_id)
        return envelope(books, CompanyInfo=public(realm["CompanyInfo"]))

    @router.get(PREFIX + "/preferences")
    async def preferences(books: BooksDep) -> dict[str, Any]:
        realm = books.realm_doc() or {}
        return envelope(books, Preferences=public(realm["Preferences"]))

    async def run_query(books: Books, text: str) -> dict[str, Any]:
        parsed = query.parse(text)
        entity = next((e for e in QUERYABLE if e.lower() == parsed.entity.lower()), None)
        if entity is None:
            raise errors.query_parse(f"Invalid entity name {parsed.entity!r} in the query.")
        if entity == "CompanyInfo":
            docs = [(books.realm_doc() or {})["CompanyInfo"]]
        else:
            docs = [view(books, entity, d) for d in books.all(entity)]
        if entity in NAME_LISTS and not any(c.field.lower() == "active" for c in parsed.where):
            # Like QBO, name lists hide inactive entries unless the query asks about Active.
            docs = [d for d in docs if d.get("Active", True)]
        page, total = query.run(parsed, docs)
        if parsed.count:
            return envelope(books, QueryResponse={"totalCount": total})
        response: dict[str, Any] = {}
        if page:
            response = {
                entity: [public(d) for d in page],
                "startPosition": parsed.start,
                "maxResults": len(page),
            }
        return envelope(books, QueryResponse=response)

    @router.get(PREFIX + "/query")
    async def query_get(books: BooksDep, request: Request) -> dict[str, Any]:
        return await run_query(books, request.query_params.get("query", ""))

    @router.post(PREFIX + "/query")
    async def query_post(books: BooksDep, request: Request) -> dict[str, Any]:
        return await run_query(books, (await request.body()).decode("utf-8", "replace"))

    @router.get(PREFIX + "/cdc")
    async def cdc(books: BooksDep, request: Request) -> dict[str, Any]:
        """Changes since a time (≤ 30 days back), deletions as status Deleted (§5)."""
        wanted = request.query_params.get("entities", "")
        since_text = request.query_params.get("changedSince", "")
        if not wanted:
            raise errors.required("entities")
        if not since_text:
            raise errors.required("changedSince")
        since = parse_time(since_text)
        if since is None:
            raise errors.invalid_property(f"Invalid changedSince {since_text!r}", "changedSince")
        if since < books.clock.now() - CDC_LOOKBACK:
            # UNCONFIRMED wording; the 30-day limit itself is documented (§5).
            raise errors.invalid_property(
                "changedSince must be within the last 30 days", "changedSince"
            )
        parts = []
        for name in wanted.split(","):
            entity = CANONICAL.get(name.strip().lower())
            if entity is None or entity in ("TaxCode", "TaxRate"):
                raise errors.invalid_property(
                    f"CDC is not supported for {name.strip()}", "entities"
                )
            changed = [
                view(books, entity, d)
                for d in books.all(entity)
                if (parse_time(d["MetaData"]["LastUpdatedTime"]) or since) >= since
            ]
            changed += [
                public(d)
                for d in books.deleted(entity)
                if (parse_time(d["MetaData"]["LastUpdatedTime"]) or since) >= since
            ]
            changed = changed[:1000]
            part: dict[str, Any] = {}
            if changed:
                part = {entity: changed, "startPosition": 1, "maxResults": len(changed)}
            parts.append(part)
        return envelope(books, CDCResponse=[{"QueryResponse": parts}])

    @router.get(PREFIX + "/invoice/{invoice_id}/pdf")
    async def pdf(books: BooksDep, invoice_id: str) -> Response:
        doc = books.require("Invoice", invoice_id)
        realm = books.realm_doc() or {}
        content = invoice_pdf(realm, invoice_view(books, doc), books.clock.now())
        return Response(content, media_type="application/pdf")

    @router.post(PREFIX + "/invoice/{invoice_id}/send")
    async def send(books: BooksDep, request: Request, invoice_id: str) -> Response:
        send_to = request.query_params.get("sendTo")
        return await idempotent(
            request,
            books,
            lambda: envelope(
                books, Invoice=invoice_view(books, invoices.send(books, invoice_id, send_to))
            ),
        )

    @router.post(PREFIX + "/invoice")
    async def invoice_write(books: BooksDep, request: Request) -> Response:
        body = await _json(request)
        operation = request.query_params.get("operation", "").lower()
        include = request.query_params.get("include", "")

        def action() -> dict[str, Any]:
            if operation == "void":
                return {"Invoice": invoice_view(books, invoices.void(books, body))}
            if operation == "delete":
                return {"Invoice": invoices.delete(books, body)}
            if operation not in ("", "update", "create"):
                raise errors.invalid_property(f"Unsupported operation {operation}", "operation")
            if body.get("Id"):
                return {"Invoice": invoice_view(books, invoices.update(books, body), include)}
            return {"Invoice": invoice_view(books, invoices.create(books, body), include)}

        return await idempotent(request, books, lambda: envelope(books, **action()))

    def name_list_writer(entity: str, create: Any, update: Any) -> None:
        @router.post(PREFIX + "/" + entity.lower(), name=f"qbo_{entity.lower()}_write")
        async def write(books: BooksDep, request: Request) -> Response:
            body = await _json(request)

            def action() -> dict[str, Any]:
                doc = update(books, body) if body.get("Id") else create(books, body)
                return envelope(books, **{entity: view(books, entity, doc)})

            return await idempotent(request, books, action)

    name_list_writer("Customer", names.create_customer, names.update_customer)
    name_list_writer("Item", names.create_item, names.update_item)

    @router.get(PREFIX + "/{entity_path}/{entity_id}")
    async def read(
        books: BooksDep, request: Request, entity_path: str, entity_id: str
    ) -> dict[str, Any]:
        entity = ENTITIES.get(entity_path.lower())
        if entity is None:
            raise errors.QboFault(
                400,
                "5030",
                "Unsupported Operation",
                f"Operation {entity_path} is not supported.",
            )
        doc = books.require(entity, entity_id)
        include = request.query_params.get("include", "")
        return envelope(books, **{entity: view(books, entity, doc, include)})
