"""Pages: the deep link `/app/invoice?txnId=` (with a form where a person plays the customer
and pays the invoice in full or in part), the invoice list, the pay link."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from sandbox import payform
from sandbox.quickbooks import errors
from sandbox.quickbooks.api.common import invoice_view
from sandbox.quickbooks.api.payments import payable_problem, record_payment
from sandbox.quickbooks.clocktime import company_today
from sandbox.quickbooks.rules import cents, dec, derive_status
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


def _due(doc: dict[str, Any]) -> Decimal:
    return cents(dec(doc.get("Balance", 0)))


def _pay_context(
    books: Books, doc: dict[str, Any], error: str | None, amount: str | None
) -> dict[str, Any] | None:
    """The pay form's context: shown while a balance is due, or to explain a refusal."""
    blocked = payable_problem(doc) is not None
    if blocked and not error:
        return None
    query = urlencode({"txnId": doc["Id"], "realmId": books.realm})
    return {
        "action": f"invoice/pay?{query}",
        "amount": f"{_due(doc):.2f}" if amount is None else amount,
        "currency": (doc.get("CurrencyRef") or {}).get("value"),
        "error": error,
        "blocked": blocked,
    }


def invoice_page(
    request: Request,
    books: Books | None,
    txn_id: str,
    *,
    with_form: bool = False,
    error: str | None = None,
    amount: str | None = None,
    status: int = 200,
) -> Response:
    """One invoice, or the missing page (404, saying so when it was deleted)."""
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
        pay=_pay_context(books, doc, error, amount) if with_form else None,
        status_code=status,
    )
    return page


def pay_from_page(
    request: Request, sandbox: Sandbox, books: Books | None, txn_id: str, choice: str, raw: str
) -> Response:
    """Record the form's payment as the control call does (Payment Create and Invoice Update
    webhooks) and go back to the invoice; refused input re-shows it and changes nothing."""
    doc = books.get("Invoice", txn_id) if books else None
    if books is None or doc is None:
        return invoice_page(request, books, txn_id)
    problem = payable_problem(doc)
    if problem:
        status = derive_status(doc, company_today(books.clock.now()))
        message = f"This invoice cannot take a payment ({status}): {problem}"
        return invoice_page(request, books, txn_id, with_form=True, error=message, status=409)
    try:
        chosen = payform.amount_to_pay(choice, raw, _due(doc))
        record_payment(sandbox, books, doc["Id"], chosen)
    except (payform.FormError, errors.QboFault) as exc:
        message = exc.detail if isinstance(exc, errors.QboFault) else str(exc)
        return invoice_page(
            request, books, txn_id, with_form=True, error=message, amount=raw, status=422
        )
    query = urlencode({"txnId": doc["Id"], "realmId": books.realm})
    return RedirectResponse(f"/quickbooks/app/app/invoice?{query}", status_code=303)


def install(router: APIRouter, sandbox: Sandbox) -> None:
    @router.get("/quickbooks/app/app/invoice", include_in_schema=False)
    async def deep_link(request: Request, txnId: str = "", realmId: str | None = None) -> Response:
        """`https://app.qbo.intuit.com/app/invoice?txnId=<Id>` (quickbooks.md §13)."""
        return invoice_page(request, _books(sandbox, realmId), txnId, with_form=True)

    @router.post("/quickbooks/app/app/invoice/pay", include_in_schema=False)
    async def pay(
        request: Request,
        txnId: str = "",
        realmId: str | None = None,
        pay: str = Form(""),
        amount: str = Form(""),
    ) -> Response:
        """The deep-link page's pay form: `pay` is full or part, `amount` the part to pay."""
        return pay_from_page(request, sandbox, _books(sandbox, realmId), txnId, pay, amount)

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
