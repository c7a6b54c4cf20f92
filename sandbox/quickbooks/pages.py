"""Read-only pages: the deep link `/app/invoice?txnId=`, the invoice list, the pay link."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sandbox.quickbooks.api.common import invoice_view
from sandbox.quickbooks.clocktime import company_today
from sandbox.quickbooks.rules import derive_status
from sandbox.quickbooks.state import Books
from sandbox.templating import render

if TYPE_CHECKING:
    from sandbox.app import Sandbox


def _books(sandbox: Sandbox, realm_id: str | None) -> Books | None:
    realms = sandbox.store.all("qbo:realm")
    chosen = next((r for r in realms if r["realm_id"] == realm_id), None) if realm_id else None
    if chosen is None and not realm_id and realms:
        chosen = realms[0]
    if chosen is None:
        return None
    return Books(sandbox.store, sandbox.clock, chosen["realm_id"], sandbox.settings.public_url)


def _row(books: Books, doc: dict[str, Any]) -> dict[str, Any]:
    out = invoice_view(books, doc)
    out["status"] = derive_status(doc, company_today(books.clock.now()))
    out["tax"] = (doc.get("TxnTaxDetail") or {}).get("TotalTax", 0)
    return out


def install(router: APIRouter, sandbox: Sandbox) -> None:
    def invoice_page(request: Request, books: Books | None, txn_id: str) -> Response:
        doc = books.get("Invoice", txn_id) if books else None
        if books is None or doc is None:
            deleted = books and books.store.get("qbo:deleted", f"{books.realm}:Invoice:{txn_id}")
            response: Response = render(
                request,
                "quickbooks/missing.html",
                status_code=404,
                txn_id=txn_id,
                deleted=bool(deleted),
            )
            return response
        realm = books.realm_doc() or {}
        page: Response = render(
            request,
            "quickbooks/invoice.html",
            company=realm.get("CompanyInfo", {}),
            invoice=_row(books, doc),
            realm_id=books.realm,
        )
        return page

    @router.get("/quickbooks/app/app/invoice", include_in_schema=False)
    async def deep_link(request: Request, txnId: str = "", realmId: str | None = None) -> Response:
        """`https://app.qbo.intuit.com/app/invoice?txnId=<Id>` (quickbooks.md §13)."""
        return invoice_page(request, _books(sandbox, realmId), txnId)

    @router.get("/quickbooks/app/app/invoices", include_in_schema=False)
    async def invoice_list(request: Request, realmId: str | None = None) -> Response:
        books = _books(sandbox, realmId)
        if books is None:
            missing: Response = render(
                request,
                "quickbooks/missing.html",
                status_code=404,
                txn_id="",
                deleted=False,
            )
            return missing
        realm = books.realm_doc() or {}
        rows = [_row(books, d) for d in books.all("Invoice")]
        page: Response = render(
            request,
            "quickbooks/invoices.html",
            company=realm.get("CompanyInfo", {}),
            invoices=rows,
            realm_id=books.realm,
        )
        return page

    @router.get(
        "/quickbooks/connect/portal/app/CommerceNetwork/view/{slug}", include_in_schema=False
    )
    async def pay_link(request: Request, slug: str) -> Response:
        """Where an InvoiceLink lands: the customer's view of the invoice."""
        realm_id, _, txn_id = slug.removeprefix("scs-v1-").partition("-")
        return invoice_page(request, _books(sandbox, realm_id), txn_id)
