"""Token-cost rate limiting (reference pipedrive.md §5): burst per token over a rolling 2-s
window, a daily token budget per company, x-ratelimit-* headers and 429 "Request over limit"."""

from __future__ import annotations

import asyncio

from tests.sandbox.pipedrive.conftest import NORTHWIND

DEAL = f"{NORTHWIND}/api/v2/deals/31"


async def set_limits(pd, company_id: int = 7001, **body):
    response = await pd.http.post(f"/_sandbox/pipedrive/companies/{company_id}/limits", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def test_headers_on_every_call(pd, northwind):
    response = await pd.get(DEAL, northwind)
    assert response.headers["x-ratelimit-limit"] == "80"  # OAuth app, Lite plan
    assert response.headers["x-ratelimit-remaining"] == "79"
    assert 1 <= int(response.headers["x-ratelimit-reset"]) <= 2
    again = await pd.get(DEAL, northwind)
    assert again.headers["x-ratelimit-remaining"] == "78"


async def test_plan_sets_the_burst_limit(pd, northwind):
    limits = await set_limits(pd, plan="growth")
    assert limits["burst_limit"] == 160
    assert limits["daily_budget"] == 30_000 * 2 * 2  # Growth multiplier x two seats
    response = await pd.get(DEAL, northwind)
    assert response.headers["x-ratelimit-limit"] == "160"


async def test_burst_limit_holds_under_parallel_calls_and_the_window_rolls(pd, northwind):
    await set_limits(pd, burst_limit=5)
    answers = await asyncio.gather(*(pd.get(DEAL, northwind) for _ in range(20)))
    statuses = [a.status_code for a in answers]
    assert statuses.count(200) == 5 and statuses.count(429) == 15
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.json()["error"] == "Request over limit"
    assert refused.json()["errorCode"] == 429
    assert refused.headers["x-ratelimit-remaining"] == "0"
    await pd.advance(2.1)
    assert (await pd.get(DEAL, northwind)).status_code == 200


async def test_burst_is_per_token(pd, northwind):
    await set_limits(pd, burst_limit=2)
    other = (await pd.install(102))["access_token"]
    assert [(await pd.get(DEAL, northwind)).status_code for _ in range(3)] == [200, 200, 429]
    assert (await pd.get(DEAL, other)).status_code == 200


async def test_daily_budget_counts_token_costs_per_company_and_resets_at_midnight(pd, northwind):
    await set_limits(pd, daily_budget=25)
    products = f"{NORTHWIND}/api/v2/deals/31/products"  # 10 tokens each
    assert (await pd.get(products, northwind)).status_code == 200
    rep = (await pd.install(102))["access_token"]
    assert (await pd.get(products, rep)).status_code == 200  # shared by the company's users
    over = await pd.get(products, northwind)
    assert over.status_code == 429 and over.json()["error"] == "Request over limit"
    assert int(over.headers["x-ratelimit-reset"]) > 2  # until midnight, not the burst window
    assert (await pd.get(DEAL, northwind)).status_code == 200  # 1 token still fits: 21 → 22
    used = (await pd.http.get("/_sandbox/pipedrive/companies/7001/limits")).json()["used_today"]
    assert used == 21
    await pd.advance(int(over.headers["x-ratelimit-reset"]) + 1)
    fresh = (await pd.install(101))["access_token"]  # the old one may have expired meanwhile
    assert (await pd.get(products, fresh)).status_code == 200


async def test_daily_budget_is_per_company(pd, northwind):
    await set_limits(pd, daily_budget=0)
    assert (await pd.get(DEAL, northwind)).status_code == 429
    contoso = (await pd.install(201))["access_token"]
    assert (
        await pd.get(f"{NORTHWIND.replace('northwind', 'contoso')}/api/v2/deals/131", contoso)
    ).status_code == 200


async def test_costs_per_endpoint(pd, northwind):
    for path, cost in (
        ("/api/v2/deals/31", 1),
        ("/api/v2/deals/31/products", 10),
        ("/api/v2/deals/products?deal_ids=31", 10),
        ("/api/v2/deals/31/discounts", 10),
        ("/api/v2/products/1", 1),
        ("/api/v2/organizations/11", 1),
        ("/api/v2/persons/21", 1),
        ("/api/v1/users/me", 2),
        ("/api/v1/dealFields", 20),
        ("/api/v2/dealFields", 20),
    ):
        before = (await pd.http.get("/_sandbox/pipedrive/companies/7001/limits")).json()
        assert (await pd.get(f"{NORTHWIND}{path}", northwind)).status_code == 200
        after = (await pd.http.get("/_sandbox/pipedrive/companies/7001/limits")).json()
        assert after["used_today"] - before["used_today"] == cost, path


async def test_unknown_plan_is_refused(pd):
    response = await pd.http.post(
        "/_sandbox/pipedrive/companies/7001/limits", json={"plan": "gold"}
    )
    assert response.status_code == 422


async def test_injected_429_has_pipedrives_shape(pd, northwind):
    await pd.http.post(
        "/_sandbox/faults",
        json={"kind": "rate_limit", "path": "^/pipedrive/c/", "count": 1, "retry_after": 2},
    )
    response = await pd.get(DEAL, northwind)
    assert response.status_code == 429
    assert response.json()["error"] == "Request over limit"
    assert response.headers["x-ratelimit-reset"] == "2"
    assert (await pd.get(DEAL, northwind)).status_code == 200
