"""The stand-in's pages: the login/consent page, views of an organisation's invoices reached
through Xero's deep links (xero.md 10.7) and online-invoice links, and a form on the invoice
page where a person plays the customer and pays it in full or in part."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sandbox import payform
from sandbox.templating import templates
from sandbox.xero.api.payments import PaymentError, apply_payment, payable_problem
from sandbox.xero.state import XeroState

STATUS_LABELS = {
    "DRAFT": "Draft",
    "SUBMITTED": "Awaiting approval",
    "AUTHORISED": "Awaiting payment",
    "PAID": "Paid",
    "VOIDED": "Voided",
    "DELETED": "Deleted",
}


def _html(name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    template = templates.get_template(f"xero/{name}")
    return HTMLResponse(
        template.render(status_label=lambda s: STATUS_LABELS.get(s, s), **context), status
    )


def identity_error(error: str, description: str) -> HTMLResponse:
    return _html("error.html", {"error": error, "description": description}, 400)


def consent(
    request: Request,
    state: XeroState,
    params: dict[str, str],
    scopes: list[str],
    *,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    orgs = state.orgs()
    return _html(
        "authorize.html",
        {
            "client_id": params.get("client_id"),
            "scopes": scopes,
            "params": {k: v for k, v in params.items() if v},
            "users": state.users(),
            "orgs": orgs,
            "org_names": {o["OrganisationID"]: o["Name"] for o in orgs},
            "error": error,
        },
        status,
    )


def deep_link(state: XeroState, org: dict[str, Any], invoice_id: str) -> str:
    return (
        f"{state.base}/go/organisationlogin/default.aspx?shortcode={quote(org['ShortCode'])}"
        f"&redirecturl=/AccountsReceivable/View.aspx?InvoiceID={invoice_id}"
    )


def _org_by_shortcode(state: XeroState, shortcode: str) -> dict[str, Any] | None:
    return next((o for o in state.orgs() if o["ShortCode"] == shortcode), None)


def pay_url(state: XeroState, invoice_id: str) -> str:
    return f"{state.base}/invoices/{invoice_id}/pay"


def invoice_page(
    state: XeroState,
    org: dict[str, Any],
    invoice: dict[str, Any],
    online: bool,
    *,
    error: str | None = None,
    amount: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The invoice; on the organisation's view (not the online invoice) a pay form when the
    invoice can take a payment, or when a refused payment has an error to show."""
    blocked = payable_problem(invoice) is not None
    pay = None
    if not online and (not blocked or error):
        pay = {
            "action": pay_url(state, invoice["InvoiceID"]),
            "amount": invoice["AmountDue"] if amount is None else amount,
            "currency": invoice.get("CurrencyCode"),
            "error": error,
            "blocked": blocked,
        }
    return _html(
        "invoice.html",
        {
            "org": org,
            "inv": invoice,
            "online": online,
            "pay": pay,
            "list_url": f"{state.base}/go/organisationlogin/default.aspx?shortcode="
            f"{quote(org['ShortCode'])}",
        },
        status,
    )


def pay_from_page(state: XeroState, invoice_id: str, choice: str, raw_amount: str) -> Response:
    """Apply the form's payment (the JSON control's code) and go back to the invoice page;
    refused input re-shows the page with the error and changes nothing."""
    invoice = state.store.get("xero:invoice", invoice_id.lower())
    org = state.org(invoice["_tenant"]) if invoice else None
    if invoice is None or org is None:
        return _html("error.html", {"error": "Invoice not found", "description": invoice_id}, 404)
    problem = payable_problem(invoice)
    if problem:
        label = STATUS_LABELS.get(invoice["Status"], invoice["Status"])
        message = f"This invoice cannot take a payment ({label}): {problem}."
        return invoice_page(state, org, invoice, False, error=message, status=409)
    try:
        amount = payform.amount_to_pay(choice, raw_amount, Decimal(invoice["AmountDue"]))
        apply_payment(state, invoice, amount)
    except (payform.FormError, PaymentError) as exc:
        return invoice_page(
            state, org, invoice, False, error=str(exc), amount=raw_amount, status=422
        )
    return RedirectResponse(deep_link(state, org, invoice["InvoiceID"]), status_code=303)


def list_page(state: XeroState, org: dict[str, Any]) -> HTMLResponse:
    invoices = [
        i
        for i in state.store.all("xero:invoice", scope=org["OrganisationID"])
        if i["Type"] == "ACCREC"
    ]
    return _html(
        "invoices.html",
        {
            "org": org,
            "invoices": invoices,
            "link": lambda inv: deep_link(state, org, inv["InvoiceID"]),
        },
    )


def install(app: FastAPI, state: XeroState) -> None:
    router = APIRouter(prefix="/xero", tags=["xero pages"], include_in_schema=False)

    @router.get("/go/organisationlogin/default.aspx", response_model=None)
    async def organisation_login(request: Request) -> Response:
        """Xero's deep-link landing: `shortcode` picks the org, `redirecturl` the page."""
        raw = request.url.query
        # `redirecturl` is often sent unencoded, its own `?` included: parse_qs keeps it whole.
        query = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        org = _org_by_shortcode(state, query.get("shortcode", ""))
        if org is None:
            return _html(
                "error.html",
                {"error": "Organisation not found", "description": "Unknown short code."},
                404,
            )
        target = urlsplit(query.get("redirecturl", ""))
        invoice_id = {k.lower(): v[0] for k, v in parse_qs(target.query).items()}.get("invoiceid")
        if invoice_id:
            invoice = state.store.get("xero:invoice", invoice_id.lower())
            if invoice is None or invoice["_tenant"] != org["OrganisationID"]:
                return _html(
                    "error.html", {"error": "Invoice not found", "description": invoice_id}, 404
                )
            return invoice_page(state, org, invoice, online=False)
        return list_page(state, org)

    @router.get("/in/{token}", response_model=None)
    async def online_invoice(token: str) -> Response:
        """The customer-facing online invoice (`OnlineInvoiceUrl`)."""
        found = state.store.get("xero:online", token)
        invoice = state.store.get("xero:invoice", found["invoice_id"]) if found else None
        org = state.org(invoice["_tenant"]) if invoice else None
        if invoice is None or org is None:
            return _html(
                "error.html",
                {"error": "Not found", "description": "This invoice link is not valid."},
                404,
            )
        return invoice_page(state, org, invoice, online=True)

    @router.post("/invoices/{invoice_id}/pay", response_model=None)
    async def pay(invoice_id: str, pay: str = Form(""), amount: str = Form("")) -> Response:
        """The invoice page's pay form: `pay` is full or part, `amount` the part to pay."""
        return pay_from_page(state, invoice_id, pay, amount)

    app.include_router(router)
