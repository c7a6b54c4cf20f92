"""Signing in from Pipedrive's iframes: JWT verification and the session exchange."""

from __future__ import annotations

import time

from tests.crm.pipedrive.conftest import sign_jwt


async def test_bearer_jwt_is_exchanged_for_a_working_session(client, install, pipedrive_jwt):
    user, _ = await install()
    response = await client.post(
        "/api/v1/session", headers={"Authorization": f"Bearer {pipedrive_jwt()}"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"]["id"] == user.id
    me = await client.get("/api/v1/me", headers={"X-Session-Token": body["session_token"]})
    assert me.status_code == 200
    assert me.json()["company"]["pipedrive_company_id"] == 7001


async def test_page_load_with_token_renders_the_session_meta_tag(client, install, pipedrive_jwt):
    await install(is_admin=False, pipedrive_user_id=102)
    response = await client.get(
        "/preferences",
        params={"token": pipedrive_jwt(user_id=102), "userId": "102", "companyId": "7001"},
    )
    assert response.status_code == 200, response.text
    assert '<meta name="session-token" content="' in response.text
    # A rep sees the page read only.
    assert "your Pipedrive role may not change these" in response.text


async def test_forged_signature_is_401(client, install, settings):
    await install()
    now = int(time.time())
    forged = sign_jwt("not-the-secret", {"userId": 101, "companyId": 7001, "iat": now})
    response = await client.post("/api/v1/session", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert "signature is invalid" in response.json()["error"]["message"]


async def test_expired_jwt_is_401(client, install, pipedrive_jwt):
    await install()
    token = pipedrive_jwt(iat=int(time.time()) - 600, exp=int(time.time()) - 300)
    response = await client.post("/api/v1/session", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


async def test_too_old_jwt_is_401_even_with_a_later_exp(client, install, pipedrive_jwt):
    # A token without exp is refused outright (test_jwt_times.py); one whose exp is generous is
    # still capped by its age.
    await install()
    token = pipedrive_jwt(iat=int(time.time()) - 7200, exp=int(time.time()) + 300)
    response = await client.post("/api/v1/session", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert "too old" in response.json()["error"]["message"]


async def test_other_algorithm_is_401(client, install, settings):
    await install()
    token = sign_jwt(settings.pipedrive.client_secret, {"userId": 101, "companyId": 7001}, "HS512")
    response = await client.post("/api/v1/session", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert "HS256" in response.json()["error"]["message"]


async def test_garbage_and_missing_tokens_are_401(client):
    response = await client.post("/api/v1/session", headers={"Authorization": "Bearer abc.def"})
    assert response.status_code == 401
    assert "malformed" in response.json()["error"]["message"]
    response = await client.post("/api/v1/session")
    assert response.status_code == 401
    assert "Bearer" in response.json()["error"]["message"]


async def test_missing_claims_are_401(client, install, pipedrive_jwt):
    await install()
    token = pipedrive_jwt(userId=None)
    response = await client.post("/api/v1/session", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert "userId" in response.json()["error"]["message"]


async def test_query_that_does_not_match_the_token_is_401(client, install, pipedrive_jwt):
    await install()
    await install(pipedrive_user_id=102, is_admin=False)
    response = await client.get(
        "/preferences",
        params={"token": pipedrive_jwt(user_id=102), "userId": "101", "companyId": "7001"},
    )
    assert response.status_code == 401
    assert "userId (101) does not match" in response.text
    response = await client.post(
        "/api/v1/session",
        params={"companyId": "7002"},
        headers={"Authorization": f"Bearer {pipedrive_jwt()}"},
    )
    assert response.status_code == 401
    assert "companyId (7002) does not match" in response.json()["error"]["message"]


async def test_user_who_has_not_installed_is_401(client, install, make_user, pipedrive_jwt):
    await install()
    # A user row without an installation (e.g. uninstalled) cannot sign in.
    await make_user(pipedrive_company_id=7001, pipedrive_user_id=103, is_admin=False)
    response = await client.post(
        "/api/v1/session", headers={"Authorization": f"Bearer {pipedrive_jwt(user_id=103)}"}
    )
    assert response.status_code == 401
    assert "has not installed" in response.json()["error"]["message"]


async def test_company_that_has_not_installed_is_403(client, install, pipedrive_jwt):
    await install()
    response = await client.post(
        "/api/v1/session",
        headers={"Authorization": f"Bearer {pipedrive_jwt(user_id=101, company_id=7002)}"},
    )
    assert response.status_code == 403
    assert "company 7002 has not installed" in response.json()["error"]["message"]


async def test_session_can_be_renewed(client, install, auth_headers):
    user, _ = await install()
    response = await client.get("/api/v1/session", headers=auth_headers(user))
    assert response.status_code == 200
    assert response.json()["session_token"]
