"""The API client against a scripted transport: refresh guards, rate limits, concurrency.

End-to-end behaviour against the sandbox's Pipedrive lives in test_sandbox_flows.py; here the
transport is scripted so that timing-sensitive rules (single-flight refresh, backoff) are exact.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx2
import pytest
from sqlalchemy import select

from app.crm.pipedrive.client import FieldDefinitionCache, PipedriveClient
from app.crm.pipedrive.errors import (
    PipedriveAuthError,
    PipedriveError,
    PipedriveRateLimited,
)
from app.crm.pipedrive.models import PipedriveInstallation
from app.crm.pipedrive.oauth import PipedriveOAuth
from app.crm.pipedrive.tokens import InstallationTokens
from app.crm.pipedrive.transport import RATE_LIMITS
from app.kit import refresher as refresher_module
from app.kit.http import Budgets

API = "https://pd.test"


class FakePipedrive:
    """A scripted Pipedrive: one valid access token at a time, optional 429s, slow answers."""

    def __init__(self) -> None:
        self.valid_token = "access-1"
        self.token_calls = 0
        self.refresh_delay = 0.0
        self.api_delay = 0.0
        self.calls: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.script: list[httpx2.Response] = []
        self.v2_fields = True

    async def __call__(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        if path.endswith("/oauth/token"):
            self.token_calls += 1
            await asyncio.sleep(self.refresh_delay)
            form = parse_qs(request.content.decode())
            assert form["grant_type"] == ["refresh_token"]
            self.valid_token = f"access-{self.token_calls + 1}"
            return httpx2.Response(
                200,
                json={
                    "access_token": self.valid_token,
                    "refresh_token": form["refresh_token"][0],
                    "expires_in": 3599,
                    "api_domain": API,
                    "scope": "base",
                },
            )
        self.calls.append(f"{path}?{request.url.query.decode()}" if request.url.query else path)
        if request.headers.get("authorization") != f"Bearer {self.valid_token}":
            return httpx2.Response(401, json={"success": False, "error": "unauthorized access"})
        if self.script:
            return self.script.pop(0)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.api_delay)
            answer = self.answer(request)
            if answer is None:
                return httpx2.Response(404, json={"success": False, "error": "not found"})
            return httpx2.Response(200, json=answer)
        finally:
            self.in_flight -= 1

    def answer(self, request: httpx2.Request) -> Any:
        path = request.url.path
        if path == "/api/v2/deals/31":
            return {
                "success": True,
                "data": {
                    "id": 31,
                    "title": "Acme rollout",
                    "value": 7300.5,
                    "currency": "NZD",
                    "org_id": 11,
                    "person_id": 21,
                },
            }
        if path == "/api/v2/deals/31/products":
            return {
                "success": True,
                "data": [
                    {
                        "id": 1,
                        "product_id": 1,
                        "name": "Consulting hour",
                        "item_price": 150.1,
                        "quantity": 10,
                        "discount": 10,
                        "discount_type": "percentage",
                        "tax": 15,
                        "tax_method": "exclusive",
                        "comments": None,
                    }
                ],
                "additional_data": {"next_cursor": None},
            }
        if path == "/api/v2/deals/31/discounts":
            return {"success": True, "data": [{"id": "d1", "type": "amount", "amount": 100}]}
        if path == "/api/v2/organizations/11":
            return {
                "success": True,
                "data": {"id": 11, "name": "Acme Ltd", "address": {"value": "12 Queen Street"}},
            }
        if path == "/api/v2/persons/21":
            return {
                "success": True,
                "data": {
                    "id": 21,
                    "name": "Alice",
                    "emails": [{"value": "alice@acme.test", "primary": True}],
                },
            }
        if path == "/api/v2/products":
            ids = request.url.params["ids"].split(",")
            return {
                "success": True,
                "data": [{"id": int(i), "name": f"P{i}", "code": f"C{i}"} for i in ids],
                "additional_data": {},
            }
        if path.startswith("/api/v2/") and path.endswith("Fields"):
            if not self.v2_fields:
                return None
            return {
                "success": True,
                "data": [
                    {
                        "field_code": "name",
                        "field_name": "Name",
                        "field_type": "varchar",
                        "is_custom_field": False,
                    },
                    {
                        "field_code": "a" * 40,
                        "field_name": "VAT number",
                        "field_type": "varchar",
                        "is_custom_field": True,
                    },
                ],
                "additional_data": {"next_cursor": None},
            }
        if path.startswith("/api/v1/") and path.endswith("Fields"):
            return {
                "success": True,
                "data": [
                    {"key": "name", "name": "Name", "field_type": "varchar"},
                    {
                        "key": "b" * 40,
                        "name": "Segment",
                        "field_type": "enum",
                        "options": [{"id": 1, "label": "SMB"}],
                    },
                ],
                "additional_data": {"pagination": {"more_items_in_collection": False}},
            }
        return {"success": False}


@pytest.fixture
def fake() -> FakePipedrive:
    return FakePipedrive()


@pytest.fixture
async def http(fake: FakePipedrive):
    async with httpx2.AsyncClient(transport=httpx2.MockTransport(fake)) as client:
        yield client


def make_client(http, settings, sessionmaker, installation_id, sleeps=None, windows=None):
    tokens = InstallationTokens(sessionmaker, PipedriveOAuth(http, settings), installation_id)

    async def fake_sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(round(seconds, 2))

    client = PipedriveClient(
        http,
        tokens,
        sleep=fake_sleep if sleeps is not None else None,
        rate_budgets=windows or Budgets(RATE_LIMITS),
    )
    return client, tokens


async def test_deal_data_reads_in_two_concurrent_rounds(
    http, fake, settings, sessionmaker, install
):
    _, row = await install(api_domain=API)
    fake.api_delay = 0.05
    client, _ = make_client(http, settings, sessionmaker, row.id)
    data = await client.deal_data(31)
    assert data.deal.title == "Acme rollout"
    assert str(data.deal.value) == "7300.5"
    assert str(data.products[0].item_price) == "150.1"
    assert data.products[0].comments == ""
    assert data.discounts[0].id == "d1"
    assert data.organization is not None and data.organization.name == "Acme Ltd"
    assert data.person is not None and data.person.primary_email == "alice@acme.test"
    assert data.catalog[1].code == "C1"
    # Deal, lines and discounts overlap; then organization, person and products overlap.
    assert fake.max_in_flight >= 3
    assert len(fake.calls) == 6


async def test_deal_data_of_a_missing_deal_names_the_deal(
    http, fake, settings, sessionmaker, install
):
    _, row = await install(api_domain=API)
    client, _ = make_client(http, settings, sessionmaker, row.id)
    read_deal = client.deal

    async def slow_deal(deal_id: int) -> Any:
        # The deal answers last: its lines' and discounts' 404s arrive first.
        await asyncio.sleep(0.05)
        return await read_deal(deal_id)

    client.deal = slow_deal  # type: ignore[method-assign]
    with pytest.raises(PipedriveError) as caught:
        await client.deal_data(999)
    # The deal's own answer, not whichever of its other reads failed first.
    assert "/api/v2/deals/999 " in f"{caught.value} "
    assert "products" not in str(caught.value) and "discounts" not in str(caught.value)


async def test_products_are_batched_by_100_ids(http, fake, settings, sessionmaker, install):
    _, row = await install(api_domain=API)
    client, _ = make_client(http, settings, sessionmaker, row.id)
    found = await client.products([*range(1, 151), 5, 5])
    assert sorted(found) == list(range(1, 151))
    batches = [c for c in fake.calls if c.startswith("/api/v2/products")]
    assert len(batches) == 2
    sizes = sorted(len(parse_qs(c.split("?", 1)[1])["ids"][0].split(",")) for c in batches)
    assert sizes == [50, 100]


async def test_expiring_token_is_refreshed_once_for_concurrent_requests(
    http, fake, settings, sessionmaker, install
):
    _, row = await install(api_domain=API, expires_in=60)  # inside the 5-minute margin
    fake.refresh_delay = 0.1
    client, _ = make_client(http, settings, sessionmaker, row.id)
    deals = await asyncio.gather(*(client.deal(31) for _ in range(8)))
    assert [d.id for d in deals] == [31] * 8
    assert fake.token_calls == 1
    async with sessionmaker() as session:
        stored = await session.get(PipedriveInstallation, row.id)
        assert stored.access_token == "access-2"
        assert stored.token_version == 1
        assert stored.expires_at > datetime.now(UTC) + timedelta(minutes=50)
        assert stored.refresh_lease_until is None


async def test_rejected_token_is_refreshed_and_the_call_retried(
    http, fake, settings, sessionmaker, install
):
    _, row = await install(api_domain=API)
    fake.valid_token = "rotated-elsewhere"  # Pipedrive no longer accepts access-1
    client, _ = make_client(http, settings, sessionmaker, row.id)
    deal = await client.deal(31)
    assert deal.id == 31
    assert fake.token_calls == 1
    assert fake.calls.count("/api/v2/deals/31") == 2


async def test_two_processes_do_not_both_refresh(
    http, fake, settings, sessionmaker, install, monkeypatch
):
    """Each "process" has its own in-memory lock; only the database guard is shared."""
    _, row = await install(api_domain=API, expires_in=10)
    monkeypatch.setattr(refresher_module, "local_lock", lambda _key: asyncio.Lock())
    fake.refresh_delay = 0.3
    a = InstallationTokens(sessionmaker, PipedriveOAuth(http, settings), row.id)
    b = InstallationTokens(sessionmaker, PipedriveOAuth(http, settings), row.id)
    first, second = await asyncio.gather(a.current(), b.current())
    assert fake.token_calls == 1
    assert first.access_token == second.access_token == "access-2"
    assert a.refreshes + b.refreshes == 1


async def test_refused_refresh_asks_for_a_reinstall(http, settings, sessionmaker, install):
    _, row = await install(api_domain=API, expires_in=10)

    async def refuse(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(400, json={"error": "invalid_grant", "message": "expired"})

    async with httpx2.AsyncClient(transport=httpx2.MockTransport(refuse)) as refusing:
        tokens = InstallationTokens(sessionmaker, PipedriveOAuth(refusing, settings), row.id)
        with pytest.raises(PipedriveAuthError, match="Pipedrive refused to refresh"):
            await tokens.current()
    async with sessionmaker() as session:
        stored = await session.get(PipedriveInstallation, row.id)
        # The lease is released so that a later attempt (after a reinstall) is not blocked.
        assert stored.refresh_lease_until is None
        assert stored.token_version == 0


async def test_429_backs_off_by_the_reset_header(http, fake, settings, sessionmaker, install):
    _, row = await install(api_domain=API)
    sleeps: list[float] = []
    client, _ = make_client(http, settings, sessionmaker, row.id, sleeps)
    limited = httpx2.Response(429, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "2"})
    fake.script = [limited, limited]
    deal = await client.deal(31)
    assert deal.id == 31
    assert fake.calls.count("/api/v2/deals/31") == 3
    assert 2.0 in sleeps


async def test_429_without_headers_backs_off_exponentially(
    http, fake, settings, sessionmaker, install
):
    _, row = await install(api_domain=API)
    sleeps: list[float] = []
    client, _ = make_client(http, settings, sessionmaker, row.id, sleeps)
    fake.script = [httpx2.Response(429), httpx2.Response(429), httpx2.Response(429)]
    assert (await client.deal(31)).id == 31
    assert sleeps == [0.5, 1.0, 2.0]


async def test_daily_budget_exhausted_is_a_clear_429(http, fake, settings, sessionmaker, install):
    _, row = await install(api_domain=API)
    sleeps: list[float] = []
    client, _ = make_client(http, settings, sessionmaker, row.id, sleeps)
    fake.script = [httpx2.Response(429, headers={"x-ratelimit-reset": "36000"})]
    with pytest.raises(PipedriveRateLimited, match="rate limit") as caught:
        await client.deal(31)
    assert caught.value.headers["Retry-After"] == "36000"
    assert sleeps == []
    # Later requests (other clients of the same company too) fail fast, without calling.
    calls = len(fake.calls)
    again, _ = make_client(http, settings, sessionmaker, row.id, sleeps, client.budgets)
    with pytest.raises(PipedriveRateLimited, match="daily API budget"):
        await again.deal(31)
    assert len(fake.calls) == calls


async def test_exhausted_window_waits_before_the_next_call(
    http, fake, settings, sessionmaker, install
):
    _, row = await install(api_domain=API)
    sleeps: list[float] = []
    client, _ = make_client(http, settings, sessionmaker, row.id, sleeps)
    body = json.dumps({"success": True, "data": {"id": 31, "title": "x"}})
    fake.script = [
        httpx2.Response(
            200,
            content=body,
            headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1"},
        )
    ]
    await client.deal(31)
    # The next request's client shares the company's window.
    following, _ = make_client(http, settings, sessionmaker, row.id, sleeps, client.budgets)
    await following.deal(31)
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 1.0


async def test_field_definitions_v2_then_v1_fallback(http, fake, settings, sessionmaker, install):
    _, row = await install(api_domain=API)
    client, _ = make_client(http, settings, sessionmaker, row.id)
    fields = await client.field_definitions("organization")
    assert [(f.key, f.name, f.is_custom) for f in fields] == [
        ("name", "Name", False),
        ("a" * 40, "VAT number", True),
    ]
    fake.v2_fields = False
    fields = await client.field_definitions("organization")
    assert [(f.key, f.is_custom) for f in fields] == [("name", False), ("b" * 40, True)]
    assert fields[1].option_label(1) == "SMB"
    assert "/api/v1/organizationFields?start=0&limit=500" in fake.calls


async def test_field_cache_loads_once_per_ttl(http, fake, settings, sessionmaker, install):
    user, row = await install(api_domain=API)
    client, _ = make_client(http, settings, sessionmaker, row.id)
    cache = FieldDefinitionCache(ttl_seconds=60)
    first, second = await asyncio.gather(
        cache.get(user.company_id, client), cache.get(user.company_id, client)
    )
    assert first is second
    assert cache.loads == 1
    cache.invalidate(user.company_id)
    await cache.get(user.company_id, client)
    assert cache.loads == 2
    expired = FieldDefinitionCache(ttl_seconds=0)
    await expired.get(user.company_id, client)
    await expired.get(user.company_id, client)
    assert expired.loads == 2


async def test_uninstalled_installation_cannot_get_tokens(http, settings, sessionmaker, install):
    _, row = await install(api_domain=API)
    async with sessionmaker() as session:
        stored = (await session.execute(select(PipedriveInstallation))).scalar_one()
        await session.delete(stored)
        await session.commit()
    tokens = InstallationTokens(sessionmaker, PipedriveOAuth(http, settings), row.id)
    with pytest.raises(PipedriveAuthError, match="uninstalled"):
        await tokens.current()
