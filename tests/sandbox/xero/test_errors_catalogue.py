"""Catalogue of bad input and the real Xero error each case reproduces, with its source.

Sources are sections of /work/shared/reference/xero.md (which cites the public issue or
document behind each fact), the official OpenAPI spec (xero_accounting.yaml, schema `Error`),
or RFC 6749 where Xero's identity server follows the OAuth standard. Where xero.md marks a
wording UNCONFIRMED, the case says so: the status and shape are sourced, the text is ours.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.sandbox.xero.conftest import API, NZ, REDIRECT_URI, Xero, basic

VALIDATION = {
    "ErrorNumber": 10,
    "Type": "ValidationException",
    "Message": "A validation exception occurred",
}


@dataclass(frozen=True)
class Case:
    name: str
    reproduces: str
    source: str
    run: Callable[[Xero], Awaitable[None]]


def _validation(answer: Any, message: str) -> None:
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert {k: body[k] for k in VALIDATION} == VALIDATION
    assert message in [e["Message"] for el in body["Elements"] for e in el["ValidationErrors"]]


async def _invoice(xero: Xero, **fields: Any) -> Any:
    body = {
        "Type": "ACCREC",
        "Contact": {"ContactID": await xero.contact_id("Acme Ltd")},
        "DueDate": "2026-03-20",
        "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 100, "AccountCode": "200"}],
    }
    body.update(fields)
    return await xero.put(
        "/Invoices", {"Invoices": [{k: v for k, v in body.items() if v is not None}]}
    )


async def unknown_tenant(xero: Xero) -> None:
    xero.tenant = "00000000-0000-0000-0000-000000000000"
    answer = await xero.get("/Invoices")
    assert answer.status_code == 403
    assert {k: answer.json()[k] for k in ("Title", "Status", "Detail")} == {
        "Title": "Forbidden",
        "Status": 403,
        "Detail": "AuthenticationUnsuccessful",
    }


async def missing_tenant(xero: Xero) -> None:
    xero.tenant = ""
    answer = await xero.get("/Invoices")
    assert answer.status_code == 403 and answer.json()["Detail"] == "AuthenticationUnsuccessful"


async def expired_access_token(xero: Xero) -> None:
    await xero.advance(1801)
    answer = await xero.get("/Invoices")
    assert answer.status_code == 401 and answer.json()["Detail"] == "AuthorizationUnsuccessful"


async def missing_contact(xero: Xero) -> None:
    _validation(
        await _invoice(xero, Contact={}),
        "The Contact must contain at least 1 of the following elements to identify the "
        "contact: Name, ContactID, ContactNumber",
    )


async def authorised_without_due_date(xero: Xero) -> None:
    _validation(
        await _invoice(xero, Status="AUTHORISED", DueDate=None),
        "The document DueDate field must be specified.",
    )


async def invalid_status_transition(xero: Xero) -> None:
    created = (await _invoice(xero, Status="AUTHORISED")).json()["Invoices"][0]
    _validation(
        await xero.post(f"/Invoices/{created['InvoiceID']}", {"Status": "DRAFT"}),
        "Invoice not of valid status for modification",
    )


async def edit_with_payment_allocated(xero: Xero) -> None:
    created = (await _invoice(xero, Status="AUTHORISED")).json()["Invoices"][0]
    await xero.http.post(
        "/_sandbox/xero/payments", json={"InvoiceID": created["InvoiceID"], "Amount": "1"}
    )
    _validation(
        await xero.post(f"/Invoices/{created['InvoiceID']}", {"Reference": "x"}),
        "This document cannot be edited as it has a payment or credit note allocated to it.",
    )


async def duplicate_contact_name(xero: Xero) -> None:
    _validation(
        await xero.put("/Contacts", {"Contacts": [{"Name": "Acme Ltd"}]}),
        "The contact name Acme Ltd is already assigned to another contact. The contact "
        "name must be unique across all active contacts.",
    )


async def unknown_currency(xero: Xero) -> None:
    _validation(
        await _invoice(xero, CurrencyCode="GBP"), "Organisation is not subscribed to currency GBP"
    )


async def duplicate_invoice_number(xero: Xero) -> None:
    _validation(await _invoice(xero, InvoiceNumber="INV-0001"), "Invoice # must be unique.")


async def discount_over_line_total(xero: Xero) -> None:
    line = {"Description": "x", "Quantity": 1, "UnitAmount": 100, "DiscountAmount": 101}
    _validation(
        await _invoice(xero, LineItems=[line]), "Discount must not be greater than the line total."
    )


async def total_not_sum_of_lines(xero: Xero) -> None:
    _validation(
        await _invoice(xero, Total=5), "The invoice total does not equal the sum of the lines."
    )


async def tax_type_not_for_account(xero: Xero) -> None:
    line = {
        "Description": "x",
        "Quantity": 1,
        "UnitAmount": 100,
        "AccountCode": "200",
        "TaxType": "INPUT2",
    }
    _validation(
        await _invoice(xero, LineItems=[line]),
        "The TaxType code 'INPUT2' cannot be used with account code '200'.",
    )


async def email_a_draft(xero: Xero) -> None:
    created = (await _invoice(xero)).json()["Invoices"][0]
    answer = await xero.post(f"/Invoices/{created['InvoiceID']}/Email", {})
    assert answer.status_code == 400 and answer.json()["Type"] == "ValidationException"


async def expired_code(xero: Xero) -> None:
    code = await xero.code()
    await xero.advance(301)
    answer = await xero.exchange(code)
    assert (answer.status_code, answer.json()) == (400, {"error": "invalid_grant"})


async def reused_code(xero: Xero) -> None:
    code = await xero.code()
    await xero.exchange(code)
    answer = await xero.exchange(code)
    assert (answer.status_code, answer.json()) == (400, {"error": "invalid_grant"})


async def refresh_after_grace(xero: Xero) -> None:
    old = xero.tokens["refresh_token"]
    assert (await xero.refresh(old)).status_code == 200
    await xero.advance(1801)
    answer = await xero.refresh(old)
    assert (answer.status_code, answer.json()) == (400, {"error": "invalid_grant"})


async def wrong_client_secret(xero: Xero) -> None:
    answer = await xero.http.post(
        "/xero/identity/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": xero.tokens["refresh_token"]},
        headers=basic(secret="wrong"),
    )
    assert (answer.status_code, answer.json()) == (400, {"error": "invalid_client"})


async def bad_redirect_uri(xero: Xero) -> None:
    page = await xero.http.get(
        "/xero/login/identity/connect/authorize",
        params=xero.authorize_params(redirect_uri="https://attacker.test/cb"),
    )
    assert page.status_code == 400 and "location" not in page.headers
    code = await xero.code()
    answer = await xero.exchange(code, redirect_uri=REDIRECT_URI + "/other")
    assert (answer.status_code, answer.json()) == (400, {"error": "invalid_grant"})


async def consent_denied(xero: Xero) -> None:
    await xero.http.post("/_sandbox/xero/auto-approve", json={"deny": True})
    answer = await xero.http.get(
        "/xero/login/identity/connect/authorize", params=xero.authorize_params()
    )
    assert parse_qs(urlsplit(answer.headers["location"]).query)["error"] == ["access_denied"]


async def minute_limit(xero: Xero) -> None:
    state_limit = 60
    for _ in range(state_limit):
        await xero.http.get(f"{API}/Organisation", headers=xero.headers())
    answer = await xero.get("/Organisation")
    assert answer.status_code == 429
    assert (
        answer.headers["x-rate-limit-problem"] == "minute"
        and int(answer.headers["retry-after"]) > 0
    )


CASES = [
    Case(
        "unknown tenant id header",
        "403 problem details, Detail AuthenticationUnsuccessful",
        "xero.md §2 'Auth error shapes' (XeroAPI/xero-node#432, xero-php-oauth2#147)",
        unknown_tenant,
    ),
    Case(
        "missing tenant id header",
        "403 AuthenticationUnsuccessful",
        "xero.md §2 'Auth error shapes'",
        missing_tenant,
    ),
    Case(
        "expired access token",
        "401 AuthorizationUnsuccessful",
        "xero.md §2 'Auth error shapes' (XeroAPI/xero-node#320); 30-min lifetime §2",
        expired_access_token,
    ),
    Case(
        "missing contact on invoice",
        "400 ValidationException 'The Contact must contain at least 1 ...'",
        "xero.md §10.3 (Contact); spec schema Error",
        missing_contact,
    ),
    Case(
        "AUTHORISED without DueDate",
        "400 'The document DueDate field must be specified.'",
        "xero.md §10.2 (waynerobinson/xeroizer#395, XeroAPI/xero-python#78)",
        authorised_without_due_date,
    ),
    Case(
        "invalid status transition",
        "400 'Invoice not of valid status for modification'",
        "xero.md §10.5 (xeroizer#48)",
        invalid_status_transition,
    ),
    Case(
        "edit with a payment allocated",
        "400 'This document cannot be edited as it has a payment ...'",
        "xero.md §10.5",
        edit_with_payment_allocated,
    ),
    Case(
        "duplicate contact name",
        "400 'The contact name … is already assigned to another contact'",
        "xero.md §4 (Name) and §17.7",
        duplicate_contact_name,
    ),
    Case(
        "unknown currency",
        "400 'Organisation is not subscribed to currency GBP'",
        "xero.md §8 and §12",
        unknown_currency,
    ),
    Case(
        "duplicate invoice number",
        "400 'Invoice # must be unique.'",
        "xero.md §10.1 (PUT vs POST)",
        duplicate_invoice_number,
    ),
    Case(
        "discount above line total",
        "400 'Discount must not be greater than the line total.'",
        "xero.md §10.4",
        discount_over_line_total,
    ),
    Case(
        "total not the sum of lines",
        "400 'The invoice total does not equal the sum of the lines.'",
        "xero.md §10.3 (Total) and §12",
        total_not_sum_of_lines,
    ),
    Case(
        "tax type not allowed for the account",
        "400 'The TaxType code … cannot be used with account code …'",
        "xero.md §7 and §12",
        tax_type_not_for_account,
    ),
    Case(
        "email a DRAFT invoice",
        "400 ValidationException (wording UNCONFIRMED)",
        "xero.md §10.7 (Email: SUBMITTED/AUTHORISED/PAID only)",
        email_a_draft,
    ),
    Case(
        "expired authorization code",
        "400 {'error': 'invalid_grant'}",
        "xero.md §2 (Failed refresh shape); RFC 6749 §5.2; 5-min code lifetime (issue 3)",
        expired_code,
    ),
    Case(
        "reused authorization code",
        "400 {'error': 'invalid_grant'}",
        "RFC 6749 §4.1.2 and §5.2",
        reused_code,
    ),
    Case(
        "refresh with the old token after the grace",
        "400 {'error': 'invalid_grant'}",
        "xero.md §2 'Rotation' (community discussion 127920775)",
        refresh_after_grace,
    ),
    Case(
        "wrong client secret",
        "400 {'error': 'invalid_client'}",
        "RFC 6749 §5.2; xero.md §2 client auth",
        wrong_client_secret,
    ),
    Case(
        "bad redirect_uri",
        "error page without redirect; invalid_grant at the token endpoint",
        "RFC 6749 §4.1.2.1 and §4.1.3; xero.md §2 'Redirect URIs'",
        bad_redirect_uri,
    ),
    Case(
        "consent denied", "redirect with error=access_denied", "RFC 6749 §4.1.2.1", consent_denied
    ),
    Case(
        "over the minute limit",
        "429 with X-Rate-Limit-Problem: minute and Retry-After",
        "xero.md §15",
        minute_limit,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_bad_input_gets_the_real_error(case: Case, xero: Xero) -> None:
    assert case.reproduces and case.source
    await case.run(xero)


def test_catalogue_covers_the_issue_list() -> None:
    names = {c.name for c in CASES}
    for required in (
        "unknown tenant id header",
        "missing contact on invoice",
        "invalid status transition",
        "duplicate contact name",
        "unknown currency",
        "expired authorization code",
        "reused authorization code",
        "refresh with the old token after the grace",
        "wrong client secret",
        "bad redirect_uri",
    ):
        assert required in names


assert NZ  # the catalogue runs against the NZ demo organisation
