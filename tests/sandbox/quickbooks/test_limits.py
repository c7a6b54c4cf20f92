"""Per-realm limits: 500 requests a minute, 10 a second and 10 in flight, answered with the
3001 fault."""

from __future__ import annotations

import asyncio

import pytest

from tests.sandbox.quickbooks.conftest import Qbo, fault


@pytest.fixture
def moment(api: Qbo, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The limits' clock standing still at the start of a fresh minute, moved only by the test
    (``moment[0] += seconds``): a window is then whole whatever real time the calls take."""
    start = api.sandbox.clock.timestamp()
    now = [start - start % 60 + 60.01]
    monkeypatch.setattr(api.sandbox.clock, "timestamp", lambda: now[0])
    return now


async def test_500_per_minute_then_throttled_until_the_next_window(
    api: Qbo, moment: list[float]
) -> None:
    # 500 calls at 10 a second need 50 of the clock's seconds.
    statuses = []
    for _ in range(50):  # 10 a second, the most each second allows
        statuses += [(await api.get("/term/1")).status_code for _ in range(10)]
        moment[0] += 1
    assert statuses.count(200) == 500
    throttled = await api.get("/term/1")
    assert throttled.status_code == 429
    assert fault(throttled)["code"] == "3001" and fault(throttled)["type"] == "SERVICE"
    moment[0] += 60
    assert (await api.get("/term/1")).status_code == 200


async def test_parallel_calls_beyond_ten_are_refused(api: Qbo) -> None:
    await api.http.post("/_sandbox/quickbooks/processing-time", json={"seconds": 0.5})
    responses = await asyncio.gather(*(api.get("/term/1") for _ in range(25)))
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 10
    assert statuses.count(429) == 15
    assert all(fault(r)["code"] == "3001" for r in responses if r.status_code == 429)
    limits = (await api.http.get("/_sandbox/quickbooks/limits")).json()
    assert limits["peak_concurrency"] == 10
    # Once the first ten finish, calls go through again (in the next second).
    await api.advance(1)
    assert (await api.get("/term/1")).status_code == 200


async def test_ten_a_second_then_throttled_until_the_next_second(
    api: Qbo, moment: list[float]
) -> None:
    statuses = [(await api.get("/term/1")).status_code for _ in range(10)]
    assert statuses == [200] * 10
    throttled = await api.get("/term/1")
    assert throttled.status_code == 429 and fault(throttled)["code"] == "3001"
    assert throttled.headers["retry-after"] == "1"
    moment[0] += 1
    assert (await api.get("/term/1")).status_code == 200
    limits = (await api.http.get("/_sandbox/quickbooks/limits")).json()
    assert limits["second_remaining"] == 9


async def test_injected_faults_use_the_fault_shape(api: Qbo) -> None:
    await api.http.post(
        "/_sandbox/faults", json={"kind": "rate_limit", "path": "/quickbooks/api", "count": 1}
    )
    throttled = await api.get("/term/1")
    assert throttled.status_code == 429 and fault(throttled)["code"] == "3001"
    await api.http.post(
        "/_sandbox/faults",
        json={"kind": "status", "status": 500, "path": "/quickbooks/api", "count": 1},
    )
    broken = await api.get("/term/1")
    assert broken.status_code == 500 and fault(broken)["type"] == "SystemFault"
    await api.http.post(
        "/_sandbox/faults",
        json={"kind": "status", "status": 503, "path": "/quickbooks/oauth", "count": 1},
    )
    token = await api.http.post("/quickbooks/oauth/oauth2/v1/tokens/bearer")
    assert token.status_code == 503 and token.json()["error"] == "server_error"
