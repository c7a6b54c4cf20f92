"""Every bad input the Pipedrive stand-in refuses, the real error it reproduces, and where
that error is documented. Sources are sections of ../shared/reference/pipedrive.md (PD) and
pipedrive-invoicing-extension.md (EXT); "UNCONFIRMED" marks shapes the references leave open,
where the stand-in picks the defensive answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest

from tests.sandbox.pipedrive.conftest import CLIENT_ID, CONTOSO, NORTHWIND, PD, basic

TOKEN = "/pipedrive/oauth/oauth/token"
AUTHORIZE = "/pipedrive/oauth/oauth/authorize"
INVALID_TOKEN = "Invalid token: access_token is invalid"


@dataclass(frozen=True)
class Case:
    id: str
    call: Callable[[PD, str], Awaitable[httpx2.Response]]
    status: int
    # (JSON key, expected value) in the answer, or a text the HTML answer contains.
    expect: tuple[str, Any] | str
    source: str


async def _code_then(pd: PD, token: str, advance: float = 0, reuse: bool = False, **form: Any):
    code = await pd.code()
    if reuse:
        await pd.exchange(code)
    if advance:
        await pd.advance(advance)
    return await pd.exchange(code, **form)


async def _form(pd: PD, data: dict[str, str], auth: str | None = None) -> httpx2.Response:
    return await pd.http.post(TOKEN, data=data, headers={"Authorization": auth or basic()})


async def _register(pd: PD, token: str, data: Any) -> httpx2.Response:
    return await pd.http.post(
        f"{NORTHWIND}/api/v1/invoice/user/provider",
        json=data,
        headers={"Authorization": f"Bearer {token}"},
    )


async def _over_burst(pd: PD, token: str) -> httpx2.Response:
    await pd.http.post("/_sandbox/pipedrive/companies/7001/limits", json={"burst_limit": 1})
    await pd.get(f"{NORTHWIND}/api/v2/deals/31", token)
    return await pd.get(f"{NORTHWIND}/api/v2/deals/31", token)


async def _over_budget(pd: PD, token: str) -> httpx2.Response:
    await pd.http.post("/_sandbox/pipedrive/companies/7001/limits", json={"daily_budget": 5})
    return await pd.get(f"{NORTHWIND}/api/v2/deals/31/products", token)


async def _expired_access(pd: PD, token: str) -> httpx2.Response:
    await pd.advance(3601)
    return await pd.get(f"{NORTHWIND}/api/v1/users/me", token)


LINK = {"linkId": "l", "orgId": "o", "marketplaceClientId": CLIENT_ID}

CASES = [
    Case(
        "code expired (5 min)",
        lambda pd, t: _code_then(pd, t, advance=301),
        400,
        ("message", "Invalid grant: authorization_code has expired"),
        "PD §1.1 Error responses",
    ),
    Case(
        "code reused",
        lambda pd, t: _code_then(pd, t, reuse=True),
        400,
        ("error", "invalid_grant"),
        "PD §1.1 (single-use code; RFC 6749 §4.1.2)",
    ),
    Case(
        "unknown code",
        lambda pd, t: _form(
            pd, {"grant_type": "authorization_code", "code": "x", "redirect_uri": pd.callback}
        ),
        400,
        ("error", "invalid_grant"),
        "PD §1.1; RFC 6749 §5.2",
    ),
    Case(
        "redirect_uri differs at exchange",
        lambda pd, t: _code_then(pd, t, redirect_uri="https://evil.test/cb"),
        400,
        ("message", "redirect_uri is invalid"),
        "PD §1.1 Error responses",
    ),
    Case(
        "token request as JSON",
        lambda pd, t: pd.http.post(
            TOKEN, json={"grant_type": "refresh_token"}, headers={"Authorization": basic()}
        ),
        400,
        ("message", "content must be application/x-www-form-urlencoded"),
        "PD §1.1 Error responses",
    ),
    Case(
        "wrong client secret",
        lambda pd, t: _form(
            pd, {"grant_type": "refresh_token", "refresh_token": "x"}, basic(password="wrong")
        ),
        401,
        ("error", "invalid_client"),
        "PD §1.1 Basic client auth; RFC 6749 §5.2 (body UNCONFIRMED)",
    ),
    Case(
        "unknown refresh token",
        lambda pd, t: _form(pd, {"grant_type": "refresh_token", "refresh_token": "1:2:3"}),
        400,
        ("error", "invalid_grant"),
        "PD §1.1 refresh token expiry → reinstall",
    ),
    Case(
        "unsupported grant type",
        lambda pd, t: _form(pd, {"grant_type": "password"}),
        400,
        ("error", "unsupported_grant_type"),
        "PD §1.1 grant types; RFC 6749 §5.2",
    ),
    Case(
        "authorize with unregistered redirect_uri",
        lambda pd, t: pd.http.get(
            AUTHORIZE, params={"client_id": CLIENT_ID, "redirect_uri": "https://evil.test"}
        ),
        400,
        "redirect_uri is invalid",
        "PD §1.1 (must match Developer Hub)",
    ),
    Case(
        "authorize with unknown client_id",
        lambda pd, t: pd.http.get(
            AUTHORIZE, params={"client_id": "nobody", "redirect_uri": pd.callback}
        ),
        400,
        "client_id is invalid",
        "PD §1.1 (client_id required)",
    ),
    Case(
        "no bearer token",
        lambda pd, t: pd.http.get(f"{NORTHWIND}/api/v2/deals/31"),
        401,
        ("error", INVALID_TOKEN),
        "PD §1.1 API 401",
    ),
    Case(
        "expired access token (60 min)",
        _expired_access,
        401,
        ("error", INVALID_TOKEN),
        "PD §1.1 access_token lasts 60 min; API 401",
    ),
    Case(
        "token of another company's api_domain",
        lambda pd, t: pd.get(f"{CONTOSO}/api/v1/users/me", t),
        401,
        ("error", INVALID_TOKEN),
        "PD §1.3 token bound to one company (status UNCONFIRMED)",
    ),
    Case(
        "unknown deal",
        lambda pd, t: pd.get(f"{NORTHWIND}/api/v2/deals/999", t),
        404,
        ("error", "Deal not found"),
        "PD §4.3 v2 envelope; OpenAPI 404 {success,error,errorCode}",
    ),
    Case(
        "unknown organization",
        lambda pd, t: pd.get(f"{NORTHWIND}/api/v2/organizations/999", t),
        404,
        ("errorCode", 404),
        "PD §4.3",
    ),
    Case(
        "non-numeric id",
        lambda pd, t: pd.get(f"{NORTHWIND}/api/v2/deals/abc", t),
        400,
        ("success", False),
        "PD §4.3 (validation message UNCONFIRMED)",
    ),
    Case(
        "limit over 500",
        lambda pd, t: pd.get(f"{NORTHWIND}/api/v2/deals/31/products", t, limit="501"),
        400,
        ("success", False),
        "PD §4.1 limit ≤ 500 (refusal vs clamp UNCONFIRMED)",
    ),
    Case(
        "more than 100 ids",
        lambda pd, t: pd.get(
            f"{NORTHWIND}/api/v2/products", t, ids=",".join(map(str, range(1, 102)))
        ),
        400,
        ("success", False),
        "PD §4.2 batch ≤ 100",
    ),
    Case(
        "burst over the rolling 2 s window",
        _over_burst,
        429,
        ("error", "Request over limit"),
        "PD §5 Burst; §1.1 API 429",
    ),
    Case(
        "daily token budget spent",
        _over_budget,
        429,
        ("error", "Request over limit"),
        "PD §5 Daily token budget",
    ),
    Case(
        "registration without linkId",
        lambda pd, t: _register(pd, t, {"data": {"orgId": "o", "marketplaceClientId": CLIENT_ID}}),
        400,
        ("error", "linkId is required"),
        "EXT §4 (all fields required; body UNCONFIRMED)",
    ),
    Case(
        "registration without orgId",
        lambda pd, t: _register(pd, t, {"data": {"linkId": "l", "marketplaceClientId": CLIENT_ID}}),
        400,
        ("error", "orgId is required"),
        "EXT §4",
    ),
    Case(
        "registration without marketplaceClientId",
        lambda pd, t: _register(pd, t, {"data": {"linkId": "l", "orgId": "o"}}),
        400,
        ("error", "marketplaceClientId is required"),
        "EXT §4",
    ),
    Case(
        "registration not wrapped in data",
        lambda pd, t: _register(pd, t, LINK),
        400,
        ("error", "data is required"),
        "EXT §4 RegisterProviderLink {data:{...}}",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_bad_input_gets_the_real_error(pd, northwind, case: Case):
    response = await case.call(pd, northwind)
    assert response.status_code == case.status, response.text
    if isinstance(case.expect, str):
        assert case.expect in response.text
    else:
        key, value = case.expect
        assert response.json()[key] == value
