"""The Pipedrive stand-in inside the shared sandbox server on a real port (the `sandbox`
fixture), configured from the app's settings like the demo."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlparse

import httpx2

from tests.sandbox.pipedrive.conftest import basic


async def test_install_and_read_a_deal_over_a_real_port(sandbox, settings):
    http = sandbox.http
    callback = f"{settings.public_url}/pipedrive/callback"
    assert (
        await http.post("/_sandbox/pipedrive/auto-approve", json={"user_id": 102})
    ).status_code == 200
    answer = await http.get(
        "/pipedrive/oauth/oauth/authorize",
        params={"client_id": settings.pipedrive.client_id, "redirect_uri": callback, "state": "s"},
    )
    assert answer.status_code == 302
    query = parse_qs(urlparse(answer.headers["location"]).query)
    assert query["state"] == ["s"]
    tokens = (
        await http.post(
            "/pipedrive/oauth/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": query["code"][0],
                "redirect_uri": callback,
            },
            headers={
                "Authorization": basic(
                    settings.pipedrive.client_id, settings.pipedrive.client_secret
                )
            },
        )
    ).json()
    assert tokens["api_domain"] == f"{sandbox.url}/pipedrive/c/northwind"
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    me = (await http.get(f"{tokens['api_domain']}/api/v1/users/me", headers=auth)).json()
    assert (me["data"]["id"], me["data"]["company_id"]) == (102, 7001)
    deal = await http.get(f"{tokens['api_domain']}/api/v2/deals/33", headers=auth)
    assert deal.json()["data"]["title"] == "Initech training"
    assert deal.headers["x-ratelimit-remaining"] == "78"
    logged = await sandbox.requests("/pipedrive/c/northwind/api/v2/deals/33")
    assert [entry["status"] for entry in logged] == [200]


async def test_daily_budget_holds_under_parallel_calls_over_real_connections(sandbox, settings):
    http = sandbox.http
    callback = f"{settings.public_url}/pipedrive/callback"
    await http.post("/_sandbox/pipedrive/auto-approve", json={"user_id": 201})
    location = (
        await http.get(
            "/pipedrive/oauth/oauth/authorize",
            params={"client_id": settings.pipedrive.client_id, "redirect_uri": callback},
        )
    ).headers["location"]
    code = parse_qs(urlparse(location).query)["code"][0]
    tokens = (
        await http.post(
            "/pipedrive/oauth/oauth/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": callback},
            headers={
                "Authorization": basic(
                    settings.pipedrive.client_id, settings.pipedrive.client_secret
                )
            },
        )
    ).json()
    limits = await http.post("/_sandbox/pipedrive/companies/7002/limits", json={"daily_budget": 10})
    assert limits.status_code == 200
    url = f"{tokens['api_domain']}/api/v2/deals/131"  # 1 token each
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    # Separate connections, so the calls really overlap in the server.
    limits_ = httpx2.Limits(max_connections=40)
    async with httpx2.AsyncClient(timeout=30, limits=limits_) as parallel:
        answers = await asyncio.gather(*(parallel.get(url, headers=auth) for _ in range(40)))
    statuses = [a.status_code for a in answers]
    assert statuses.count(200) == 10 and statuses.count(429) == 30
    used = (await http.get("/_sandbox/pipedrive/companies/7002/limits")).json()["used_today"]
    assert used == 10
