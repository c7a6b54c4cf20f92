"""The pages inside Pipedrive, over real HTTP: every request signed in by a fresh token from
the SDK (``Authorization: Bearer`` with the frame's ids), and the Create invoice custom modal."""

from __future__ import annotations

import json
import time
from typing import Any

from app.config import Settings
from tests.crm.pipedrive.conftest import sign_jwt
from tests.invoices.conftest import installed

PANEL = "/pipedrive/panel"
MODAL = "/pipedrive/modal/create-invoice"


def signed(settings: Settings, user_id: int, company_id: int, **over: Any) -> str:
    now = int(time.time())
    claims = {"userId": user_id, "companyId": company_id, "iat": now, "exp": now + 300, **over}
    return sign_jwt(settings.pipedrive.jwt_secret or settings.pipedrive.client_secret, claims)


def framed(token: str, user_id: int = 101, company_id: int = 7001) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "X-Frame-User-Id": str(user_id),
        "X-Frame-Company-Id": str(company_id),
        "HX-Request": "true",
    }


async def test_a_fresh_signed_token_signs_in_each_request(
    client: Any, settings: Settings, northwind: Any
) -> None:
    listing = await client.get(f"{PANEL}/31/invoices", headers=framed(signed(settings, 101, 7001)))
    assert listing.status_code == 200, listing.text
    assert "Please sign in again" not in listing.text
    # A long-open panel: our own session has lapsed, the fresh token still signs it in.
    stale = {**framed(signed(settings, 101, 7001)), "X-Session-Token": "expired.or.garbage"}
    assert (await client.get(f"{PANEL}/31/invoices", headers=stale)).status_code == 200


async def test_a_token_for_another_user_or_company_than_the_frames_is_401(
    client: Any, settings: Settings, sandbox: Any, sessionmaker: Any, northwind: Any
) -> None:
    contoso = await installed(client, sandbox, sessionmaker, 201)
    baseline = await client.get(f"{PANEL}/31/invoices", headers=northwind.headers)
    assert baseline.status_code == 200
    cases = [
        # Contoso's admin's token in Northwind's frame.
        framed(signed(settings, 201, 7002), user_id=101, company_id=7001),
        # Northwind's admin's token, the frame opened for another user of the company.
        framed(signed(settings, 101, 7001), user_id=102, company_id=7001),
        # ... or for another company.
        framed(signed(settings, 101, 7001), user_id=101, company_id=7002),
        # A valid token for Contoso's admin, sent with Northwind's session: not a switch.
        {**framed(signed(settings, 201, 7002), 201, 7002), **northwind.headers},
    ]
    for headers in cases:
        response = await client.get(f"{PANEL}/31/invoices", headers=headers)
        assert response.status_code == 401, headers
        # Nothing of the deal's invoices is shown.
        assert 'id="list-version"' not in response.text
    # Contoso's own token in its own frame works.
    own = await client.get(
        PANEL, params={"selectedIds": "131"}, headers=framed(signed(settings, 201, 7002), 201, 7002)
    )
    assert own.status_code == 200, own.text
    assert contoso.user.pipedrive_user_id == 201


async def test_an_expired_signed_token_is_401_with_its_code(
    client: Any, settings: Settings, northwind: Any
) -> None:
    now = int(time.time())
    token = signed(settings, 101, 7001, iat=now - 900, exp=now - 600)
    response = await client.get(f"{PANEL}/31/invoices", headers=framed(token))
    assert response.status_code == 401
    assert "expired" in response.text
    assert 'id="list-version"' not in response.text


async def test_a_reload_without_token_asks_the_page_to_sign_in_again(client: Any) -> None:
    # Inside Pipedrive the address has lost its token (app.js drops it): the error page carries
    # the marker pipedrive.js uses to trade a fresh signed token for a one-time code.
    page = await client.get(PANEL, params={"selectedIds": "31", "userId": "101", "id": "x"})
    assert page.status_code == 401
    assert "data-reauth" in page.text
    assert "app-extensions-sdk-0.15.1.umd.js" in page.text


def modal_params(settings: Settings, user_id: int, company_id: int, data: Any) -> dict[str, str]:
    return {
        "userId": str(user_id),
        "companyId": str(company_id),
        "token": signed(settings, user_id, company_id),
        "id": "modal-runtime-1",
        "data": json.dumps(data),
    }


async def test_the_create_invoice_modal_opens_for_the_deal(
    client: Any, settings: Settings, northwind: Any
) -> None:
    params = modal_params(
        settings, 101, 7001, {"dealId": 31, "provider": "xero", "companyId": 7001}
    )
    page = await client.get(MODAL, params=params)
    assert page.status_code == 200, page.text
    assert 'id="invoice-form"' in page.text and "data-custom-modal" in page.text
    assert 'data-width="960"' in page.text
    assert "Create invoice in Xero" in page.text
    assert '<meta name="session-token"' in page.text


async def test_a_modal_for_a_deal_of_another_company_is_404(
    client: Any, settings: Settings, sandbox: Any, sessionmaker: Any, northwind: Any
) -> None:
    await installed(client, sandbox, sessionmaker, 201)
    # Contoso's admin, with data naming Northwind's deal 31: Contoso's Pipedrive has no such deal.
    theirs = modal_params(
        settings, 201, 7002, {"dealId": 31, "provider": "xero", "companyId": 7002}
    )
    response = await client.get(MODAL, params=theirs)
    assert response.status_code == 404
    assert 'id="invoice-form"' not in response.text
    # Northwind's admin, with data naming another company: 404 before any deal is read.
    other = modal_params(settings, 101, 7001, {"dealId": 31, "provider": "xero", "companyId": 7002})
    response = await client.get(MODAL, params=other)
    assert response.status_code == 404
    assert 'id="invoice-form"' not in response.text


async def test_modal_data_that_is_not_a_deal_is_422_naming_the_field(
    client: Any, settings: Settings, northwind: Any
) -> None:
    for data in ("not json", [], {"dealId": "x"}, {"dealId": 31, "provider": "sage"}):
        params = modal_params(settings, 101, 7001, data)
        if data == "not json":
            params["data"] = "not json"
        response = await client.get(MODAL, params=params)
        assert response.status_code == 422, data
        assert "data" in response.text
