"""Each company's request budget: 429 with Retry-After past it, in plain words, on the API and
the pages alike; another company unaffected; unauthenticated and polling routes not counted."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest


@pytest.fixture
def budget(app: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    def set_budget(per_minute: int = 0, per_second: int = 0) -> None:
        settings = app.state.settings
        monkeypatch.setattr(settings, "api_requests_per_minute", per_minute)
        monkeypatch.setattr(settings, "api_requests_per_second", per_second)

    return set_budget


async def test_past_its_budget_a_company_gets_429_with_retry_after(
    client: Any, make_user: Any, auth_headers: Any, budget: Any
) -> None:
    budget(per_minute=3)
    ada = auth_headers(await make_user(pipedrive_company_id=9101))
    bob = auth_headers(await make_user(pipedrive_company_id=9102, pipedrive_user_id=2))
    for _ in range(3):
        assert (await client.get("/api/v1/me", headers=ada)).status_code == 200
    refused = await client.get("/api/v1/users", headers=ada)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    error = refused.json()["error"]
    assert error["code"] == "rate_limited"
    assert error["message"].startswith(
        "Your company has made 3 requests to CRM Invoicing in the last minute"
    )
    assert error["retry_after"] == int(refused.headers["Retry-After"])
    # Refused requests are not counted, and another company has its own budget.
    for _ in range(3):
        assert (await client.get("/api/v1/me", headers=bob)).status_code == 200
    assert (await client.get("/api/v1/me", headers=bob)).status_code == 429


async def test_a_burst_is_limited_per_second(
    client: Any, make_user: Any, auth_headers: Any, budget: Any
) -> None:
    budget(per_minute=100, per_second=2)
    ada = auth_headers(await make_user(pipedrive_company_id=9103))
    answers = await asyncio.gather(*(client.get("/api/v1/me", headers=ada) for _ in range(12)))
    refused = [a for a in answers if a.status_code == 429]
    # Twelve requests at once: two fit the second, the rest are told to come back.
    assert refused and all(a.status_code in (200, 429) for a in answers)
    assert "in the last second" in refused[0].json()["error"]["message"]
    assert refused[0].headers["Retry-After"] == "1"


async def test_pages_are_limited_the_same_and_the_panels_polling_is_not(
    client: Any, make_user: Any, auth_headers: Any, budget: Any
) -> None:
    budget(per_minute=2)
    ada = auth_headers(await make_user(pipedrive_company_id=9104))
    for _ in range(2):
        assert (await client.get("/api/v1/me", headers=ada)).status_code == 200
    page = await client.get("/pipedrive/panel", params={"selectedIds": 31}, headers=ada)
    assert page.status_code == 429 and page.headers["Retry-After"]
    assert "Your company has made 2 requests" in page.text
    # An open panel polls every few seconds: that costs nothing of the budget.
    for _ in range(3):
        poll = await client.get(
            "/pipedrive/panel/31/invoices/version", params={"v": "x"}, headers=ada
        )
        assert poll.status_code in (200, 204)


async def test_unauthenticated_requests_are_not_company_limited(
    client: Any, make_user: Any, auth_headers: Any, budget: Any
) -> None:
    budget(per_minute=1)
    ada = auth_headers(await make_user(pipedrive_company_id=9105))
    assert (await client.get("/api/v1/me", headers=ada)).status_code == 200
    assert (await client.get("/api/v1/me", headers=ada)).status_code == 429
    # No company is known before sign-in: a bad or missing session is a 401, never a 429.
    assert (await client.get("/api/v1/me")).status_code == 401
    assert (await client.get("/api/v1/me", headers={"X-Session-Token": "x"})).status_code == 401
    assert (await client.get("/healthz")).status_code == 200
