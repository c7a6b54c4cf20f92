"""The Xero identity server: consent, codes, tokens, refresh rotation, revocation, connections."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet

from tests.sandbox.xero.conftest import (
    API,
    AU,
    CLIENT_ID,
    CLIENT_SECRET,
    NZ,
    REDIRECT_URI,
    Xero,
    basic,
    pkce_pair,
)

AUTHORIZE = "/xero/login/identity/connect/authorize"
TOKEN = "/xero/identity/connect/token"


async def test_consent_page_lists_users_and_organisations_then_allow_redirects_with_code(http):
    xero = Xero(http)
    page = await http.get(AUTHORIZE, params=xero.authorize_params())
    assert page.status_code == 200
    assert "nora@northwind.test" in page.text and "colin@contoso.test" in page.text
    assert "Northwind Traders NZ" in page.text and "Northwind Demo AU" in page.text
    users = dict(re.findall(r'value="([0-9a-f-]{36})"[^>]*>\s*(\w+) ', page.text))
    nora = next(uid for uid, first in users.items() if first == "Nora")
    form = dict(xero.authorize_params(), user_id=nora, decision="allow")
    answer = await http.post(AUTHORIZE, data={**form, "tenant_id": [NZ, AU]})
    assert answer.status_code == 303
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    query = parse_qs(location.query)
    assert query["state"] == ["st-123"] and query["code"]
    tokens = (await xero.exchange(query["code"][0])).json()
    xero.tokens = tokens
    conns = (
        await http.get(
            "/xero/api/connections", headers={"authorization": f"Bearer {tokens['access_token']}"}
        )
    ).json()
    assert sorted(c["tenantId"] for c in conns) == sorted([NZ, AU])
    assert len({c["authEventId"] for c in conns}) == 1


async def test_deny_on_the_page_redirects_with_access_denied(http):
    xero = Xero(http)
    answer = await http.post(AUTHORIZE, data=dict(xero.authorize_params(), decision="deny"))
    assert answer.status_code == 303
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query == {"error": ["access_denied"], "state": ["st-123"]}


async def test_a_user_cannot_connect_an_organisation_they_do_not_belong_to(http, sandbox_state):
    xero = Xero(http)
    colin = next(
        u for u in sandbox_state.store.all("xero:user") if u["EmailAddress"] == "colin@contoso.test"
    )
    form = dict(xero.authorize_params(), user_id=colin["UserID"], decision="allow", tenant_id=NZ)
    answer = await http.post(AUTHORIZE, data=form)
    assert answer.status_code == 400
    assert "no access" in answer.text


async def test_auto_approve_deny_redirects_at_once(http):
    xero = Xero(http)
    await http.post("/_sandbox/xero/auto-approve", json={"deny": True})
    answer = await http.get(AUTHORIZE, params=xero.authorize_params())
    assert answer.status_code == 302
    assert parse_qs(urlsplit(answer.headers["location"]).query)["error"] == ["access_denied"]


async def test_unregistered_redirect_uri_shows_an_error_and_never_redirects(http):
    xero = Xero(http)
    answer = await http.get(
        AUTHORIZE, params=xero.authorize_params(redirect_uri="http://evil.test/cb")
    )
    assert answer.status_code == 400
    assert "location" not in answer.headers
    assert "Invalid redirect_uri" in answer.text


async def test_unknown_scope_redirects_with_invalid_scope(http):
    xero = Xero(http)
    answer = await http.get(AUTHORIZE, params=xero.authorize_params(scope="accounting.everything"))
    assert parse_qs(urlsplit(answer.headers["location"]).query)["error"] == ["invalid_scope"]


async def test_code_is_single_use(http):
    xero = Xero(http)
    code = await xero.code()
    assert (await xero.exchange(code)).status_code == 200
    again = await xero.exchange(code)
    assert again.status_code == 400 and again.json() == {"error": "invalid_grant"}


async def test_code_expires_after_five_minutes_on_the_sandbox_clock(http):
    xero = Xero(http)
    code = await xero.code()
    await xero.advance(301)
    answer = await xero.exchange(code)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


async def test_token_redirect_uri_must_match_the_authorize_one(http):
    xero = Xero(http)
    answer = await xero.exchange(await xero.code(), redirect_uri="http://app.test/other")
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


async def test_pkce_s256_is_enforced_when_a_challenge_was_sent(http):
    xero = Xero(http)
    verifier, challenge = pkce_pair()
    extra = {"code_challenge": challenge, "code_challenge_method": "S256"}
    wrong = await xero.exchange(await xero.code(**extra), code_verifier="x" * 50)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    right = await xero.exchange(await xero.code(**extra), code_verifier=verifier)
    assert right.status_code == 200


async def test_client_credentials_in_the_body_work_like_basic_auth(http):
    xero = Xero(http)
    code = await xero.code()
    answer = await http.post(
        TOKEN,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )
    assert answer.status_code == 200


async def test_wrong_client_secret_is_invalid_client(http):
    xero = Xero(http)
    code = await xero.code()
    answer = await http.post(
        TOKEN,
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        headers=basic(secret="nope"),
    )
    assert answer.status_code == 400 and answer.json() == {"error": "invalid_client"}


async def test_token_response_shape_and_signed_id_token(http):
    xero = Xero(http)
    tokens = await xero.connect()
    assert set(tokens) == {
        "id_token",
        "access_token",
        "expires_in",
        "token_type",
        "refresh_token",
        "scope",
    }
    assert tokens["expires_in"] == 1800 and tokens["token_type"] == "Bearer"
    assert tokens["scope"].split() == xero.authorize_params()["scope"].split()
    jwks = (await http.get("/xero/identity/.well-known/openid-configuration/jwks")).json()
    claims = jwt.decode(tokens["id_token"], KeySet.import_key_set(jwks)).claims
    assert claims["email"] == "nora@northwind.test"
    assert claims["given_name"] == "Nora" and claims["family_name"] == "Admin"
    assert claims["aud"] == CLIENT_ID and claims["iss"] == "http://sandbox.test/xero/identity"
    assert claims["xero_userid"] and claims["sub"] and claims["exp"] > claims["iat"]
    users = (await xero.get("/Users")).json()["Users"]
    assert claims["xero_userid"] in {u["UserID"] for u in users}


async def test_access_token_lives_thirty_minutes(xero):
    assert (await xero.get("/Organisation")).status_code == 200
    await xero.advance(1801)
    expired = await xero.get("/Organisation")
    assert expired.status_code == 401
    assert expired.json()["Detail"] == "AuthorizationUnsuccessful"


async def test_refresh_rotates_and_the_old_token_has_a_thirty_minute_grace(xero):
    old = xero.tokens["refresh_token"]
    first = await xero.refresh(old)
    assert first.status_code == 200
    newest = first.json()["refresh_token"]
    assert newest != old
    # The previous token can be retried "as many times as needed" within 30 minutes.
    await xero.advance(600)
    assert (await xero.refresh(old)).status_code == 200
    assert (await xero.refresh(old)).status_code == 200
    await xero.advance(1201)
    late = await xero.refresh(old)
    assert late.status_code == 400 and late.json() == {"error": "invalid_grant"}
    assert (await xero.refresh(newest)).status_code == 200


async def test_refresh_token_expires_after_sixty_days_unused(xero):
    await xero.advance(60 * 24 * 3600 + 1)
    answer = await xero.refresh()
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


async def test_refreshed_access_token_works(xero):
    xero.tokens = (await xero.refresh()).json()
    assert (await xero.get("/Organisation")).status_code == 200


async def test_revocation_kills_tokens_and_removes_all_connections(xero, http):
    answer = await http.post(
        "/xero/identity/connect/revocation",
        data={"token": xero.tokens["refresh_token"]},
        headers=basic(),
    )
    assert answer.status_code == 200
    assert (await xero.refresh()).json() == {"error": "invalid_grant"}
    assert (await xero.get("/Organisation")).status_code == 401
    again = Xero(http)
    await again.connect(tenants=[AU])
    conns = (await http.get("/xero/api/connections", headers=again.headers())).json()
    assert [c["tenantId"] for c in conns] == [AU]


async def test_revocation_with_a_wrong_secret_is_refused(xero, http):
    answer = await http.post(
        "/xero/identity/connect/revocation",
        data={"token": xero.tokens["refresh_token"]},
        headers=basic(secret="bad"),
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_client"
    assert (await xero.refresh()).status_code == 200


async def test_connections_filter_by_auth_event_and_delete_by_connection_id(xero, http):
    conns = (await http.get("/xero/api/connections", headers=xero.headers())).json()
    assert {c["tenantId"] for c in conns} == {NZ, AU}
    assert all(
        set(c)
        >= {
            "id",
            "tenantId",
            "tenantType",
            "tenantName",
            "authEventId",
            "createdDateUtc",
            "updatedDateUtc",
        }
        for c in conns
    )
    event = conns[0]["authEventId"]
    filtered = await http.get(
        "/xero/api/connections", params={"authEventId": event}, headers=xero.headers()
    )
    assert len(filtered.json()) == 2
    none = await http.get(
        "/xero/api/connections",
        params={"authEventId": "00000000-0000-0000-0000-000000000000"},
        headers=xero.headers(),
    )
    assert none.json() == []
    nz = next(c for c in conns if c["tenantId"] == NZ)
    by_tenant = await http.delete(f"/xero/api/connections/{NZ}", headers=xero.headers())
    assert by_tenant.status_code == 404  # the connection id, not the tenant id
    gone = await http.delete(f"/xero/api/connections/{nz['id']}", headers=xero.headers())
    assert gone.status_code == 204
    assert (await xero.get("/Organisation")).status_code == 403
    xero.tenant = AU
    assert (await xero.get("/Organisation")).status_code == 200


async def test_tenant_header_missing_unknown_or_not_connected_is_403(http):
    xero = Xero(http)
    await xero.connect(tenants=[NZ])
    for tenant in ("", "00000000-0000-0000-0000-000000000000", AU):
        xero.tenant = tenant
        answer = await xero.get("/Invoices")
        assert answer.status_code == 403
        assert answer.json() == {
            "Type": None,
            "Title": "Forbidden",
            "Status": 403,
            "Detail": "AuthenticationUnsuccessful",
            "Instance": answer.json()["Instance"],
            "Extensions": {},
        }


async def test_bad_bearer_token_is_401(http):
    answer = await http.get(
        f"{API}/Organisation", headers={"authorization": "Bearer nope", "xero-tenant-id": NZ}
    )
    assert answer.status_code == 401
    assert answer.json()["Detail"] == "AuthorizationUnsuccessful"
