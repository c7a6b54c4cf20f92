"""The uninstall callback (reference pipedrive.md §2) and the Invoicing extension's link
registration (pipedrive-invoicing-extension.md §4)."""

from __future__ import annotations

import json

from tests.sandbox.pipedrive.conftest import CLIENT_ID, CONTOSO, NORTHWIND, basic

PROVIDER = f"{NORTHWIND}/api/v1/invoice/user/provider"


async def test_uninstall_sends_delete_with_basic_auth_and_revokes_the_install(pd, northwind):
    pd.receiver.status = 204
    response = await pd.http.post(
        "/_sandbox/pipedrive/uninstall", json={"user_id": 101, "company_id": 7001}
    )
    assert response.status_code == 200
    outcome = response.json()
    assert outcome["status"] == 204 and outcome["revoked_grants"] == 1
    [delete] = pd.receiver.of("DELETE")
    assert delete["path"] == "/pipedrive/callback"
    assert delete["headers"]["authorization"] == basic()
    assert delete["headers"]["content-type"] == "application/json"
    body = json.loads(delete["body"])
    assert set(body) == {"client_id", "company_id", "user_id", "timestamp"}
    assert (body["client_id"], body["company_id"], body["user_id"]) == (CLIENT_ID, 7001, 101)
    assert body["timestamp"].endswith("Z")
    me = await pd.get(f"{NORTHWIND}/api/v1/users/me", northwind)
    assert me.status_code == 401


async def test_uninstall_touches_only_that_user(pd, northwind):
    rep = (await pd.install(102))["access_token"]
    await pd.http.post("/_sandbox/pipedrive/uninstall", json={"user_id": 102, "company_id": 7001})
    assert (await pd.get(f"{NORTHWIND}/api/v1/users/me", northwind)).status_code == 200
    assert (await pd.get(f"{NORTHWIND}/api/v1/users/me", rep)).status_code == 401


async def test_uninstall_reports_the_apps_failure_and_unknown_users(pd):
    pd.receiver.status = 500
    outcome = (
        await pd.http.post(
            "/_sandbox/pipedrive/uninstall", json={"user_id": 202, "company_id": 7002}
        )
    ).json()
    assert outcome["status"] == 500 and outcome["revoked_grants"] == 0
    wrong = await pd.http.post(
        "/_sandbox/pipedrive/uninstall", json={"user_id": 101, "company_id": 7002}
    )
    assert wrong.status_code == 404


async def register(pd, token: str, data, url: str = PROVIDER):
    return await pd.http.post(url, json=data, headers={"Authorization": f"Bearer {token}"})


async def test_registration_answers_a_redirect_url_to_a_connected_page(pd, northwind):
    link = {
        "linkId": "5f7a0c1e-0000-4000-8000-00000000abcd",
        "orgId": "tenant-1",
        "marketplaceClientId": CLIENT_ID,
    }
    response = await register(pd, northwind, {"data": link})
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    redirect = body["data"]["redirectUrl"]
    assert redirect.startswith(f"{NORTHWIND}/")
    page = await pd.http.get(redirect)
    assert page.status_code == 200
    assert "connected" in page.text and "tenant-1" in page.text
    links = (await pd.http.get("/_sandbox/pipedrive/invoice-links")).json()
    assert [(x["linkId"], x["orgId"], x["company_id"], x["user_id"]) for x in links] == [
        (link["linkId"], "tenant-1", 7001, 101)
    ]


async def test_registration_names_the_missing_field(pd, northwind):
    full = {"linkId": "l-1", "orgId": "o-1", "marketplaceClientId": CLIENT_ID}
    for missing in ("linkId", "orgId", "marketplaceClientId"):
        data = {k: v for k, v in full.items() if k != missing}
        response = await register(pd, northwind, {"data": data})
        assert response.status_code == 400
        assert response.json()["error"] == f"{missing} is required"
        assert response.json()["success"] is False
    unwrapped = await register(pd, northwind, full)
    assert unwrapped.status_code == 400 and unwrapped.json()["error"] == "data is required"
    other_app = await register(pd, northwind, {"data": {**full, "marketplaceClientId": "x"}})
    assert other_app.status_code == 400


async def test_registration_needs_a_valid_token_of_that_company(pd, northwind):
    full = {"data": {"linkId": "l-2", "orgId": "o", "marketplaceClientId": CLIENT_ID}}
    assert (await register(pd, "v1u:bogus", full)).status_code == 401
    foreign = await register(pd, northwind, full, url=f"{CONTOSO}/api/v1/invoice/user/provider")
    assert foreign.status_code == 401
    assert (await pd.http.get("/_sandbox/pipedrive/invoice-links")).json() == []
