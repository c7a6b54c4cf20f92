"""Marketplace OAuth (reference pipedrive.md §1.1): consent, code exchange, refresh, revoke."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

from tests.sandbox.pipedrive.conftest import CLIENT_ID, CLIENT_SECRET, NORTHWIND, basic

AUTHORIZE = "/pipedrive/oauth/oauth/authorize"
TOKEN = "/pipedrive/oauth/oauth/token"
REVOKE = "/pipedrive/oauth/oauth/revoke"


def query_of(location: str) -> dict[str, list[str]]:
    return parse_qs(urlparse(location).query)


async def test_consent_page_lists_users_of_both_companies_and_allow_redirects_with_code(pd):
    params = {"client_id": CLIENT_ID, "redirect_uri": pd.callback, "state": "abc"}
    page = await pd.http.get(AUTHORIZE, params=params)
    assert page.status_code == 200
    for name in ("Nora Admin", "Sam Sales", "Colin Admin", "Rita Rep"):
        assert name in page.text
    assert "Allow and install" in page.text and "Cancel" in page.text
    answer = await pd.http.post(
        AUTHORIZE,
        data={**params, "user_id": "202", "decision": "allow"},
    )
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert location.startswith(pd.callback + "?")
    query = query_of(location)
    assert query["state"] == ["abc"]
    tokens = (await pd.exchange(query["code"][0])).json()
    me = (await pd.get(f"{tokens['api_domain']}/api/v1/users/me", tokens["access_token"])).json()
    assert (me["data"]["id"], me["data"]["company_id"]) == (202, 7002)
    assert tokens["api_domain"].endswith("/pipedrive/c/contoso")


async def test_cancel_redirects_with_user_denied_and_no_code(pd):
    params = {"client_id": CLIENT_ID, "redirect_uri": pd.callback, "state": "s9"}
    answer = await pd.http.post(AUTHORIZE, data={**params, "user_id": "101", "decision": "cancel"})
    query = query_of(answer.headers["location"])
    assert query == {"error": ["user_denied"], "state": ["s9"]}


async def test_auto_approve_deny_and_state_is_optional(pd):
    await pd.auto_approve(deny=True)
    answer = await pd.http.get(
        AUTHORIZE, params={"client_id": CLIENT_ID, "redirect_uri": pd.callback}
    )
    assert answer.status_code == 302
    assert query_of(answer.headers["location"]) == {"error": ["user_denied"]}
    code = await pd.code(101, state=None)
    assert code


async def test_token_response_shape(pd):
    tokens = await pd.install(101)
    assert set(tokens) == {
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "scope",
        "api_domain",
    }
    assert tokens["access_token"].startswith("v1u:")
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3599
    assert tokens["api_domain"] == NORTHWIND
    assert "base" in tokens["scope"].split(",")


async def test_bad_redirect_uri_and_unknown_client_show_an_error_page_not_a_redirect(pd):
    bad = await pd.http.get(
        AUTHORIZE, params={"client_id": CLIENT_ID, "redirect_uri": "https://evil.test/cb"}
    )
    assert bad.status_code == 400 and "redirect_uri is invalid" in bad.text
    unknown = await pd.http.get(
        AUTHORIZE, params={"client_id": "someone-else", "redirect_uri": pd.callback}
    )
    assert unknown.status_code == 400 and "client_id is invalid" in unknown.text


async def test_code_is_single_use_and_expires_after_five_minutes(pd):
    code = await pd.code()
    assert (await pd.exchange(code)).status_code == 200
    reused = await pd.exchange(code)
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    late = await pd.code()
    await pd.advance(301)
    expired = await pd.exchange(late)
    assert expired.status_code == 400
    assert expired.json()["message"] == "Invalid grant: authorization_code has expired"


async def test_code_within_five_minutes_still_works(pd):
    code = await pd.code()
    await pd.advance(290)
    assert (await pd.exchange(code)).status_code == 200


async def test_token_exchange_refuses_other_redirect_uri_wrong_secret_and_json(pd):
    code = await pd.code()
    other = await pd.exchange(code, redirect_uri="https://evil.test/cb")
    assert other.status_code == 400
    assert other.json()["message"] == "redirect_uri is invalid"
    wrong = await pd.http.post(
        TOKEN,
        data={
            "grant_type": "authorization_code",
            "code": await pd.code(),
            "redirect_uri": pd.callback,
        },
        headers={"Authorization": basic(password="nope")},
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    as_json = await pd.http.post(
        TOKEN,
        json={"grant_type": "authorization_code", "code": await pd.code()},
        headers={"Authorization": basic()},
    )
    assert as_json.status_code == 400
    assert as_json.json()["message"] == "content must be application/x-www-form-urlencoded"


async def test_client_credentials_in_the_body_are_accepted(pd):
    response = await pd.http.post(
        TOKEN,
        data={
            "grant_type": "authorization_code",
            "code": await pd.code(),
            "redirect_uri": pd.callback,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )
    assert response.status_code == 200


async def refresh(pd, token: str):
    return await pd.http.post(
        TOKEN,
        data={"grant_type": "refresh_token", "refresh_token": token},
        headers={"Authorization": basic()},
    )


async def test_access_token_lives_60_minutes_and_refresh_returns_the_same_refresh_token(pd):
    tokens = await pd.install(101)
    me = f"{NORTHWIND}/api/v1/users/me"
    await pd.advance(3599)
    assert (await pd.get(me, tokens["access_token"])).status_code == 200
    await pd.advance(2)
    expired = await pd.get(me, tokens["access_token"])
    assert expired.status_code == 401
    assert expired.json()["error"] == "Invalid token: access_token is invalid"
    renewed = await refresh(pd, tokens["refresh_token"])
    assert renewed.status_code == 200
    body = renewed.json()
    assert body["refresh_token"] == tokens["refresh_token"]
    assert body["access_token"] != tokens["access_token"]
    assert (await pd.get(me, body["access_token"])).status_code == 200


async def test_each_refresh_extends_the_60_day_life(pd):
    tokens = await pd.install(101)
    await pd.advance(59 * 86400)
    assert (await refresh(pd, tokens["refresh_token"])).status_code == 200
    await pd.advance(59 * 86400)
    assert (await refresh(pd, tokens["refresh_token"])).status_code == 200
    await pd.advance(61 * 86400)
    dead = await refresh(pd, tokens["refresh_token"])
    assert dead.status_code == 400
    assert dead.json()["error"] == "invalid_grant"


async def test_revoking_the_refresh_token_uninstalls(pd):
    first = await pd.install(101)
    second_access = (await refresh(pd, first["refresh_token"])).json()["access_token"]
    answer = await pd.http.post(
        REVOKE,
        data={"token": first["refresh_token"], "token_type_hint": "refresh_token"},
        headers={"Authorization": basic()},
    )
    assert answer.status_code == 200
    me = f"{NORTHWIND}/api/v1/users/me"
    assert (await pd.get(me, first["access_token"])).status_code == 401
    assert (await pd.get(me, second_access)).status_code == 401
    assert (await refresh(pd, first["refresh_token"])).status_code == 400
    installs = (await pd.http.get("/_sandbox/pipedrive/installs")).json()
    assert [i["revoked"] for i in installs] == [True]


async def test_revoking_an_access_token_kills_only_that_token(pd):
    tokens = await pd.install(101)
    answer = await pd.http.post(
        REVOKE,
        data={"token": tokens["access_token"], "token_type_hint": "access_token"},
        headers={"Authorization": basic()},
    )
    assert answer.status_code == 200
    me = f"{NORTHWIND}/api/v1/users/me"
    assert (await pd.get(me, tokens["access_token"])).status_code == 401
    fresh = (await refresh(pd, tokens["refresh_token"])).json()["access_token"]
    assert (await pd.get(me, fresh)).status_code == 200


async def test_revoking_an_unknown_token_is_still_200_but_needs_the_client(pd):
    ok = await pd.http.post(REVOKE, data={"token": "nothing"}, headers={"Authorization": basic()})
    assert ok.status_code == 200
    refused = await pd.http.post(
        REVOKE, data={"token": "nothing"}, headers={"Authorization": basic(password="x")}
    )
    assert refused.status_code == 401


async def test_refresh_token_looks_like_pipedrives(pd):
    tokens = await pd.install(202)
    assert re.fullmatch(r"7002:202:[0-9a-f]{40}", tokens["refresh_token"])
