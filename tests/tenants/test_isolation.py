"""Tenancy by construction: one company can never see another's rows."""

from __future__ import annotations


async def test_me_returns_the_signed_in_user_and_company(client, make_user, auth_headers):
    user = await make_user(pipedrive_company_id=1, pipedrive_user_id=10)
    response = await client.get("/api/v1/me", headers=auth_headers(user))
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["id"] == user.id
    assert body["company"]["pipedrive_company_id"] == 1


async def test_second_company_gets_404_on_first_companys_user(client, make_user, auth_headers):
    first = await make_user(pipedrive_company_id=1, pipedrive_user_id=10)
    colleague = await make_user(pipedrive_company_id=1, pipedrive_user_id=11, is_admin=False)
    outsider = await make_user(pipedrive_company_id=2, pipedrive_user_id=10)

    same = await client.get(f"/api/v1/users/{colleague.id}", headers=auth_headers(first))
    assert same.status_code == 200
    assert same.json()["pipedrive_user_id"] == 11

    other = await client.get(f"/api/v1/users/{colleague.id}", headers=auth_headers(outsider))
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "not_found"

    listing = await client.get("/api/v1/users", headers=auth_headers(outsider))
    assert [u["id"] for u in listing.json()] == [outsider.id]


async def test_missing_and_forged_sessions_are_401(client, make_user, auth_headers):
    user = await make_user()
    assert (await client.get("/api/v1/me")).status_code == 401
    token = auth_headers(user)["X-Session-Token"]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    response = await client.get("/api/v1/me", headers={"X-Session-Token": forged})
    assert response.status_code == 401
    assert "invalid" in response.json()["error"]["message"]
