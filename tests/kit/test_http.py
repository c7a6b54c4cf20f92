"""Per-tenant rate limits, Retry-After and the retry rules of the shared transport."""

from __future__ import annotations

import asyncio
import time

import httpx2
import pytest

from app.kit.http import Budgets, RateLimits, RetryPolicy, Transport, retry_after_seconds
from app.providers.errors import (
    ProviderError,
    ProviderRateLimited,
    ProviderUnavailable,
    over_budget,
    unreachable,
)


def parse_error(response: httpx2.Response) -> ProviderError:
    if response.status_code == 429:
        return ProviderRateLimited(
            "slow down",
            provider="test",
            retry_after=retry_after_seconds(response, 60),
            daily=response.headers.get("X-Rate-Limit-Problem") == "day",
        )
    return ProviderUnavailable("down", provider="test")


def transport(handler, limits=RateLimits(60, 5), **retry) -> Transport:  # type: ignore[no-untyped-def]
    http = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    policy = RetryPolicy(**{"attempts": 3, "wait_scale": 0.001, **retry})
    return Transport(http, "test", limits, parse_error, policy, unreachable("test"))


async def test_concurrency_is_capped_per_tenant() -> None:
    in_flight: dict[str, int] = {"a": 0, "b": 0}
    peak: dict[str, int] = {"a": 0, "b": 0}

    async def handler(request: httpx2.Request) -> httpx2.Response:
        tenant = request.url.path.strip("/")
        in_flight[tenant] += 1
        peak[tenant] = max(peak[tenant], in_flight[tenant])
        await asyncio.sleep(0.02)
        in_flight[tenant] -= 1
        return httpx2.Response(200)

    t = transport(handler, RateLimits(per_minute=1000, concurrent=3))
    calls = [
        t.send("GET", f"http://p.test/{tenant}", tenant=tenant, safe=True)
        for tenant in ("a", "b")
        for _ in range(12)
    ]
    await asyncio.gather(*calls)
    assert peak == {"a": 3, "b": 3}


async def test_minute_budget_is_per_tenant() -> None:
    t = transport(lambda r: httpx2.Response(200), RateLimits(per_minute=2, concurrent=5))
    for _ in range(2):
        await t.send("GET", "http://p.test/a", tenant="a", safe=True)
    # Tenant a has spent its minute: a third call waits ...
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(t.send("GET", "http://p.test/a", tenant="a", safe=True), 0.2)
    # ... while tenant b is not held back.
    await asyncio.wait_for(t.send("GET", "http://p.test/b", tenant="b", safe=True), 0.2)


async def test_retry_after_holds_every_call_of_the_tenant() -> None:
    stamps: list[tuple[str, float]] = []
    first = True

    def handler(request: httpx2.Request) -> httpx2.Response:
        nonlocal first
        stamps.append((request.url.path, time.monotonic()))
        if first:
            first = False
            return httpx2.Response(429, headers={"Retry-After": "2"})
        return httpx2.Response(200)

    # wait_scale 0.1: Retry-After 2 s becomes 0.2 s.
    t = transport(handler, wait_scale=0.1)
    start = time.monotonic()
    await t.send("GET", "http://p.test/first", tenant="a", safe=True)
    await t.send("GET", "http://p.test/second", tenant="a", safe=True)
    assert [p for p, _ in stamps] == ["/first", "/first", "/second"]
    assert stamps[1][1] - start >= 0.19
    await t.send("GET", "http://p.test/other", tenant="b", safe=True)


async def test_a_short_429_is_waited_out_even_for_an_unsafe_write() -> None:
    """A 429 is refused before any work, so repeating the write cannot duplicate it."""
    answers = [httpx2.Response(429, headers={"Retry-After": "1"}), httpx2.Response(201)]
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(request.method)
        return answers[len(calls) - 1]

    t = transport(handler, wait_scale=0.1)
    response = await t.send("POST", "http://p.test/", tenant="a", safe=False, content=b"{}")
    assert response.status_code == 201 and calls == ["POST", "POST"]


async def test_long_retry_after_is_surfaced_not_slept() -> None:
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(1)
        return httpx2.Response(429, headers={"Retry-After": "600"})

    t = transport(handler)
    with pytest.raises(ProviderRateLimited) as exc:
        await t.send("GET", "http://p.test/", tenant="a", safe=True)
    assert exc.value.retry_after == 600 and len(calls) == 1


async def test_daily_limit_never_retried() -> None:
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(1)
        return httpx2.Response(429, headers={"Retry-After": "5", "X-Rate-Limit-Problem": "day"})

    t = transport(handler)
    with pytest.raises(ProviderRateLimited) as exc:
        await t.send("GET", "http://p.test/", tenant="a", safe=True)
    assert exc.value.daily and len(calls) == 1


async def test_unsafe_write_is_not_retried_and_outcome_is_unknown() -> None:
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(1)
        return httpx2.Response(502)

    t = transport(handler)
    with pytest.raises(ProviderUnavailable) as exc:
        await t.send("POST", "http://p.test/", tenant="a", safe=False, content=b"{}")
    assert len(calls) == 1 and exc.value.outcome_unknown
    calls.clear()
    with pytest.raises(ProviderUnavailable) as exc:
        await t.send("POST", "http://p.test/", tenant="a", safe=True, content=b"{}")
    assert len(calls) == 3 and not exc.value.outcome_unknown


