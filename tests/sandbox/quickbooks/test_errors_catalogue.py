"""Which real QuickBooks Online error each bad input reproduces, and where that is documented.

Each case runs through HTTP against the stand-in and checks the status, the error code (or the
OAuth `error`) and the message. `source` names the section of ../shared/reference/quickbooks.md;
`confirmed=False` marks cases whose exact real wording is UNCONFIRMED (the reference gives the
rule or the code but not the text), where the stand-in's wording is our own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest

from tests.sandbox.quickbooks.conftest import TOKEN_URL, Qbo, basic, invoice_body


@dataclass(frozen=True)
class Case:
    name: str
    real_error: str
    source: str
    confirmed: bool
    status: int
    code: str  # Fault code, or the OAuth `error` value
    message: str  # a part of Message/Detail/error_description the answer must contain
    call: Callable[[Qbo], Awaitable[httpx2.Response]]


async def _stale_sync_token(api: Qbo) -> httpx2.Response:
    body = {"Id": "1", "SyncToken": "0", "sparse": True, "PrivateNote": "x"}
    await api.post("/invoice", body)
    return await api.post("/invoice", body)


async def _duplicate_display_name(api: Qbo) -> httpx2.Response:
    return await api.post("/customer", {"DisplayName": "Globex Corporation"})


async def _currency_mismatch(api: Qbo) -> httpx2.Response:
    return await api.post("/invoice", invoice_body(CurrencyRef={"value": "EUR"}))


async def _amount_mismatch(api: Qbo) -> httpx2.Response:
    body = invoice_body()
    body["Line"][0]["Amount"] = 301
    return await api.post("/invoice", body)


async def _missing_customer_ref(api: Qbo) -> httpx2.Response:
    body = invoice_body()
    del body["CustomerRef"]
    return await api.post("/invoice", body)


async def _empty_customer_ref(api: Qbo) -> httpx2.Response:
    return await api.post("/invoice", invoice_body(CustomerRef={"value": ""}))


async def _deleted_invoice_read(api: Qbo) -> httpx2.Response:
    await api.post("/invoice", {"Id": "1", "SyncToken": "0"}, operation="delete")
    return await api.get("/invoice/1")


async def _void_without_sync_token(api: Qbo) -> httpx2.Response:
    return await api.post("/invoice", {"Id": "1"}, operation="void")


async def _duplicate_doc_number(api: Qbo) -> httpx2.Response:
    return await api.post("/invoice", invoice_body(DocNumber="1001"))


async def _foreign_currency_single_currency_company(api: Qbo) -> httpx2.Response:
    await api.http.post("/_sandbox/quickbooks/preferences", json={"MultiCurrencyEnabled": False})
    return await api.post("/invoice", invoice_body(CustomerRef={"value": "2"}))


async def _or_in_query(api: Qbo) -> httpx2.Response:
    return await api.query("SELECT * FROM Invoice WHERE Id = '1' OR Id = '2'")


async def _expired_access_token(api: Qbo) -> httpx2.Response:
    await api.advance(3601)
    return await api.get("/invoice/1")


async def _throttled(api: Qbo) -> httpx2.Response:
    await api.http.post("/_sandbox/faults", json={"kind": "rate_limit", "path": "/quickbooks/api"})
    return await api.get("/invoice/1")


async def _expired_code(api: Qbo) -> httpx2.Response:
    code = await api.code()
    await api.advance(301)
    return await api.exchange(code)


async def _reused_code(api: Qbo) -> httpx2.Response:
    code = await api.code()
    await api.exchange(code)
    return await api.exchange(code)


async def _rotated_refresh_token(api: Qbo) -> httpx2.Response:
    form = {"grant_type": "refresh_token", "refresh_token": api.refresh_token}
    await api.http.post(TOKEN_URL, data=form, headers={"Authorization": basic()})
    return await api.http.post(TOKEN_URL, data=form, headers={"Authorization": basic()})


async def _wrong_client_secret(api: Qbo) -> httpx2.Response:
    form = {"grant_type": "refresh_token", "refresh_token": api.refresh_token}
    return await api.http.post(TOKEN_URL, data=form, headers={"Authorization": basic(secret="x")})


async def _bad_redirect_uri_at_authorize(api: Qbo) -> httpx2.Response:
    return await api.authorize(redirect_uri="https://elsewhere.test/callback")


async def _bad_redirect_uri_at_token(api: Qbo) -> httpx2.Response:
    return await api.exchange(await api.code(), redirect_uri="https://elsewhere.test/callback")


CATALOGUE = [
    Case(
        "stale SyncToken",
        "5010 Stale Object Error",
        "§3.1, §10, §15.2",
        True,
        400,
        "5010",
        "Stale Object Error",
        _stale_sync_token,
    ),
    Case(
        "duplicate DisplayName",
        "6240 Duplicate Name Exists Error",
        "§9 Customer, §10",
        True,
        400,
        "6240",
        "Duplicate Name Exists Error",
        _duplicate_display_name,
    ),
    Case(
        "invoice currency differs from the customer's",
        "ValidationFault (wording unknown)",
        "§9 Customer (Currency): the exact error is UNCONFIRMED",
        False,
        400,
        "6000",
        "must match the customer's currency",
        _currency_mismatch,
    ),
    Case(
        "Amount != Qty x UnitPrice",
        "6070 Amount is not equal to UnitPrice * Qty",
        "§3.4 Line, §10 (code; message wording UNCONFIRMED)",
        False,
        400,
        "6070",
        "Amount is not equal to UnitPrice * Qty",
        _amount_mismatch,
    ),
    Case(
        "missing CustomerRef",
        "2020 Required param missing",
        "§3.4 (CustomerRef required), §10 2020",
        True,
        400,
        "2020",
        "Required parameter CustomerRef is missing",
        _missing_customer_ref,
    ),
    Case(
        "empty CustomerRef",
        "6000 Unexpected Internal Error. (-30003)",
        "§10 6000",
        True,
        400,
        "6000",
        "(-30003)",
        _empty_customer_ref,
    ),
    Case(
        "read a deleted invoice",
        "610 Object Not Found",
        "§3.5 Delete, §10 610",
        True,
        400,
        "610",
        "Object Not Found",
        _deleted_invoice_read,
    ),
    Case(
        "void without SyncToken",
        "Required parameter SyncToken is missing",
        "§15.2",
        True,
        400,
        "2020",
        "Required parameter SyncToken is missing",
        _void_without_sync_token,
    ),
    Case(
        "duplicate DocNumber",
        "6140 Duplicate Document Number Error",
        "§3.4, §10 6140",
        True,
        400,
        "6140",
        "Duplicate Document Number Error",
        _duplicate_doc_number,
    ),
    Case(
        "foreign currency with multi-currency off",
        "ValidationFault (wording unknown)",
        "§9 Customer (Currency), §3.4 Required-when: UNCONFIRMED",
        False,
        400,
        "6000",
        "Multicurrency is not enabled",
        _foreign_currency_single_currency_company,
    ),
    Case(
        "OR in a query",
        "QueryParserError (OR is not supported)",
        "§4 (OR not supported; the 4000 parser error wording is UNCONFIRMED)",
        False,
        400,
        "4000",
        "OR",
        _or_in_query,
    ),
    Case(
        "expired access token",
        "401 AuthenticationFault",
        "§1.2, §10 (HTTP 401)",
        True,
        401,
        "3200",
        "AuthenticationFailed",
        _expired_access_token,
    ),
    Case(
        "throttled",
        "429 ThrottleExceeded 3001, type SERVICE",
        "§10, §12",
        True,
        429,
        "3001",
        "ThrottleExceeded",
        _throttled,
    ),
    Case(
        "expired authorization code",
        "400 invalid_grant",
        "§1.1 OAuth error",
        True,
        400,
        "invalid_grant",
        "expired",
        _expired_code,
    ),
    Case(
        "reused authorization code",
        "400 invalid_grant",
        "§1.1 OAuth error",
        True,
        400,
        "invalid_grant",
        "used",
        _reused_code,
    ),
    Case(
        "rotated (previous) refresh token",
        "400 invalid_grant Token invalid",
        "§1.1 OAuth error, §1.2 rotation",
        True,
        400,
        "invalid_grant",
        "Token invalid",
        _rotated_refresh_token,
    ),
    Case(
        "wrong client secret",
        "401 invalid_client",
        "§1.1 (Basic auth); RFC 6749 §5.2 status, Intuit body UNCONFIRMED",
        False,
        401,
        "invalid_client",
        "",
        _wrong_client_secret,
    ),
    Case(
        "redirect_uri not registered (authorize)",
        "Intuit error page, no redirect",
        "§1.1 (redirect URIs registered per environment); page wording UNCONFIRMED",
        False,
        400,
        "",
        "redirect_uri",
        _bad_redirect_uri_at_authorize,
    ),
    Case(
        "redirect_uri differs at exchange",
        "400 invalid_grant",
        "§1.1; RFC 6749 §4.1.3 (Intuit wording UNCONFIRMED)",
        False,
        400,
        "invalid_grant",
        "redirect_uri",
        _bad_redirect_uri_at_token,
    ),
]


def _observed(response: httpx2.Response) -> tuple[str, str]:
    if "json" not in response.headers.get("content-type", ""):
        return "", response.text
    body: dict[str, Any] = response.json()
    if "Fault" in body:
        error = body["Fault"]["Error"][0]
        assert set(error) == {"Message", "Detail", "code", "element"}
        assert isinstance(error["code"], str)
        return error["code"], f"{error['Message']} {error['Detail']}"
    return body.get("error", ""), str(body.get("error_description", ""))


@pytest.mark.parametrize("case", CATALOGUE, ids=[c.name for c in CATALOGUE])
async def test_bad_input_gets_the_real_error(api: Qbo, case: Case) -> None:
    response = await case.call(api)
    code, text = _observed(response)
    assert response.status_code == case.status, response.text
    assert code == case.code, response.text
    assert case.message in text, response.text


def test_catalogue_names_a_source_for_every_case() -> None:
    for case in CATALOGUE:
        assert case.source.startswith("§"), case.name
        if not case.confirmed:
            assert "UNCONFIRMED" in case.source or "unknown" in case.real_error, case.name
