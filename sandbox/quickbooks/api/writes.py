"""Writes: invoices (create, update, void, delete, send) and the name lists (customers and
items), each replayable by requestid (quickbooks.md §3, §7, §9)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sandbox.quickbooks import errors
from sandbox.quickbooks.api import credits, invoices, names
from sandbox.quickbooks.api.common import (
    PREFIX,
    BooksDep,
    envelope,
    idempotent,
    invoice_view,
    read_json,
    view,
)


def router() -> APIRouter:
    """The write routes."""
    r = APIRouter()

    @r.post(PREFIX + "/invoice/{invoice_id}/send")
    async def send(books: BooksDep, request: Request, invoice_id: str) -> Response:
        send_to = request.query_params.get("sendTo")
        return await idempotent(
            request,
            books,
            lambda: envelope(
                books, Invoice=invoice_view(books, invoices.send(books, invoice_id, send_to))
            ),
        )

    @r.post(PREFIX + "/invoice")
    async def invoice_write(books: BooksDep, request: Request) -> Response:
        body = await read_json(request)
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
        @r.post(PREFIX + "/" + entity.lower(), name=f"qbo_{entity.lower()}_write")
        async def write(books: BooksDep, request: Request) -> Response:
            body = await read_json(request)

            def action() -> dict[str, Any]:
                doc = update(books, body) if body.get("Id") else create(books, body)
                return envelope(books, **{entity: view(books, entity, doc)})

            return await idempotent(request, books, action)

    @r.post(PREFIX + "/creditmemo")
    async def credit_memo_write(books: BooksDep, request: Request) -> Response:
        body = await read_json(request)
        if body.get("Id"):
            # Updating a memo is not modelled: the product never edits one.
            raise errors.invalid_property("Credit memo updates are not supported here", "Id")

        def action() -> dict[str, Any]:
            memo = credits.create_memo(books, body)
            return envelope(books, CreditMemo=view(books, "CreditMemo", memo))

        return await idempotent(request, books, action)

    @r.post(PREFIX + "/payment")
    async def payment_write(books: BooksDep, request: Request) -> Response:
        body = await read_json(request)
        if body.get("Id"):
            raise errors.invalid_property("Payment updates are not supported here", "Id")

        def action() -> dict[str, Any]:
            payment = credits.create_payment(books, body)
            return envelope(books, Payment=view(books, "Payment", payment))

        return await idempotent(request, books, action)

    name_list_writer("Customer", names.create_customer, names.update_customer)
    name_list_writer("Item", names.create_item, names.update_item)

    return r