async def test_timeouts_retry_then_recover() -> None:
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(1)
        if len(calls) < 3:
            raise httpx2.ReadTimeout("slow", request=request)
        return httpx2.Response(200, content=b"ok")

    t = transport(handler)
    response = await t.send("GET", "http://p.test/", tenant="a", safe=True)
    assert response.content == b"ok" and len(calls) == 3


async def test_connection_error_on_unsafe_write_fails_fast() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("refused", request=request)

    t = transport(handler)
    with pytest.raises(ProviderUnavailable) as exc:
        await t.send("PUT", "http://p.test/", tenant="a", safe=False)
    assert exc.value.outcome_unknown and exc.value.status_code == 503


def test_retry_after_parsing() -> None:
    assert retry_after_seconds(httpx2.Response(429, headers={"Retry-After": "7"})) == 7
    assert retry_after_seconds(httpx2.Response(429), 60) == 60
    dated = httpx2.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert retry_after_seconds(dated) == 0


async def test_calls_queued_during_a_429_wait_too() -> None:
    stamps: list[float] = []

    async def handler(request: httpx2.Request) -> httpx2.Response:
        stamps.append(time.monotonic())
        if len(stamps) == 1:
            return httpx2.Response(429, headers={"Retry-After": "3"})
        return httpx2.Response(200)

    t = transport(handler, RateLimits(per_minute=100, concurrent=1), wait_scale=0.1)
    start = time.monotonic()
    await asyncio.gather(
        *(t.send("GET", f"http://p.test/{i}", tenant="a", safe=True) for i in range(3))
    )
    assert len(stamps) == 4
    # Only the first call went out before the 429; everything else waited 0.3 s.
    assert all(s - start >= 0.29 for s in stamps[1:])


class _Slow(ProviderRateLimited):
    pass


async def test_pause_after_holds_the_next_call_and_a_fake_sleep_cannot_spin() -> None:
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)  # time does not pass: the wait loop must still end

    http = httpx2.AsyncClient(transport=httpx2.MockTransport(lambda r: httpx2.Response(200)))
    t = Transport(
        http,
        "test",
        RateLimits(per_minute=None, concurrent=None),
        parse_error,
        RetryPolicy(attempts=2),
        unreachable("test"),
        pause_after=lambda response: 1.5,
        sleep=fake_sleep,
    )
    await t.send("GET", "http://p.test/", tenant="a", safe=True)
    assert slept == []
    await t.send("GET", "http://p.test/", tenant="a", safe=True)
    assert len(slept) == 1 and 1.4 < slept[0] <= 1.5
    await t.send("GET", "http://p.test/", tenant="b", safe=True)
    assert len(slept) == 1  # another key is not held


async def test_refused_key_fails_fast_without_calling() -> None:
    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(1)
        return httpx2.Response(429, headers={"Retry-After": "3600"})

    http = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    shared = Budgets(RateLimits(per_minute=None, concurrent=None))

    def refused(wait: float) -> Exception:
        return _Slow("still refused", provider="test", retry_after=wait, daily=True)

    def make() -> Transport:
        return Transport(
            http,
            "test",
            shared.limits,
            parse_error,
            RetryPolicy(attempts=3),
            unreachable("test"),
            refused=refused,
            budgets=shared,
        )

    with pytest.raises(ProviderRateLimited) as first:
        await make().send("GET", "http://p.test/", tenant="a", safe=True)
    assert not isinstance(first.value, _Slow) and len(calls) == 1
    # A later Transport sharing the budgets refuses at once, for that key only.
    with pytest.raises(_Slow) as again:
        await make().send("GET", "http://p.test/", tenant="a", safe=True)
    assert len(calls) == 1 and again.value.retry_after is not None
    assert again.value.retry_after > 3500
    with pytest.raises(ProviderRateLimited):
        await make().send("GET", "http://p.test/", tenant="b", safe=True)
    assert len(calls) == 2


async def test_a_per_second_budget_lets_exactly_its_calls_through_and_refuses_the_rest() -> None:
    # QuickBooks: 10 requests a second per realm. With an interactive policy (no waiting),
    # 25 calls at once: 10 are sent, 15 refused with Retry-After, none reaches the service.
    sent: list[str] = []

    async def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(request.url.path)
        return httpx2.Response(200)

    http = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    t = Transport(
        http,
        "test",
        RateLimits(per_minute=500, concurrent=None, per_second=10),
        parse_error,
        RetryPolicy(attempts=1, max_retry_after=0.0),
        unreachable("test"),
        over_budget=over_budget("test"),
    )
    outcomes = await asyncio.gather(
        *(t.send("GET", "http://p.test/a", tenant="a", safe=True) for _ in range(25)),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, ProviderRateLimited)]
    assert len(sent) == 10 and len(refused) == 15
    assert all(0 < (r.retry_after or 0) <= 1.1 for r in refused)
    # Another realm has its own second.
    await t.send("GET", "http://p.test/b", tenant="b", safe=True)
    assert sent[-1] == "/b"
