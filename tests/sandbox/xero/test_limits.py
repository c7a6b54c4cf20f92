"""Rate limits per tenant under parallel calls: 60/min, 5 concurrent, 5000/day (xero.md 15).

One test drives the real-port sandbox (the shared `sandbox` fixture) to show the limits hold
across real sockets; the others use the in-process app.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from tests.sandbox.xero.conftest import AU, NZ


async def test_limit_headers_count_down(xero):
    first = await xero.get("/Organisation")
    second = await xero.get("/Organisation")
    assert (
        int(first.headers["x-minlimit-remaining"]) - int(second.headers["x-minlimit-remaining"])
        == 1
    )
    assert int(second.headers["x-daylimit-remaining"]) < 5000
    assert int(second.headers["x-appminlimit-remaining"]) < 10000


async def test_minute_limit_holds_under_parallel_calls_and_resets_with_the_clock(xero):
    # Start at the top of a fresh minute window, so that the real clock cannot roll the
    # window over halfway through the counting below.
    now = datetime.fromisoformat((await xero.http.get("/_sandbox/clock")).json()["now"])
    await xero.advance(60 - (now.second + now.microsecond / 1e6) % 60 + 0.05)
    answers = await asyncio.gather(*(xero.get("/Organisation") for _ in range(90)))
    statuses = Counter(a.status_code for a in answers)
    assert statuses[200] <= 60
    problems = {a.headers["x-rate-limit-problem"] for a in answers if a.status_code == 429}
    assert problems <= {"minute", "concurrent"}
    # Use up whatever is left of the minute one call at a time: exactly 60 get through.
    extra = 0
    while (await xero.get("/Organisation")).status_code == 200:
        extra += 1
    assert statuses[200] + extra == 60
    limited = await xero.get("/Organisation")
    assert limited.status_code == 429
    assert limited.headers["x-rate-limit-problem"] == "minute"
    assert 1 <= int(limited.headers["retry-after"]) <= 61
    # Another tenant has its own window.
    xero.tenant = AU
    assert (await xero.get("/Organisation")).status_code == 200
    xero.tenant = NZ
    await xero.advance(int(limited.headers["retry-after"]))
    assert (await xero.get("/Organisation")).status_code == 200


async def test_concurrent_limit_refuses_the_sixth_call_in_flight(xero, http):
    await http.post("/_sandbox/xero/latency", json={"ms": 200})
    answers = await asyncio.gather(*(xero.get("/Organisation") for _ in range(8)))
    ok = [a for a in answers if a.status_code == 200]
    refused = [a for a in answers if a.status_code == 429]
    assert len(ok) == 5 and len(refused) == 3
    assert {a.headers["x-rate-limit-problem"] for a in refused} == {"concurrent"}
    assert all("retry-after" in a.headers for a in refused)
    assert (await xero.get("/Organisation")).status_code == 200


async def test_day_limit(xero, sandbox_state):
    state = sandbox_state.extras["xero"]
    state.day.limit = 3  # the real 5,000 takes too long to spend; the rule is the same
    for _ in range(3):
        assert (await xero.get("/Organisation")).status_code == 200
    answer = await xero.get("/Organisation")
    assert answer.status_code == 429 and answer.headers["x-rate-limit-problem"] == "day"
    assert int(answer.headers["retry-after"]) > 60


async def test_limits_hold_over_real_sockets(sandbox, settings):
    """The shared real-port sandbox: 100 parallel calls, never more than 60 succeed."""
    http = sandbox.http
    # The real-port sandbox registers the test app's own Xero client (SandboxSettings.from_app).
    redirect_uri = f"{settings.public_url}/connections/xero/callback"
    client_id, secret = settings.xero.client_id, settings.xero.client_secret
    armed = await http.post("/_sandbox/xero/auto-approve", json={"email": "nora@northwind.test"})
    assert armed.status_code == 200
    authorize = await http.get(
        "/xero/login/identity/connect/authorize",
        params={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid offline_access accounting.settings.read",
            "state": "s",
        },
    )
    assert authorize.status_code == 302, authorize.text
    code = parse_qs(urlsplit(authorize.headers["location"]).query)["code"][0]
    tokens = (
        await http.post(
            "/xero/identity/connect/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "client_id": client_id,
                "client_secret": secret,
            },
        )
    ).json()
    headers = {
        "authorization": f"Bearer {tokens['access_token']}",
        "xero-tenant-id": NZ,
        "accept": "application/json",
    }
    # A fresh minute window, so that the burst cannot straddle two.
    now = datetime.fromisoformat((await http.get("/_sandbox/clock")).json()["now"])
    advance = 60 - (now.second + now.microsecond / 1e6) % 60 + 0.05
    assert (await http.post("/_sandbox/clock/advance", json={"seconds": advance})).is_success
    answers = await asyncio.gather(
        *(http.get("/xero/api/api.xro/2.0/Organisation", headers=headers) for _ in range(100))
    )
    statuses = Counter(a.status_code for a in answers)
    assert statuses[200] <= 60 and statuses[200] + statuses[429] == 100
    assert statuses[429] >= 40
    problems = {a.headers["x-rate-limit-problem"] for a in answers if a.status_code == 429}
    assert problems <= {"minute", "concurrent"}
