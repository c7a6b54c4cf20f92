"""Intuit OAuth on the stand-in: authorize page, codes, tokens, rotation, revocation."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from joserfc import jwt
from joserfc.jwk import OctKey

from tests.sandbox.quickbooks.conftest import (
    AUTHORIZE_URL,
    CLIENT,
    REALM,
    REDIRECT,
    TOKEN_URL,
    Qbo,
    basic,
    fault,
)


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}


async def test_authorize_page_lets_a_person_pick_the_company(qbo: Qbo) -> None:
    page = await qbo.authorize()
    assert page.status_code == 200
    assert "Northwind Traders US" in page.text and REALM in page.text
    form = {f"p_{k}": v for k, v in page.request.url.params.items()}
    allowed = await qbo.http.post(
        AUTHORIZE_URL, data={**form, "realm_id": REALM, "decision": "allow"}
    )
    assert allowed.status_code == 302
    params = query_of(allowed.headers["location"])
    assert allowed.headers["location"].startswith(REDIRECT)
    assert params["state"] == "st-1" and params["realmId"] == REALM and params["code"]
    denied = await qbo.http.post(AUTHORIZE_URL, data={**form, "decision": "deny"})
    assert query_of(denied.headers["location"]) == {"error": "access_denied", "state": "st-1"}


async def test_auto_approve_and_auto_deny(qbo: Qbo) -> None:
    await qbo.http.post("/_sandbox/quickbooks/auto-approve", json={"realm_id": REALM})
    for _ in range(2):  # it keeps approving until changed
        response = await qbo.authorize(state="xyz")
        params = query_of(response.headers["location"])
        assert params["realmId"] == REALM and params["state"] == "xyz"
    await qbo.http.post("/_sandbox/quickbooks/auto-approve", json={"deny": True})
    response = await qbo.authorize()
    assert query_of(response.headers["location"])["error"] == "access_denied"
    await qbo.http.delete("/_sandbox/quickbooks/auto-approve")
    assert (await qbo.authorize()).status_code == 200


async def test_unregistered_redirect_uri_is_an_error_page_not_a_redirect(qbo: Qbo) -> None:
    response = await qbo.authorize(redirect_uri="https://evil.test/cb")
    assert response.status_code == 400
    assert "redirect_uri" in response.text
    assert "location" not in response.headers


async def test_openid_only_consent_has_no_realm(qbo: Qbo) -> None:
    await qbo.http.post("/_sandbox/quickbooks/auto-approve", json={"realm_id": REALM})
    response = await qbo.authorize(scope="openid email")
    assert "realmId" not in query_of(response.headers["location"])


async def test_code_exchange_returns_intuit_token_response(qbo: Qbo) -> None:
    response = await qbo.exchange(await qbo.code())
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["x_refresh_token_expires_in"] == 8726400
    assert "x_refresh_token_hard_expires_in" not in body
    claims = jwt.decode(body["id_token"], OctKey.import_key(b"qbo-secret".ljust(32, b"\0")))
    assert claims.claims["realmid"] == REALM
    assert claims.claims["aud"] == [CLIENT.client_id]


async def test_code_is_single_use(qbo: Qbo) -> None:
    code = await qbo.code()
    assert (await qbo.exchange(code)).status_code == 200
    again = await qbo.exchange(code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


async def test_code_expires_after_five_minutes(qbo: Qbo) -> None:
    code = await qbo.code()
    await qbo.advance(301)
    response = await qbo.exchange(code)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


async def test_redirect_uri_must_match_at_exchange(qbo: Qbo) -> None:
    response = await qbo.exchange(await qbo.code(), redirect_uri="http://app.test/other")
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


async def test_wrong_client_secret_is_invalid_client(qbo: Qbo) -> None:
    code = await qbo.code()
    response = await qbo.http.post(
        TOKEN_URL,
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        headers={"Authorization": basic(secret="nope")},
    )
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client"}


async def test_unsupported_grant_type(qbo: Qbo) -> None:
    response = await qbo.http.post(
        TOKEN_URL, data={"grant_type": "password"}, headers={"Authorization": basic()}
    )
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"


async def test_refresh_rotates_and_the_previous_token_dies(api: Qbo) -> None:
    first = api.refresh_token
    response = await api.http.post(
        TOKEN_URL,
        data={"grant_type": "refresh_token", "refresh_token": first},
        headers={"Authorization": basic(), "x-include-refresh-token-hard-expires-in": "true"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["refresh_token"] != first
    assert 5 * 365 * 86400 - 10 < body["x_refresh_token_hard_expires_in"] <= 5 * 365 * 86400
    stale = await api.http.post(
        TOKEN_URL,
        data={"grant_type": "refresh_token", "refresh_token": first},
        headers={"Authorization": basic()},
    )
    assert stale.status_code == 400
    assert stale.json() == {"error": "invalid_grant", "error_description": "Token invalid"}
    newer = await api.http.post(
        TOKEN_URL,
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        headers={"Authorization": basic()},
    )
    assert newer.status_code == 200


async def test_access_token_lasts_an_hour(api: Qbo) -> None:
    assert (await api.get("/preferences")).status_code == 200
    await api.advance(3601)
    expired = await api.get("/preferences")
    assert expired.status_code == 401
    assert fault(expired)["type"] == "AuthenticationFault"
    assert fault(expired)["code"] == "3200"


async def test_missing_token_is_401_authentication_fault(qbo: Qbo) -> None:
    response = await qbo.http.get(f"/quickbooks/api/v3/company/{REALM}/preferences")
    assert response.status_code == 401
    assert fault(response)["type"] == "AuthenticationFault"


async def test_token_of_one_realm_cannot_read_another(api: Qbo) -> None:
    response = await api.http.get("/quickbooks/api/v3/company/123/preferences", headers=api.auth())
    assert response.status_code == 403
    assert fault(response)["type"] == "AuthorizationFault"


async def test_revoke_ends_the_connection(api: Qbo) -> None:
    url = "/quickbooks/developer/v2/oauth2/tokens/revoke"
    refused = await api.http.post(url, json={"token": api.refresh_token})
    assert refused.status_code == 401
    response = await api.http.post(
        url, json={"token": api.refresh_token}, headers={"Authorization": basic()}
    )
    assert response.status_code == 200
    assert (await api.get("/preferences")).status_code == 401
    refresh = await api.http.post(
        TOKEN_URL,
        data={"grant_type": "refresh_token", "refresh_token": api.refresh_token},
        headers={"Authorization": basic()},
    )
    assert refresh.json()["error"] == "invalid_grant"


async def test_answers_carry_intuit_tid_and_401_says_bearer(qbo: Qbo) -> None:
    response = await qbo.http.get(f"/quickbooks/api/v3/company/{REALM}/preferences")
    assert response.headers["intuit_tid"].startswith("1-")
    assert response.headers["www-authenticate"].startswith("Bearer")
    token = await qbo.http.post(TOKEN_URL, data={"grant_type": "refresh_token"})
    assert token.headers["intuit_tid"]
